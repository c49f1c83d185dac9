"""Actors: ids in, look up, call a service, done. Declared on the broker by `broker.py`."""

from __future__ import annotations

import logging

from journeys.services import advance_batch
from nurture.app.runtime import Runtime, current
from nurture.events.services import NewEvent, record_events
from nurture.sending.render import store_for
from nurture.sending.services import deliver

log = logging.getLogger(__name__)


def advance_enrollments(ids: list[int]) -> None:
    run_advance(current(), ids)


def run_advance(rt: Runtime, ids: list[int]) -> None:
    now = rt.clock.now()
    with rt.work(now) as work:
        session = work.session
        # New sends are written leased when this process delivers them (see `Work`).
        batch = advance_batch(session, rt.versions, ids, now, rt.pacing, work.lease_until)
        if batch.handoffs:
            work.due("advance_enrollments", _journey_handoffs(session, rt, batch.handoffs, now))
        if batch.changed_contacts:
            work.due("advance_enrollments",
                     _entries_for_changed(session, rt, batch.changed_contacts, now))
        work.leased("deliver_sends", batch.send_ids)
        work.due("deliver_webhooks", batch.webhook_ids)


def _journey_handoffs(session, rt: Runtime, handoffs: list[tuple[int, dict]], now) -> list[int]:
    """A journey's `handoff` step takes the same path as a score hand-off (routing, rep
    email, CRM webhook, cool-down); with scoring paused it still records `sales.handoff`."""
    from scoring.pipeline import hand_off, setup_for
    from scoring.services import HandoffRequest

    setup = setup_for(rt.settings)
    if setup is None:
        events = [NewEvent(cid, "sales.handoff", props, now, source="journey")
                  for cid, props in handoffs]
    else:
        requests = [HandoffRequest(cid, "journey", props.get("reason") or
                                   f"Journey {props.get('journey')}, step {props.get('step')}.")
                    for cid, props in handoffs]
        events = hand_off(session, setup, requests, now).events
    return record_events(session, rt.versions, events, now).kick if events else []


def _entries_for_changed(session, rt: Runtime, contact_ids: set[int], now) -> list[int]:
    from journeys.repository import load_facts, lock_contacts
    from journeys.services import Entries, all_history_types

    live = rt.versions.live(session)
    contacts = lock_contacts(session, contact_ids)
    facts = load_facts(session, contacts, all_history_types(live.values()), now,
                       rt.pacing.window)
    entries = Entries(session, live, now)
    entries.load_history(contact_ids)
    for item in facts.values():
        entries.on_change(item)
    return entries.flush()


def deliver_sends(ids: list[int]) -> None:
    rt = current()
    deliver(rt, store_for(rt.settings.templates_dir), ids)


def deliver_webhooks(ids: list[int]) -> None:
    from nurture.webhooks.services import deliver_batch

    rt = current()
    deliver_batch(rt.db.sessions, ids, rt.clock.now(), rt.settings.secret_key)


def escalate_handoffs(ids: list[int]) -> None:
    from scoring.api import escalate_due

    escalate_due(current(), ids)


HANDLERS = {
    "advance_enrollments": advance_enrollments,
    "deliver_sends": deliver_sends,
    "deliver_webhooks": deliver_webhooks,
    "escalate_handoffs": escalate_handoffs,
}
