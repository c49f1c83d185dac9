"""Concurrent writers on PostgreSQL take row locks in one order (contact, then its
enrollments), so an event recorded while a worker advances the same contact waits its
turn instead of deadlocking."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest

from nurture.app.tasks import run_advance
from nurture.contacts.queries import lock_contacts
from nurture.events.bus import NewEvent
from nurture.events.recorder import record_events
from tests.helpers import (
    contact,
    enrollments,
    event,
    publish_text,
    sends,
    wait_for_a_lock_wait,
)

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
        wait_for_a_lock_wait(rt)
        record_events(session, rt.subscribers, [NewEvent(ann, "trial.started", {})], now)
    worker.result(timeout=30)  # raised DeadlockDetected when the worker locked out of order
    [after] = enrollments(rt, ann)
    assert (after.status, after.exit_reason) == ("exited", "goal:trial.started")
    assert [s.step_id for s in sends(rt, ann)] == []
