"""The marketer's referral pages and the public one-sheet: sign-in, sources, the review
queue, the rewards ledger with its audit trail, analytics, the leaderboard and CSV."""

from __future__ import annotations

import csv
import io
import re

from nurture.trials import lifecycle
from nurture.users import services
from referral import services as referral_services
from tests.factories import customer, sign_up, visit
from tests.helpers import csrf, referrals, rewards, run_due, transitions, web_client
from web import create_app

PASSWORD = "correct horse battery"


def _marketer(rt, email="mia@nurture.example", role="marketer"):
    with rt.db.transaction() as session:
        services.create_user(session, email, "Mia", role, PASSWORD, now=rt.clock.now())
    web = create_app(rt).test_client()
    page = web.get("/login").text
    assert web.post("/login", data={"csrf_token": csrf(page), "email": email,
                                    "password": PASSWORD}).status_code == 303
    return web


def _post(web, path: str, page: str, **data):
    return web.post(path, data={"csrf_token": csrf(web.get(page).text), **data})


def _converted_referral(rt, email="bob@bob-bikes.example") -> None:
    code = customer(rt)
    friend = web_client(rt)
    sign_up(friend, visit(friend, code), email=email)
    lifecycle.convert(rt, rt.settings, referrals(rt)[-1].trial_id, "keep_data")
    run_due(rt)


def test_the_pages_need_a_marketer(rt):
    anonymous = create_app(rt).test_client()
    assert anonymous.get("/referrals").status_code == 302
    sales = _marketer(rt, "sam@nurture.example", role="sales")
    assert sales.get("/referrals/rewards").status_code == 403


def test_a_marketer_creates_a_partner_source_with_share_links(rt):
    web = _marketer(rt)
    response = _post(web, "/referrals/sources", "/referrals/sources", type="partner",
                     name="Pat Partner", email="pat@partner.example",
                     campaign="spring-partners", landing="trial")
    assert response.status_code == 303
    page = web.get("/referrals/sources").text
    code = re.search(r"created with the code ([A-Z0-9]+)", page).group(1)
    assert f"http://localhost:5000/r/{code}" in page
    assert "https://www.linkedin.com/sharing/share-offsite/?url=http" in page
    assert "https://x.com/intent/post?" in page and "mailto:?subject=" in page
    hop = create_app(rt).test_client().get(f"/r/{code}")
    assert "utm_medium=partner&amp;utm_campaign=spring-partners" in hop.text or \
        "utm_medium=partner&utm_campaign=spring-partners" in hop.headers["Location"]


def test_bad_source_input_is_a_sentence_and_a_422(rt):
    web = _marketer(rt)
    for data, message in [
            ({"type": "partner", "name": ""}, "Enter the partner&#39;s or influencer&#39;s name."),
            ({"type": "customer", "name": "X"}, "Choose partner or influencer"),
            ({"type": "partner", "name": "X", "email": "nope"}, "in the correct format"),
            ({"type": "partner", "name": "X", "landing": "https://evil.example"},
             "The landing page is the slug of a landing page"),
            ({"type": "partner", "name": "X", "expires_on": "tomorrow"},
             "Enter the expiry date as YYYY-MM-DD")]:
        response = _post(web, "/referrals/sources", "/referrals/sources", **data)
        assert response.status_code == 422, data
        assert message in response.text


def test_the_review_queue_approves_or_rejects_with_a_reason(rt):
    code = customer(rt)
    friend = web_client(rt)
    sign_up(friend, visit(friend, code), email="bob@mailinator.com")
    web = _marketer(rt)
    page = web.get("/referrals/review").text
    assert "The friend used a disposable email address." in page
    referral_id = referrals(rt)[0].id
    missing = _post(web, f"/referrals/{referral_id}/review", "/referrals/review",
                    decision="reject", note="")
    assert missing.status_code == 422
    assert "Give a reason for rejecting the referral." in missing.text
    done = _post(web, f"/referrals/{referral_id}/review", "/referrals/review",
                 decision="reject", note="Throwaway address")
    assert done.status_code == 303
    again = _post(web, f"/referrals/{referral_id}/review", "/referrals/review",
                  decision="approve")
    assert again.status_code == 409 and "not waiting for review" in again.text
    assert _post(web, "/referrals/999/review", "/referrals/review",
                 decision="approve").status_code == 404
    assert referrals(rt)[0].reviewed_by == "mia@nurture.example"


def test_the_ledger_moves_rewards_and_keeps_who_and_why(rt):
    _converted_referral(rt)
    web = _marketer(rt)
    first, second = [r for r in rewards(rt) if r.kind == "credit"]
    assert "Approve #" in web.get("/referrals/rewards?status=pending").text
    paid_too_early = _post(web, f"/referrals/rewards/{first.id}", "/referrals/rewards",
                           to="paid")
    assert paid_too_early.status_code == 409
    assert "A pending reward cannot be marked paid." in paid_too_early.text
    assert _post(web, f"/referrals/rewards/{first.id}", "/referrals/rewards",
                 to="approved", reason="Loyal customer").status_code == 303
    assert _post(web, f"/referrals/rewards/{first.id}", "/referrals/rewards",
                 to="paid", reason="Credit note 2026-17").status_code == 303
    no_reason = _post(web, f"/referrals/rewards/{second.id}", "/referrals/rewards",
                      to="voided")
    assert no_reason.status_code == 422 and "Give a reason for voiding" in no_reason.text
    assert _post(web, f"/referrals/rewards/{second.id}", "/referrals/rewards",
                 to="voided", reason="refund").status_code == 303
    assert transitions(rt, first.id) == [("", "pending", "system"),
                                         ("pending", "approved", "mia@nurture.example"),
                                         ("approved", "paid", "mia@nurture.example")]
    page = web.get("/referrals/rewards").text
    assert "Credit note 2026-17" in page and "approved → paid by mia@nurture.example" in page
    assert referral_services.move_reward  # the same service the CLI and scheduler use


def test_analytics_per_source_and_type_with_leaderboard_and_csv(rt):
    _converted_referral(rt)
    web = _marketer(rt)
    page = web.get("/referrals").text
    assert "Leaderboard" in page and "1 customer," in page
    assert "By source type" in page and "Customer" in page
    export = web.get("/referrals/report.csv")
    assert export.status_code == 200 and export.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(export.text)))
    assert len(rows) == 2  # the converted friend is a customer now, with a code of their own
    row = rows[0]  # most conversions first
    assert (row["type"], row["clicks"], row["signups"], row["conversions"]) == (
        "customer", "1", "1", "1")
    # What the source costs: the referrer's credit and the friend's welcome credit.
    assert row["rewards_cents"] == "7500" == str(sum(r.amount_cents for r in rewards(rt)))


def test_the_one_sheet_shows_what_we_do_and_who_we_help_with_share_links(rt):
    code = customer(rt)
    page = create_app(rt).test_client().get(f"/r/{code}/one-sheet")
    assert page.status_code == 200
    assert "What we do" in page.text and "Who we help best" in page.text
    assert f'value="http://localhost:5000/r/{code}"' in page.text
    assert "Share on LinkedIn" in page.text and "Share on X" in page.text
    missing = create_app(rt).test_client().get("/r/NOSUCHCODE99/one-sheet")
    assert missing.status_code == 404 and "could not find" in missing.text
