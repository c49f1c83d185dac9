"""Actors: ids in, look up, call a service, done. `handlers` binds each to one runtime;
the transport (`nurture.broker`) declares them on the broker."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from sqlalchemy.orm import Session

from journeys.repository import load_facts
from journeys.services import Entries, advance_batch, all_history_types
from nurture.app.runtime import Runtime
from nurture.contacts.imports import service as imports
from nurture.contacts.imports import uploads
from nurture.contacts.imports.errors import ImportFileError
from nurture.contacts.queries import lock_contacts
from nurture.events.bus import NewEvent
from nurture.sending.lanes import KINDS
from nurture.sending.services import deliver
from nurture.stages import stage
from nurture.unit_of_work import Work
from nurture.webhooks.notices import notify_disabled
from nurture.webhooks.services import Engine, deliver_batch
from scoring.scorer import HandoffRequest
from scoring.services import escalate_due
from scoring.subscriber import hand_off, setup_for

log = logging.getLogger(__name__)
Handler = Callable[[list[int]], None]


def handlers(rt: Runtime) -> dict[str, Handler]:
    """Each actor's function, bound to the runtime it runs in."""

    def deliver_sends(ids: list[int]) -> None:
        deliver(rt, rt.mailroom(), ids)

    def deliver_webhooks(ids: list[int]) -> None:
        deliver_webhook_batch(rt, ids)

    def escalate_handoffs(ids: list[int]) -> None:
        escalate_due(rt, rt.settings, ids)

    def advance_enrollments(ids: list[int]) -> None:
        run_advance(rt, ids)

    def run_imports(ids: list[int]) -> None:
        for job_id in ids:
            run_import(rt, job_id)

    # Both lanes deliver alike; they differ in their queue and threads (`nurture.broker`).
    return {"advance_enrollments": advance_enrollments, "deliver_sends": deliver_sends,
            "deliver_priority_sends": deliver_sends,
            "deliver_webhooks": deliver_webhooks, "escalate_handoffs": escalate_handoffs,
            "run_imports": run_imports}


def deliver_webhook_batch(rt: Runtime, ids: list[int]) -> None:
    """Deliver, then tell the owners of endpoints that this batch disabled."""
    disabled = deliver_batch(rt.db.sessions, ids, rt.clock.now(),
                             Engine.from_settings(rt.settings))
    if disabled:
        with rt.db.sessions() as session:
            notify_disabled(session, rt.sender, rt.settings, disabled)


def run_import(rt: Runtime, job_id: int) -> None:
    """Run an import job, renewing its lease each batch; a file that cannot be imported
    is recorded on the job (its sentence) and not tried again. A worker that dies leaves
    the lease to run out: the scheduler hands the job on, which resumes from its
    checkpoint."""
    try:
        done = imports.run(rt, job_id, lease=rt.lease)
    except ImportFileError as exc:
        log.info("import %d stopped: %s", job_id, exc)
        return
    if done.status == "done":
        uploads.discard(rt.settings.var_dir, imports.stored_path(rt, job_id))


def run_advance(rt: Runtime, ids: list[int]) -> None:
    now = rt.clock.now()
    with stage("advance"), rt.work(now) as work:
        # New sends are written leased when this process delivers them (see `Work`).
        batch = advance_batch(work.session, rt.versions, ids, now, rt.pacing,
                              work.lease_until)
        if batch.handoffs:
            _journey_handoffs(work, rt, batch.handoffs, now)
        if batch.changed_contacts:
            work.due("advance_enrollments",
                     _entries_for_changed(work.session, rt, batch.changed_contacts, now))
        for lane, ids in batch.send_ids.items():
            work.leased(KINDS[lane], ids)
        work.due("deliver_webhooks", batch.webhook_ids)


def _journey_handoffs(work: Work, rt: Runtime, handoffs: list[tuple[int, dict]],
                      now: datetime) -> None:
    """A journey's `handoff` step takes the same path as a score hand-off (routing, rep
    email, CRM webhook, cool-down); with scoring paused it still records `sales.handoff`."""
    setup = setup_for(rt.settings)
    if setup is None:
        events = [NewEvent(cid, "sales.handoff", props, now, source="journey")
                  for cid, props in handoffs]
    else:
        requests = [HandoffRequest(cid, "journey", props.get("reason") or
                                   f"Journey {props.get('journey')}, step {props.get('step')}.")
                    for cid, props in handoffs]
        events = hand_off(work.session, setup, requests, now).events
    work.record(events)


def _entries_for_changed(session: Session, rt: Runtime, contact_ids: set[int],
                         now: datetime) -> list[int]:
    live = rt.versions.live(session)
    contacts = lock_contacts(session, contact_ids)
    facts = load_facts(session, contacts, all_history_types(live.values()), now,
                       rt.pacing.window)
    entries = Entries(session, live, now)
    entries.load_history(contact_ids)
    for item in facts.values():
        entries.on_change(item)
    return entries.flush()
