"""Pruning old events, with their daily counts kept in `event_rollups`.

An event is deleted once it is older than NURTURE_EVENT_RETENTION_DAYS (default 730), both
by when it occurred and by when it was recorded, unless one of these holds:

- It is the last event of its type for its contact. Conditions read the whole history with
  `has('type')` and `days_since('type')`, segments read the latest NPS answer, and both only
  ever need the newest event of a type: keeping it keeps their answers exactly. `count()`
  over a window longer than the retention sees the events kept, no more.
- Its type is in KEPT, the record of money, consent and obligations: purchases and
  conversions (the CLV model fits on each customer's whole purchase history,
  `scoring.clv_data`; referral rewards were judged on them), subscription renewals and
  cancellations, consent given and withdrawn (the proof itself lives in `consent_records`,
  which is never pruned, but the event log is where a person's own timeline shows it),
  hand-offs to sales and their outcomes, rewards, and the notices of deleted data. They are
  a small share of the log and the answer to "what did we agree with this person, when".

The retention can not be set below the longest look-back of a live feature (`floor`): the
400 days of an email's links, so that opens and clicks outlive the send they join in the
email, journey and broadcast reports (`nurture.sending.retention`); the NPS throttle; the
referral window; the frequency cap's window.

Before a batch is deleted its events are counted per day, type and machine flag into
`event_rollups`, in the same transaction, from the rows the DELETE itself returns: each
event is either in the log or counted once in a rollup, never both and never neither.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta

from sqlalchemy import and_, delete, exists, func, or_
from sqlalchemy.orm import Session, aliased

from nurture.config import Settings
from nurture.events.models import Event, EventRollup
from nurture.sending.retention import MIN_DAYS as LINK_DAYS
from nurture.sweeps import BATCH, MAX_BATCHES, add_counts, day_of, first_row, sweep
from nurture.unit_of_work import Works

KEPT = frozenset({
    "purchase.completed", "trial.converted", "subscription.renewed",
    "subscription.cancelled", "consent.given", "consent.withdrawn", "account.deprovisioned",
    "trial.data_deleted", "sales.handoff", "sales.accepted", "sales.rejected", "sales.won",
    "sales.lost", "referral.converted", "reward.approved", "reward.fulfilled"})


def floor(settings: Settings) -> int:
    """The fewest days of events the live features need."""
    return max(LINK_DAYS, settings.nps.throttle_days, settings.referral.window.days,
               settings.frequency_window_days)


def retention(settings: Settings) -> timedelta:
    """NURTURE_EVENT_RETENTION_DAYS, raised to the floor if lower."""
    return timedelta(days=max(settings.retention.event_days, floor(settings)))


def prune_events(session: Session, start: int, cutoff: datetime, batch: int = BATCH
                 ) -> tuple[int, int] | None:
    """Delete the prunable events among `batch` ids from the first at or after `start`, and
    count them into the rollups. (deleted, next start), or None past the cut-off."""
    first = first_row(session, Event.id, Event.recorded_at, start)
    if first is None or first[1] >= cutoff:
        return None
    later = aliased(Event)
    newer = exists().where(
        later.contact_id == Event.contact_id, later.type == Event.type,
        or_(later.occurred_at > Event.occurred_at,
            and_(later.occurred_at == Event.occurred_at, later.id > Event.id)))
    machine = func.coalesce(Event.properties["machine"].as_boolean(), False)
    gone = session.execute(
        delete(Event)
        .where(Event.id >= first[0], Event.id < first[0] + batch, Event.recorded_at < cutoff,
               Event.occurred_at < cutoff, Event.type.not_in(KEPT), newer)
        .returning(func.date(Event.occurred_at), Event.type, machine)
        .execution_options(synchronize_session=False)).all()
    counts = Counter((day_of(day), type_, bool(flag)) for day, type_, flag in gone)
    add_counts(session, EventRollup, ("day", "type", "machine"), [
        {"day": day, "type": type_, "machine": flag, "count": n}
        for (day, type_, flag), n in sorted(counts.items())])
    return len(gone), first[0] + batch


def run_retention_jobs(works: Works, settings: Settings, batches: int = MAX_BATCHES
                       ) -> dict[str, int]:
    """The periodic event work, for the scheduler: prune old events."""
    cutoff = works.now() - retention(settings)
    return {"pruned": sweep(works, "events", lambda s, start: prune_events(s, start, cutoff),
                            batches)}
