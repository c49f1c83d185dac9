"""Reward approval takes the rewarded contacts' locks before the rewards' own, the order
the event pipeline takes: a refund recorded while the approval job runs waits its turn,
and wins, instead of deadlocking (PostgreSQL)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest

from nurture.contacts.queries import lock_contacts
from nurture.events.bus import NewEvent
from nurture.events.recorder import record_events
from referral import services as referral_services
from referral.rules import MONEY_KINDS
from tests.factories import convert_friend, customer, sign_up, visit
from tests.helpers import (
    advance_clock,
    contact_id,
    rewards,
    wait_for_a_lock_wait,
    web_client,
)


def test_a_refund_recorded_while_rewards_are_approved_voids_them_without_deadlock(rt):
    if not rt.db.is_postgres:
        pytest.skip("row locks are a PostgreSQL matter: SQLite has one writer at a time")
    code = customer(rt)
    web = web_client(rt)
    sign_up(web, visit(web, code))
    convert_friend(rt)
    advance_clock(rt, timedelta(days=30, minutes=1), step=timedelta(days=1))
    bob = contact_id(rt, "bob@bob-bikes.example")
    # The money rewards (the thank-you is fulfilled at once; tests/referral/test_reward_kinds.py)
    assert {r.status for r in _money(rt)} == {"pending"}, "past the hold, not yet approved"
    with ThreadPoolExecutor(1) as pool, rt.db.transaction() as session:
        lock_contacts(session, [bob])  # as recording an event for Bob does first
        approval = pool.submit(referral_services.approve_due, rt)
        wait_for_a_lock_wait(rt)
        record_events(session, rt.subscribers, [NewEvent(bob, "custom.purchase.refunded")],
                      rt.clock.now())
    assert approval.result(timeout=30) == 0  # raised DeadlockDetected when rewards came first
    assert {r.status for r in _money(rt)} == {"voided"}


def _money(rt):
    return [r for r in rewards(rt) if r.kind in MONEY_KINDS]
