"""Every 404, 403 and 405 outside /api/ is the styled page with a sentence and a way back,
whichever part of the app refused: the router (an address no route matches, like
`/nowhere` or `/l/..%2f..`), a view, or a role check. Under /api/ the same errors are
RFC 9457 problem documents."""

from __future__ import annotations

import re

import pytest

from tests.helpers import signed_in, web_client

AUTH = {"Authorization": "Bearer test-api-key"}


def _styled(response, status: int) -> tuple[str, str, str]:
    """The heading, the sentence and the way back of a styled error page."""
    assert response.status_code == status, response.text[:300]
    assert response.mimetype == "text/html"
    page = response.text
    assert "<!doctype html>" in page and "Not Found</h1>" not in page  # not Flask's bare page
    heading = re.search(r'<h1 id="card-title">([^<]+)</h1>', page).group(1)
    sentence = re.search(r'<p role="alert">([^<]+)</p>', page).group(1)
    back = re.search(r'<p><a href="([^"]+)">([^<]+)</a></p>', page)
    assert back, "the page offers no way back"
    assert sentence.endswith(".") and sentence[0].isupper(), sentence
    return heading, sentence, back.group(1)


@pytest.mark.parametrize("path", ["/campaigns", "/l/..%2f..", "/l/..%2F..%2Fetc",
                                  "/nowhere/at/all", "/inbound/999999999",
                                  "/sales/handoffs/999999999"])
def test_an_address_with_nothing_is_the_styled_404_with_a_way_to_the_start_page(rt, path):
    heading, sentence, back = _styled(signed_in(rt, "marketer").get(path), 404)
    assert heading == "Page not found" and "no page at this address" in sentence
    assert back == "/"


def test_a_sales_rep_is_led_back_to_their_own_start_page(rt):
    _, _, back = _styled(signed_in(rt, "sales").get("/nowhere/at/all"), 404)
    assert back == "/sales"


def test_a_visitor_who_is_not_signed_in_is_offered_the_sign_in_page(rt):
    _, _, back = _styled(web_client(rt).get("/l/..%2f.."), 404)
    assert back == "/login"


def test_a_page_the_role_may_not_open_is_a_styled_403_naming_who_may(rt):
    response = signed_in(rt, "sales").get("/referrals")
    assert response.status_code == 403
    assert "This page is for marketers and admins" in response.text
    assert '<a href="/sales">Go to your start page</a>' in response.text


def test_a_method_the_address_does_not_take_is_a_styled_405_that_keeps_allow(rt):
    response = signed_in(rt, "marketer").delete("/contacts")
    heading, sentence, _ = _styled(response, 405)
    assert heading == "This page cannot do that"
    assert "does not accept this kind of request" in sentence
    assert "GET" in response.headers["Allow"]


def test_an_expired_form_is_a_styled_page_that_says_nothing_was_saved(rt):
    heading, sentence, _ = _styled(signed_in(rt, "marketer").post(
        "/contacts/deprovision", data={"email": "ann@example.com"}), 400)
    assert heading == "Please try again" and "nothing was saved" in sentence


def test_under_api_the_same_errors_are_problem_documents(rt):
    web = web_client(rt)
    missing = web.get("/api/journeys", headers=AUTH)
    assert missing.status_code == 404 and missing.mimetype == "application/problem+json"
    assert missing.json["detail"] == "There is nothing at this address."
    wrong = web.delete("/api/events", headers=AUTH)
    assert wrong.status_code == 405 and wrong.mimetype == "application/problem+json"
    assert "POST" in wrong.headers["Allow"]


def test_every_page_links_the_favicon_and_it_is_served(rt):
    web = signed_in(rt, "marketer")
    for page in (web.get("/"), web.get("/journeys"), web_client(rt).get("/login")):
        assert '<link rel="icon" href="/static/favicon.svg"' in page.text
    icon = web.get("/static/favicon.svg")
    assert icon.status_code == 200 and icon.mimetype == "image/svg+xml"
    assert icon.data.startswith(b"<svg")
