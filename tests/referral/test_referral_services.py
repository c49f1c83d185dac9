"""Referrals end to end through the web app, the event pipeline and the scheduler: codes
for customers and promoters, share links and the cookie, attribution windows and models,
rewards (idempotent, held, approved, voided), and fraud flags."""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import timedelta

import pytest

from journeys.loader import load_file
from journeys.services import publish
from nurture.app.composition import build
from nurture.config import PROJECT_ROOT
from nurture.events.bus import NewEvent
from nurture.events.services import record_many
from nurture.nps.services import NPSConfig, record_answer
from referral import services as referral_services
from referral.rules import MONEY_KINDS
from tests.factories import FRIEND_IP, convert_friend, customer, sign_up, visit
from tests.helpers import (
    TEST_POLL_MS,
    advance_clock,
    clean,
    contact,
    contact_id,
    event,
    events,
    get_contact,
    referrals,
    rewards,
    run_due,
    sends,
    source,
    transitions,
    web_client,
)
from web import create_app


def money_rewards(rt):
    """The rewards paid in money (credits, shares, bonuses); the fulfilled kinds, from the
    same shipped file, are tested in test_reward_kinds.py."""
    return [r for r in rewards(rt) if r.kind in MONEY_KINDS]


def _publish(rt, name: str) -> None:
    loaded = load_file(PROJECT_ROOT / "journeys" / "library" / f"{name}.yaml")
    assert not loaded.violations
    with rt.db.transaction() as session:
        publish(session, loaded)


# ---- codes and share links ----------------------------------------------------------------

def test_every_customer_and_every_promoter_gets_one_unguessable_code(rt):
    code = customer(rt)
    assert len(code) == 12 and code.isalnum() and code.upper() == code
    again = contact_id(rt, "ann@lee-retail.example")
    event(rt, again, "purchase.completed", amount=10)
    assert get_contact(rt, again).attributes["referral"]["code"] == code  # one code, kept
    promoter = contact(rt, "pia@promoter.example", stage="learn")
    record_answer(rt, NPSConfig.from_settings(rt.settings), promoter, "survey-1", 10)
    assert get_contact(rt, promoter).attributes["referral"]["code"] != code
    detractor = contact(rt, "dan@detractor.example", stage="learn")
    record_answer(rt, NPSConfig.from_settings(rt.settings), detractor, "survey-1", 3)
    assert "referral" not in get_contact(rt, detractor).attributes


def test_a_share_link_sets_a_safe_cookie_counts_the_click_and_lands_on_a_local_page(rt):
    code = customer(rt)
    web = web_client(rt)
    hop = web.get(f"/r/{code.lower()}", environ_base=FRIEND_IP)
    assert hop.status_code == 302
    assert hop.headers["Location"] == (f"/l/trial?utm_source=referral&utm_medium=customer&"
                                       f"utm_campaign=customer-referral&ref={code}")
    cookie = hop.headers["Set-Cookie"]
    assert cookie.startswith("nurture_ref=") and "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie and "Max-Age=7776000" in cookie  # 90 days
    assert "Secure" not in cookie  # http here; https below
    assert "ann" not in cookie.lower() and "@" not in cookie  # no personal data
    web.get(hop.headers["Location"], environ_base=FRIEND_IP)  # the same visit: one click
    [clicked] = events(rt, "referral.clicked")
    assert clicked.contact_id == contact_id(rt, "ann@lee-retail.example")
    assert clicked.properties == {"code": code, "via": "link"}


def test_the_cookie_is_secure_when_the_site_is_served_over_https(settings, clock):
    rt = build(settings.with_(base_url="https://nurture.example"), clock=clock)
    try:
        response = create_app(rt).test_client().get("/l/trial")
        assert "Secure" in response.headers["Set-Cookie"]
    finally:
        rt.close()


@pytest.mark.parametrize("code", ["NOSUCHCODE42", "bad code!", "x" * 90, "%3Cscript%3E"])
def test_unknown_or_malformed_codes_never_break_the_pages_and_the_reason_is_logged(
        rt, code, caplog):
    web = web_client(rt)
    with caplog.at_level(logging.INFO):
        hop = web.get(f"/r/{code}")
        assert hop.status_code in (302, 404)
        if hop.status_code == 302:
            assert hop.headers["Location"] == "/l/trial"
        page = web.get(f"/l/trial?ref={code}")
    assert page.status_code == 200
    assert "carries no attribution" in caplog.text
    sign_up(web)
    assert referrals(rt) == []


