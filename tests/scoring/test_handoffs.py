"""Hand-off to sales at the right time: threshold plus velocity or a hand-raiser, one open
hand-off per lead and a cool-down, round-robin routing, the rep's email, the signed CRM
webhook, the SLA escalation, and what sales does with the lead."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import select

from nurture.events.models import Event
from nurture.webhooks.models import WebhookDelivery
from scoring import services as scoring_services
from scoring.errors import HandoffError, HandoffNotFound
from scoring.models import HandoffNote
from tests.factories import rep
from tests.helpers import (
    advance_clock,
    contact,
    enrollments,
    handoffs,
    mail_to,
    publish_text,
    record,
    run_due,
    running,
    sends,
)

LEAD = dict(industry="retail", company_size=120, role="Head of IT", country="FR",
            first_name="Ann", last_name="Lee", company="Lee Retail")  # fit 45, grade A


def engaged(rt, cid):
    """Three engagements in a few days: a click, a webinar, a pricing page."""
    record(rt, cid, "email.clicked")
    record(rt, cid, "webinar.attended")


def test_a_lead_over_the_threshold_with_recent_engagement_goes_to_sales(rt):
    anna = rep(rt, "anna@sales.example", verticals=["retail"])
    cid = contact(rt, "ann@lee-retail.example", **LEAD)
    record(rt, cid, "contact.created")
    assert handoffs(rt) == [], "fit alone (45) is below the threshold"
    record(rt, cid, "email.clicked")  # 48: over no threshold yet
    assert handoffs(rt) == []
    engaged(rt, cid)  # 45 + 3 + 3 + 10 = 61, three engagements in 14 days
    [handoff] = handoffs(rt, cid)
    assert (handoff.trigger, handoff.status, handoff.grade) == ("score", "open", "A")
    assert handoff.assigned_to == anna and handoff.score == 61
    assert "61" in handoff.reason and "3 engagements" in handoff.reason
    assert handoff.explanation[0]["rule"] == "target-vertical"
    assert {item["type"] for item in handoff.timeline} >= {"email.clicked", "webinar.attended"}
    [notice] = mail_to(rt, "anna@sales.example")
    assert notice["Subject"] == "New lead for you: Ann Lee at Lee Retail (score 61, grade A)"
    body = notice.get_body(("plain",)).get_content()
    assert f"/sales/handoffs/{handoff.id}" in body and "Industry is one of our verticals" in body
    with rt.db.sessions() as session:
        types = session.scalars(select(Event.type).where(Event.contact_id == cid)).all()
    assert types.count("sales.handoff") == 1


def test_a_high_score_without_recent_engagement_is_not_handed_off(rt):
    rep(rt, "anna@sales.example")
    cid = contact(rt, "bo@example.com", **LEAD)
    record(rt, cid, "webinar.attended")  # 55, but one engagement
    assert handoffs(rt) == []


def test_a_hand_raiser_goes_to_sales_at_once_whatever_the_score(rt):
    rep(rt, "anna@sales.example")
    cid = contact(rt, "cy@gmail.com")
    record(rt, cid, "demo.requested")
    [handoff] = handoffs(rt, cid)
    assert handoff.trigger == "hand_raiser" and handoff.priority >= 1000
    assert handoff.reason == "Raised a hand: demo.requested."


def test_no_second_hand_off_while_one_is_open_or_within_the_cool_down(rt):
    anna = rep(rt, "anna@sales.example")
    cid = contact(rt, "dee@example.com", **LEAD)
    record(rt, cid, "demo.requested")
    record(rt, cid, "demo.requested")
    [first] = handoffs(rt, cid)
    scoring_services.reject(rt, rt.settings, first.id, anna, "not-ready", "Budget comes in Q3.")
    record(rt, cid, "demo.requested")
    assert len(handoffs(rt, cid)) == 1, "rejected ten seconds ago: cool-down"
    rt.clock.advance(timedelta(days=31))
    record(rt, cid, "demo.requested")
    assert [h.status for h in handoffs(rt, cid)] == ["rejected", "open"]


def test_reps_take_turns_and_specialists_come_first(rt):
    generalist = rep(rt, "gen@sales.example")
    first = rep(rt, "r1@sales.example", verticals=["retail"])
    second = rep(rt, "r2@sales.example", verticals=["retail"], territories=["FR", "BE"])
    third = rep(rt, "r3@sales.example", verticals=["retail"], territories=["FR"])
    owners = []
    for n in range(4):
        cid = contact(rt, f"lead{n}@example.com", industry="retail", country="FR")
        record(rt, cid, "demo.requested")
        owners.append(handoffs(rt, cid)[0].assigned_to)
    assert owners == [second, third, second, third] and first not in owners
    health = contact(rt, "doc@example.com", industry="healthcare", country="FR")
    record(rt, health, "demo.requested")
    assert handoffs(rt, health)[0].assigned_to == generalist


def test_an_unaccepted_hand_off_reminds_the_rep_then_moves_to_the_next(rt):
    anna = rep(rt, "anna@sales.example")
    bob = rep(rt, "bob@sales.example")
    cid = contact(rt, "eve@example.com", first_name="Eve")
    record(rt, cid, "demo.requested")
    assert handoffs(rt, cid)[0].assigned_to == anna
    rt.clock.advance(timedelta(hours=23))
    run_due(rt)
    assert len(mail_to(rt, "anna@sales.example")) == 1
    rt.clock.advance(timedelta(hours=2))
    run_due(rt)
    reminders = mail_to(rt, "anna@sales.example")
    assert len(reminders) == 2 and reminders[1]["Subject"].startswith("Reminder: ")
    assert handoffs(rt, cid)[0].assigned_to == anna
    rt.clock.advance(timedelta(hours=24))
    run_due(rt)
    [handoff] = handoffs(rt, cid)
    assert handoff.assigned_to == bob and handoff.escalations == 2
    assert len(mail_to(rt, "bob@sales.example")) == 1
    with rt.db.sessions() as session:
        actions = session.scalars(select(HandoffNote.action).where(
            HandoffNote.handoff_id == handoff.id).order_by(HandoffNote.id)).all()
    assert actions == ["opened", "assigned", "reminded", "reassigned"]
    scoring_services.accept(rt, rt.settings, handoff.id, bob)
    rt.clock.advance(timedelta(days=3))
    run_due(rt)
    assert len(mail_to(rt, "bob@sales.example")) == 1, "accepted: no more reminders"


def test_sales_accepts_then_wins_and_journeys_see_each_step(rt):
    anna = rep(rt, "anna@sales.example")
    other = rep(rt, "zed@sales.example", verticals=["mining"])
    cid = contact(rt, "fin@example.com")
    record(rt, cid, "demo.requested")
    [handoff] = handoffs(rt, cid)
    with pytest.raises(HandoffError, match="Accept the lead before"):
        scoring_services.close(rt, rt.settings, handoff.id, anna, won=True, detail="")
    with pytest.raises(HandoffNotFound, match="There is no such hand-off"):
        # another rep's lead: as if it did not exist
        scoring_services.accept(rt, rt.settings, handoff.id, other)
    scoring_services.accept(rt, rt.settings, handoff.id, anna)
    with pytest.raises(HandoffError, match="already accepted"):
        scoring_services.accept(rt, rt.settings, handoff.id, anna)
    scoring_services.close(rt, rt.settings, handoff.id, anna, won=True,
                           detail="Signed for 12 seats.", amount=14400.0)
    run_due(rt)
    with rt.db.sessions() as session:
        events = session.execute(select(Event.type, Event.properties).where(
            Event.contact_id == cid, Event.type.like("sales.%")).order_by(Event.id)).all()
    assert [t for t, _ in events] == ["sales.handoff", "sales.accepted", "sales.won"]
    assert events[-1].properties["amount"] == 14400.0
    assert handoffs(rt, cid)[0].status == "won"


def test_rejecting_needs_a_reason_and_sends_the_lead_back_to_nurture(rt):
    anna = rep(rt, "anna@sales.example")
    cid = contact(rt, "gil@example.com")
    record(rt, cid, "demo.requested")
    [handoff] = handoffs(rt, cid)
    with pytest.raises(HandoffError, match="Choose a reason"):
        scoring_services.reject(rt, rt.settings, handoff.id, anna, "", "")
    with pytest.raises(HandoffError, match="Say in a few words"):
        scoring_services.reject(rt, rt.settings, handoff.id, anna, "other", "  ")
    scoring_services.reject(rt, rt.settings, handoff.id, anna, "no-budget", "Frozen until January.")
    [handoff] = handoffs(rt, cid)
    assert (handoff.status, handoff.outcome_reason) == ("rejected",
                                                        "No budget: Frozen until January.")
    with rt.db.sessions() as session:
        rejected = session.scalar(select(Event.properties).where(
            Event.contact_id == cid, Event.type == "sales.rejected"))
        from nurture.contacts.models import Contact
        attributes = session.get(Contact, cid).attributes
    assert rejected["reason"] == "No budget: Frozen until January."
    assert attributes["sales"]["status"] == "rejected"


def test_a_journey_handoff_step_takes_the_same_path(rt):
    anna = rep(rt, "anna@sales.example")
    publish_text(rt, """
        id: webinar-followup
        name: Webinar follow-up
        entry: {event: webinar.attended}
        steps:
          - id: to-sales
            handoff: Attended the webinar on pricing.
    """)
    cid = contact(rt, "hal@example.com")
    record(rt, cid, "webinar.attended")
    [handoff] = handoffs(rt, cid)
    assert (handoff.trigger, handoff.reason, handoff.assigned_to) == (
        "journey", "Attended the webinar on pricing.", anna)
    assert len(mail_to(rt, "anna@sales.example")) == 1


def test_the_crm_webhook_is_signed_and_retried_until_delivered(settings, clock):
    from standardwebhooks import Webhook

    from nurture.webhooks.signing import derived_secret
    from tests.nurture.webhooks.webhook_receiver import receiving

    with receiving(codes=[503]) as receiver:
        crm = settings.with_(scoring=replace(settings.scoring, crm_webhook_url=receiver.url),
                             webhook_allow=("127.0.0.1",))
        with running(crm, clock) as rt:
            rep(rt, "anna@sales.example")
            cid = contact(rt, "ivy@example.com", first_name="Ivy")
            record(rt, cid, "demo.requested")
            assert len(receiver.received) == 1, "the first attempt got a 503"
            rt.clock.advance(timedelta(minutes=1))
            run_due(rt)
            headers, body = receiver.received[-1]
            payload = Webhook(derived_secret("test-secret-key")).verify(body, headers)
            assert payload["event"] == "sales.handoff" and payload["lead"]["first_name"] == "Ivy"
            assert payload["rep"]["email"] == "anna@sales.example"
            with rt.db.sessions() as session:
                row = session.scalar(select(WebhookDelivery))
            assert (row.status, row.attempts) == ("delivered", 2)


def test_a_lead_sent_back_for_timing_is_nurtured_again_but_not_a_bad_fit(rt):
    from nurture.config import PROJECT_ROOT
    publish_text(rt, (PROJECT_ROOT / "journeys/library/sales-recycled.yaml").read_text())
    anna = rep(rt, "anna@sales.example")
    later = contact(rt, "later@example.com", consent_marketing=True, timezone="UTC")
    wrong = contact(rt, "wrong@example.com", consent_marketing=True)
    for cid in (later, wrong):
        record(rt, cid, "demo.requested")
    first, second = handoffs(rt)
    scoring_services.reject(rt, rt.settings, first.id, anna, "not-ready",
                            "Evaluating next quarter.")
    scoring_services.reject(rt, rt.settings, second.id, anna, "bad-fit", "")
    run_due(rt)
    assert [e.journey_id for e in enrollments(rt, later)] == ["sales-recycled"]
    assert enrollments(rt, wrong) == []
    advance_clock(rt, timedelta(days=23), step=timedelta(hours=12))
    assert [s.template for s in sends(rt, later) if s.status == "sent"][-1] == \
        "prospect-case-study"
