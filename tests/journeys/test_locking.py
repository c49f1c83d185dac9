"""Concurrent writers on PostgreSQL take row locks in one order (contact, then its
enrollments), so an event recorded while a worker advances the same contact waits its
turn instead of deadlocking."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from sqlalchemy import text

from journeys.repository import lock_contacts
from nurture.events.services import NewEvent, record_events
from nurture.tasks import run_advance
from tests.helpers import contact, enrollments, event, publish_text, sends

JOURNEY = """
id: onboarding
name: Onboarding
entry: {event: contact.created}
exit_on: [trial.started]
steps:
  - id: pause
    wait: 2d
  - id: tips
    send: trial-welcome
"""


def _wait_until_blocked(rt, seconds: float = 10.0) -> None:
    """Until another connection of this database waits on a row lock."""
    deadline = time.monotonic() + seconds
    with rt.db.engine.connect() as conn:
        while time.monotonic() < deadline:
            waiting = conn.execute(text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock'")).scalar()
            if waiting:
                return
            conn.rollback()
            time.sleep(0.02)
    raise AssertionError("the worker never waited for the contact's lock")


def test_an_exit_event_recorded_while_a_worker_advances_the_contact_wins_without_deadlock(rt):
    if not rt.db.is_postgres:
        pytest.skip("row locks are a PostgreSQL matter: SQLite has one writer at a time")
    publish_text(rt, JOURNEY)
    ann = contact(rt)
    event(rt, ann, "contact.created")
    [enrolled] = enrollments(rt, ann)
    rt.clock.advance(timedelta(days=2))  # the `tips` send is due now
    now = rt.clock.now()
    with ThreadPoolExecutor(1) as pool, rt.db.transaction() as session:
        lock_contacts(session, [ann])  # as an event for Ann being recorded does first
        worker = pool.submit(run_advance, rt, [enrolled.id])
        _wait_until_blocked(rt)
        record_events(session, rt.versions, [NewEvent(ann, "trial.started", {})], now)
    worker.result(timeout=30)  # raised DeadlockDetected when the worker locked out of order
    [after] = enrollments(rt, ann)
    assert (after.status, after.exit_reason) == ("exited", "goal:trial.started")
    assert [s.step_id for s in sends(rt, ann)] == []