def test_a_paused_or_expired_source_gives_no_attribution(rt, caplog):
    _, code = referral_services.create_source(rt, "partner", "Pat Partner",
                                expires_at=rt.clock.now() + timedelta(days=10))
    rt.clock.advance(timedelta(days=11))
    web = web_client(rt)
    with caplog.at_level(logging.INFO):
        visit(web, code)
    assert "expired code" in caplog.text
    sign_up(web)
    assert referrals(rt) == []
    _, paused = referral_services.create_source(rt, "influencer", "Ivy Influencer")
    referral_services.set_source_status(rt, source(rt, paused).id, "paused")
    assert web_client(rt).get(f"/r/{paused}").headers["Location"] == "/l/trial"


# ---- attribution ------------------------------------------------------------------------

def test_a_sign_up_through_a_share_link_is_tied_to_the_referrer(rt):
    code = customer(rt)
    web = web_client(rt)
    sign_up(web, visit(web, code))
    [referral] = referrals(rt)
    assert referral.source_id == source(rt, code).id
    assert referral.friend_id == contact_id(rt, "bob@bob-bikes.example")
    assert (referral.status, referral.review, referral.reasons) == ("signed_up", "", [])
    [signed] = events(rt, "referral.signed_up")
    assert signed.properties["code"] == code


def test_the_cookie_remembers_the_code_for_the_window_without_the_query(rt):
    code = customer(rt)
    web = web_client(rt)
    visit(web, code)
    rt.clock.advance(timedelta(days=89))
    with web.session_transaction() as flask_session:
        flask_session.clear()  # a new browser session: only the cookie remembers
    sign_up(web)
    assert [r.source_id for r in referrals(rt)] == [source(rt, code).id]


def test_after_the_window_the_visit_no_longer_attributes(rt, caplog):
    code = customer(rt)
    web = web_client(rt)
    sign_up_page = visit(web, code)
    rt.clock.advance(timedelta(days=91))
    with caplog.at_level(logging.INFO):
        sign_up(web, sign_up_page)  # even with the code still in the page's form
    assert referrals(rt) == []
    assert "older than 90 days" in caplog.text


@pytest.mark.parametrize(("model", "credited"), [("first", 0), ("last", 1)])
def test_the_attribution_model_picks_the_first_or_the_last_referrer(settings, clock, model,
                                                                    credited):
    rt = build(settings.with_(referral=replace(settings.referral, attribution=model,
                                               window=timedelta(days=30))), clock=clock)
    clean(rt.db)
    rt.transport.start_worker(2, poll_ms=TEST_POLL_MS)
    try:
        codes = [customer(rt, "ann@lee-retail.example"), customer(rt, "cy@cy-cafe.example")]
        web = create_app(rt).test_client()
        visit(web, codes[0])
        rt.clock.advance(timedelta(days=3))
        page = visit(web, codes[1])
        sign_up(web, page)
        assert [r.source_id for r in referrals(rt)] == [source(rt, codes[credited]).id]
    finally:
        rt.close()


# ---- conversion and rewards -----------------------------------------------------------------

def test_conversion_grants_double_sided_rewards_once_whatever_is_retried(rt):
    _publish(rt, "referral-thanks")
    code = customer(rt)
    web = web_client(rt)
    sign_up(web, visit(web, code))
    convert_friend(rt)
    friend = contact_id(rt, "bob@bob-bikes.example")
    # Retries and duplicates: the same conversion again, and a racing purchase event.
    record_many(rt, [NewEvent(friend, "trial.converted", {"trial_id": 1}),
                     NewEvent(friend, "trial.converted", {"trial_id": 1})])
    run_due(rt)
    [referral] = referrals(rt)
    assert referral.status == "converted" and referral.converted_by == "trial.converted"
    granted = [(r.beneficiary, r.rule, r.amount_cents, r.status) for r in money_rewards(rt)]
    assert granted == [("referrer", "referrer-credit", 5000, "pending"),
                       ("friend", "friend-credit", 2500, "pending")]
    assert [r.eligible_at for r in money_rewards(rt)] == [rt.clock.now() + timedelta(days=30)] * 2
    assert transitions(rt, money_rewards(rt)[0].id) == [("", "pending", "system")]
    [converted] = events(rt, "referral.converted")
    assert converted.contact_id == source(rt, code).contact_id
    # The referrer is thanked, with a link to their own one-sheet.
    [thanks] = [s for s in sends(rt, source(rt, code).contact_id)
                if s.template == "referral-thanks"]
    assert thanks.status == "sent"


