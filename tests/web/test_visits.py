"""Page visits on the customer's site: the visitor id an email click carries there, and the
visits its script reports to `POST /api/v1/visits` (CORS, consent, Do Not Track, scoring)."""

from __future__ import annotations

import re
import time
from dataclasses import replace
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest

from nurture.consent.models import Suppression
from nurture.env import ConfigError, origins
from nurture.visits.pages import with_visitor, without_visitor
from tests.factories import VALID, post_sign_up, publish_trial_journey
from tests.helpers import (
    contact,
    contact_id,
    event,
    events,
    get_contact,
    html_of,
    outbox,
    publish_text,
    run_due,
    sends,
    tampered,
    web_client,
)

SITE = "https://www.example.com"
EVIL = "https://evil.example"
COLLECT = "/api/v1/visits"
MARKETING = """
    id: news
    name: News
    entry: {event: custom.joined}
    steps:
      - {id: tips, send: prospect-case-study}
"""


@pytest.fixture
def settings(settings):
    # The trial link of the email leads to Nurture's own landing page (localhost:5000).
    return settings.with_(web=replace(settings.web,
                                      visit_origins=(SITE, "http://localhost:5000")))


def _visitor(rt, cid: int) -> str:
    return rt.tokens.sign("visitor", cid)


def _post(client, body, origin=SITE, **headers):
    return client.post(COLLECT, json=body, headers={"Origin": origin, **headers})


def _page(token: str, url: str = f"{SITE}/pricing?plan=team", **more) -> dict:
    return {"visitor": token, "url": url, "title": "Pricing",
            "referrer": "https://mail.example/", **more}


def test_an_email_click_carries_a_signed_visitor_id_to_the_listed_site(rt):
    publish_text(rt, MARKETING)
    cid = contact(rt, "ann@example.com", consent_marketing=True)
    event(rt, cid, "custom.joined")
    html = html_of(outbox(rt)[0])
    [send] = sends(rt, cid)
    index = next(i for i, link in enumerate(send.links) if "/l/trial" in link)
    token = re.search(r'href="http://localhost:5000(/t/[^/"]+)/', html).group(1)
    client = web_client(rt)
    rt.clock.advance(timedelta(minutes=5))
    hit = client.get(f"{token}/{index}", headers={"User-Agent": "Firefox"})
    assert hit.status_code == 302
    query = parse_qs(urlsplit(hit.headers["Location"]).query)
    assert query["utm_medium"] == ["email"]
    assert rt.tokens.load("visitor", query["nv"][0]) == cid
    # The unsubscribe and preference links lead to Nurture's own email pages, not tracked
    # clicks; a link to a site that is not listed never learns the id.
    assert with_visitor("https://other.example/a?b=1", "T", (SITE,)) == \
        "https://other.example/a?b=1"
    assert with_visitor(f"{SITE}/a?b=1&nv=old#top", "T", (SITE,)) == f"{SITE}/a?b=1&nv=T#top"
    assert without_visitor(f"{SITE}/a?nv=T&b=1") == f"{SITE}/a?b=1"


def test_a_reported_visit_is_recorded_and_moves_the_score(rt):
    cid = contact(rt, "ann@example.com", consent_marketing=True)
    before = get_contact(rt, cid).score
    client = web_client(rt)
    answer = _post(client, _page(_visitor(rt, cid), f"{SITE}/pricing?plan=team&nv=x"))
    assert answer.status_code == 204, answer.text
    assert answer.headers["Access-Control-Allow-Origin"] == SITE
    run_due(rt)
    [visit] = events(rt, "page.visited")
    assert visit.contact_id == cid and visit.source == "website"
    assert visit.properties == {"url": f"{SITE}/pricing?plan=team", "path": "/pricing",
                                "title": "Pricing", "referrer": "https://mail.example/"}
    # Visited the website (2) and looked at pricing (8), as scoring/rules.yaml says.
    assert get_contact(rt, cid).score == before + 10


def test_only_listed_origins_get_cors_and_the_preflight_is_answered(rt):
    cid = contact(rt, "ann@example.com", consent_marketing=True)
    client = web_client(rt)
    ok = client.options(COLLECT, headers={"Origin": SITE,
                                          "Access-Control-Request-Method": "POST",
                                          "Access-Control-Request-Headers": "content-type"})
    assert ok.status_code == 204
    assert ok.headers["Access-Control-Allow-Origin"] == SITE
    assert "POST" in ok.headers["Access-Control-Allow-Methods"]
    assert "Content-Type" in ok.headers["Access-Control-Allow-Headers"]
    refused = client.options(COLLECT, headers={"Origin": EVIL,
                                               "Access-Control-Request-Method": "POST"})
    assert refused.status_code == 403 and "Access-Control-Allow-Origin" not in refused.headers
    forbidden = _post(client, _page(_visitor(rt, cid), f"{EVIL}/"), origin=EVIL)
    assert forbidden.status_code == 403
    assert forbidden.mimetype == "application/problem+json"
    assert "NURTURE_VISIT_ORIGINS" in forbidden.get_json()["detail"]
    assert "Access-Control-Allow-Origin" not in forbidden.headers
    no_origin = client.post(COLLECT, json=_page(_visitor(rt, cid)))
    assert no_origin.status_code == 403
    # A listed site reports its own pages only.
    foreign = _post(client, _page(_visitor(rt, cid), f"{EVIL}/pricing"))
    assert foreign.status_code == 422
    assert events(rt, "page.visited") == []


