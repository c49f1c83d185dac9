"""Sales work and scoring take row locks in one order on PostgreSQL (the contact first),
so an SLA escalation and a new hand-off for the same lead queue up instead of
deadlocking."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest

from nurture.contacts.queries import lock_contacts
from scoring import services as scoring_services
from scoring.handoffs import _reps
from tests.factories import rep
from tests.helpers import contact, handoffs, mail_to, record, run_due, wait_for_a_lock_wait


def test_an_escalation_waits_for_a_hand_off_holding_the_lead(rt):
    if not rt.db.is_postgres:
        pytest.skip("row locks are a PostgreSQL matter: SQLite has one writer at a time")
    rep(rt, "anna@sales.example")
    eve = contact(rt, "eve@example.com", first_name="Eve")
    record(rt, eve, "demo.requested")
    [handoff] = handoffs(rt, eve)
    rt.clock.advance(timedelta(hours=25))  # the SLA has run out
    with ThreadPoolExecutor(1) as pool, rt.db.transaction() as session:
        lock_contacts(session, [eve])  # as scoring does before it opens a hand-off
        escalation = pool.submit(scoring_services.escalate_due, rt, rt.settings, [handoff.id])
        wait_for_a_lock_wait(rt)
        _reps(session)  # ... and then it takes the reps in turn
    escalation.result(timeout=30)  # raised DeadlockDetected when it took the reps first
    run_due(rt)
    [after] = handoffs(rt, eve)
    assert after.escalations == 1
    assert mail_to(rt, "anna@sales.example")[-1]["Subject"].startswith("Reminder: ")


def test_a_rep_accepting_waits_for_a_follow_up_being_added_to_the_same_lead(rt):
    if not rt.db.is_postgres:
        pytest.skip("row locks are a PostgreSQL matter: SQLite has one writer at a time")
    from sqlalchemy import select

    from scoring.models import HandoffNote
    from scoring.scorer import HandoffRequest
    from scoring.subscriber import hand_off, setup_for

    anna = rep(rt, "anna@sales.example")
    eve = contact(rt, "eve@example.com", first_name="Eve")
    record(rt, eve, "demo.requested")
    [handoff] = handoffs(rt, eve)
    with ThreadPoolExecutor(1) as pool, rt.db.transaction() as session:
        lock_contacts(session, [eve])  # as a journey's hand-off step for Eve does first
        accepting = pool.submit(scoring_services.accept, rt, rt.settings, handoff.id, anna)
        wait_for_a_lock_wait(rt)
        hand_off(session, setup_for(rt.settings),
                 [HandoffRequest(eve, "journey", "Asked for pricing again.")], rt.clock.now())
    accepting.result(timeout=30)  # raised DeadlockDetected when it locked the hand-off first
    [after] = handoffs(rt, eve)
    assert after.status == "accepted"
    with rt.db.sessions() as session:
        notes = session.scalars(select(HandoffNote.note).where(
            HandoffNote.handoff_id == handoff.id)).all()
    assert "Asked for pricing again." in notes