def test_first_year_purchases_earn_the_share_once_per_purchase(rt):
    _, code = referral_services.create_source(rt, "partner", "Pat Partner",
                                              campaign="spring-partners")
    web = web_client(rt)
    sign_up(web, visit(web, code))
    friend = contact_id(rt, "bob@bob-bikes.example")
    purchase = NewEvent(friend, "purchase.completed", {"amount": 2400, "currency": "EUR"},
                        dedupe_key="order-1")
    record_many(rt, [purchase])
    record_many(rt, [purchase])  # a webhook retried: deduplicated
    run_due(rt)
    shares = [r for r in money_rewards(rt) if r.kind == "share"]
    assert [(r.amount_cents, r.beneficiary) for r in shares] == [(24000, "referrer")]
    assert referrals(rt)[0].revenue_cents == 240000
    rt.clock.advance(timedelta(days=366))
    event(rt, friend, "purchase.completed", amount=2400)
    assert len([r for r in money_rewards(rt) if r.kind == "share"]) == 1  # after the first year


def test_rewards_are_approved_after_the_hold_period_and_the_friend_is_told(rt):
    _publish(rt, "referral-reward")
    code = customer(rt)
    web = web_client(rt)
    sign_up(web, visit(web, code))
    convert_friend(rt)
    advance_clock(rt, timedelta(days=29), step=timedelta(days=1))
    assert referral_services.approve_due(rt) == 0
    advance_clock(rt, timedelta(days=1, minutes=1), step=timedelta(hours=12))
    assert referral_services.approve_due(rt) == 2
    assert {r.status for r in money_rewards(rt)} == {"approved"}
    assert transitions(rt, money_rewards(rt)[0].id)[-1] == ("pending", "approved", "system")
    assert len(events(rt, "reward.approved")) == 2
    run_due(rt)
    told = [s for s in sends(rt) if s.template == "referral-reward"]
    assert {s.to_email for s in told} == {"ann@lee-retail.example", "bob@bob-bikes.example"}
    assert referral_services.approve_due(rt) == 0  # nothing approved twice


def test_churn_inside_the_hold_period_voids_the_pending_rewards(rt):
    code = customer(rt)
    web = web_client(rt)
    sign_up(web, visit(web, code))
    convert_friend(rt)
    event(rt, contact_id(rt, "bob@bob-bikes.example"), "subscription.cancelled")
    assert {(r.status, r.reason) for r in money_rewards(rt)} == {
        ("voided", "The referred customer cancelled within the hold period.")}
    assert referral_services.approve_due(rt) == 0


def test_a_refund_voids_pending_rewards(rt):
    code = customer(rt)
    web = web_client(rt)
    sign_up(web, visit(web, code))
    convert_friend(rt)
    event(rt, contact_id(rt, "bob@bob-bikes.example"), "custom.purchase.refunded")
    assert {r.status for r in money_rewards(rt)} == {"voided"}


def test_milestone_bonuses_come_once_at_three_conversions(rt):
    code = customer(rt)
    for n in range(4):
        web = web_client(rt)
        ip = {"REMOTE_ADDR": f"203.0.113.{60 + n}"}
        sign_up(web, visit(web, code, **ip), environ=ip, email=f"friend{n}@shop{n}.example",
                agent=f"Browser/{n}")
        convert_friend(rt)
    milestones = [r for r in money_rewards(rt) if r.kind == "milestone"]
    assert [(m.rule, m.amount_cents) for m in milestones] == [("third-referral", 10000)]