@pytest.mark.parametrize("header", [{"DNT": "1"}, {"Sec-GPC": "1"}])
def test_do_not_track_and_global_privacy_control_are_respected(rt, header):
    cid = contact(rt, "ann@example.com", consent_marketing=True)
    client = web_client(rt)
    assert _post(client, _page(_visitor(rt, cid)), **header).status_code == 204
    assert events(rt, "page.visited") == []
    assert client.application.extensions["visit_outcomes"]["do-not-track"] == 1


def test_bad_forged_and_expired_visitor_ids_are_refused(rt, monkeypatch):
    cid = contact(rt, "ann@example.com", consent_marketing=True)
    client = web_client(rt)
    token = _visitor(rt, cid)
    forged = _post(client, _page(tampered(token)))
    assert forged.status_code == 400
    assert forged.get_json()["detail"] == "The visitor id is not valid."
    other_purpose = _post(client, _page(rt.tokens.sign("track", cid)))
    assert other_purpose.status_code == 400
    with monkeypatch.context() as m:  # signed 401 days ago: past the cookie's year too
        m.setattr(rt.tokens._signers["visitor"], "get_timestamp",
                  lambda: int(time.time()) - 401 * 86400)
        old = _visitor(rt, cid)
    expired = _post(client, _page(old))
    assert expired.status_code == 400, expired.text
    assert expired.get_json()["detail"] == "The visitor id has expired."
    missing = _post(client, {"url": f"{SITE}/"})
    assert missing.status_code == 422 and missing.mimetype == "application/problem+json"
    not_a_page = _post(client, _page(_visitor(rt, cid), "javascript:alert(1)"))
    assert not_a_page.status_code == 422
    not_json = client.post(COLLECT, data="visitor=x", headers={"Origin": SITE})
    assert not_json.status_code == 400
    broken = client.post(COLLECT, data="{", headers={"Origin": SITE},
                         content_type="application/json")
    assert broken.status_code == 400
    assert events(rt, "page.visited") == []


def test_visits_without_consent_or_of_suppressed_contacts_are_dropped_and_counted(rt):
    no_consent = contact(rt, "bob@example.com")
    suppressed = contact(rt, "cat@example.com", consent_marketing=True)
    with rt.db.transaction() as session:
        session.add(Suppression(email_key="cat@example.com", reason="unsubscribe"))
    client = web_client(rt)
    for cid in (no_consent, suppressed):
        assert _post(client, _page(_visitor(rt, cid))).status_code == 204
    assert _post(client, _page(_visitor(rt, 987654))).status_code == 204  # erased since
    assert events(rt, "page.visited") == []
    counted = client.application.extensions["visit_outcomes"]
    assert (counted["no-consent"], counted["suppressed"], counted["unknown"]) == (1, 1, 1)


def test_visits_are_rate_limited_per_visitor(rt):
    cid = contact(rt, "ann@example.com", consent_marketing=True)
    client = web_client(rt)
    client.application.config["VISIT_RATE_LIMIT"] = "2 per minute"
    token = _visitor(rt, cid)
    answers = [_post(client, _page(token)).status_code for _ in range(3)]
    assert answers == [204, 204, 429]
    other = _post(client, _page(_visitor(rt, contact(rt, "dan@example.com"))))
    assert other.status_code == 204  # another visitor counts on their own


def test_the_origins_setting_is_checked():
    name = "NURTURE_VISIT_ORIGINS"
    assert origins({name: "https://WWW.Example.com/, http://a.test:8080"}, name) == (
        "https://www.example.com", "http://a.test:8080")
    with pytest.raises(ConfigError, match="NURTURE_VISIT_ORIGINS"):
        origins({name: "https://www.example.com/shop"}, name)
    with pytest.raises(ConfigError, match="NURTURE_VISIT_ORIGINS"):
        origins({name: "www.example.com"}, name)


def test_the_script_is_served(rt):
    script = web_client(rt).get("/t.js")
    assert script.status_code == 200 and script.mimetype == "text/javascript"
    assert b"/api/v1/visits" in script.data and b"SameSite=Lax" in script.data


def test_a_landing_form_tells_the_script_who_signed_up_but_not_for_a_known_address(rt):
    publish_trial_journey(rt)
    client = web_client(rt)
    assert post_sign_up(client).status_code == 303
    thanks = client.get("/l/trial/thanks").text
    token = re.search(r'data-nurture-visitor="([^"]+)"', thanks).group(1)
    assert rt.tokens.load("visitor", token) == contact_id(rt, VALID["email"])
    assert 'src="/t.js"' in thanks
    again = web_client(rt)  # someone else typing the same address learns nothing
    assert post_sign_up(again).status_code == 303
    assert "data-nurture-visitor" not in again.get("/l/trial/thanks").text