# ---- fraud ------------------------------------------------------------------------------

def test_self_referral_from_the_referrers_own_browser_is_flagged_not_dropped(rt):
    web = web_client(rt)
    sign_up(web, email="ann@lee-retail.example", agent="Ann-Browser/1")  # Ann's own trial
    ann = contact_id(rt, "ann@lee-retail.example")
    event(rt, ann, "purchase.completed", amount=100)
    code = get_contact(rt, ann).attributes["referral"]["code"]
    sign_up(web, visit(web, code), email="ann.other@elsewhere.example", agent="Ann-Browser/1")
    [referral] = referrals(rt)
    assert referral.review == "flagged"
    assert referral.reasons == ["same-cookie", "same-device"]


def test_flagged_rewards_wait_for_review_and_rejection_voids_them(rt):
    code = customer(rt, "ann.lee@gmail.com")
    web = web_client(rt)
    sign_up(web, visit(web, code), email="annlee+deal@gmail.com")
    [referral] = referrals(rt)
    assert (referral.review, referral.reasons) == ("flagged", ["same-person"])
    convert_friend(rt)
    assert {r.status for r in money_rewards(rt)} == {"pending"}
    rt.clock.advance(timedelta(days=31))
    assert referral_services.approve_due(rt) == 0  # waits for the review
    assert referral_services.review(rt, referral.id, "reject", "mia@nurture.example",
                      "Same person, two addresses.") == "rejected"
    assert {(r.status, r.reason) for r in money_rewards(rt)} == {
        ("voided", "Fraud review: Same person, two addresses.")}
    assert transitions(rt, money_rewards(rt)[0].id)[-1] == ("pending", "voided",
                                                      "mia@nurture.example")


def test_an_approved_review_lets_the_rewards_follow_the_hold(rt):
    web = web_client(rt)
    code = customer(rt)
    sign_up(web, visit(web, code), email="bob@mailinator.com")
    [referral] = referrals(rt)
    assert referral.reasons == ["disposable-email"]
    convert_friend(rt)
    referral_services.review(rt, referral.id, "approve", "mia@nurture.example")
    rt.clock.advance(timedelta(days=31))
    assert referral_services.approve_due(rt) == 2


def test_velocity_per_ip_flags_the_fourth_referred_sign_up_in_a_day(rt):
    code = customer(rt)
    for n in range(4):
        web = web_client(rt)
        sign_up(web, visit(web, code), email=f"f{n}@shop{n}.example", agent=f"B/{n}")
    assert [r.reasons for r in referrals(rt)] == [[], [], [], ["velocity-ip"]]


def test_a_friend_is_referred_once_the_first_referral_stands(rt):
    first, second = customer(rt), customer(rt, "cy@cy-cafe.example")
    web = web_client(rt)
    sign_up(web, visit(web, first))
    convert_friend(rt)
    rt.clock.advance(timedelta(days=400))
    web = web_client(rt)
    sign_up(web, visit(web, second))
    assert [r.source_id for r in referrals(rt)] == [source(rt, first).id]


def test_a_promoter_is_asked_to_refer_with_a_link_to_their_own_one_sheet(rt):
    import email
    import email.policy
    from pathlib import Path

    _publish(rt, "nps-survey")
    carol = contact(rt, "carol@example.com", first_name="Carol", stage="adopt",
                    consent_marketing=True)
    event(rt, carol, "custom.tick")  # enters the survey journey (stage condition)
    [survey] = [s for s in sends(rt, carol) if s.template == "nps-survey"]
    rt.clock.advance(timedelta(minutes=5))
    record_answer(rt, NPSConfig.from_settings(rt.settings), carol, str(survey.id), 10)
    run_due(rt)
    code = get_contact(rt, carol).attributes["referral"]["code"]
    [ask] = [s for s in sends(rt, carol) if s.template == "referral-ask"]
    assert ask.status == "sent"
    [message] = [email.message_from_bytes(p.read_bytes(), policy=email.policy.default)
                 for p in Path(rt.settings.outbox_dir).glob("*.eml")
                 if "great score" in p.read_text(errors="ignore")]
    text = message.get_body(("plain",)).get_content()
    assert f"/r/{code}/one-sheet" in text
