"""The bulk path for new contacts: `contact.created` recorded for each contact that this
transaction has just inserted (an import's batch of thousands), loading no contact row.

The usual path (`recorder.record_events`) locks the events' contacts and loads them as ORM
rows for the subscribers: 40% of an import's time. Contacts this transaction inserted are
seen by nobody else until it commits, so there is nothing to lock, and their columns are
the ones just written, so the caller hands them over as plain values. The round is checked
and its events inserted in bulk as on the usual path, then published as a `CreatedBatch`:
a subscriber with an `on_created` answers it in bulk (fit scoring, set-based), any other
gets the usual `RecordedBatch`, its rows loaded once, when the first one asks. The events
the subscribers answer with are recorded by the usual path, round after round.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from functools import partial
from typing import Any

from sqlalchemy.orm import Session

from nurture.contacts.models import Contact
from nurture.contacts.queries import lock_contacts
from nurture.events.bus import CreatedBatch, NewEvent, RecordedBatch, RecordedEvent, Subscriber
from nurture.events.effects import Lifecycle, effects
from nurture.events.errors import EventError
from nurture.events.models import Event
from nurture.events.recorder import (
    Recorded,
    apply_effects,
    check,
    drop_duplicates,
    record_events,
)
from nurture.writes import insert_returning

CREATED = "contact.created"


def record_created(session: Session, subscribers: Sequence[Subscriber],
                   events: Sequence[NewEvent], fields: Mapping[int, Mapping[str, Any]],
                   now: datetime, lifecycle: Lifecycle | None = None) -> Recorded:
    """Record `contact.created` for contacts inserted in this transaction, whose columns
    as written are `fields[contact_id]`. Raises EventError, before writing anything, for
    a bad event; ValueError for an event of another type or contact."""
    if any(e.type != CREATED or e.contact_id not in fields for e in events):
        raise ValueError("The bulk path records contact.created for the contacts it is "
                         "given, and nothing else.")
    violations = check(events, now)
    if violations:
        raise EventError(violations)
    result = Recorded()
    fresh = drop_duplicates(session, events)
    result.duplicates = len(events) - len(fresh)
    if not fresh:
        return result
    # The batch's one properties object stays one (not copied per row): the bulk writer
    # converts a value that many rows share once.
    rows: list[dict[str, Any]] = [
        {"contact_id": e.contact_id, "type": e.type, "properties": e.properties,
         "occurred_at": e.occurred_at or now, "recorded_at": now, "source": e.source,
         "dedupe_key": e.dedupe_key} for e in fresh]
    result.event_ids = insert_returning(session, Event, rows)
    recorded = tuple(RecordedEvent(event_id, r["contact_id"], r["type"], r["properties"],
                                   r["occurred_at"], r["source"])
                     for event_id, r in zip(result.event_ids, rows, strict=True))
    ids = {e.contact_id for e in fresh}
    loaded: dict[int, Contact] = {}
    stale = False

    def full(changed: frozenset[int]) -> RecordedBatch:
        nonlocal stale
        if not loaded or stale:  # read again after a set-based write changed the rows
            loaded.update(lock_contacts(session, ids, reload=stale))
            stale = False
        return RecordedBatch(recorded, loaded, changed, now)

    changed: set[int] = set()
    if _has_effects(rows, fields, lifecycle):  # none for contact.created today
        full(frozenset())
        changed = apply_effects(session, loaded, rows, lifecycle)
    follow_ups: list[NewEvent] = []
    for subscriber in subscribers:
        bulk = getattr(subscriber, "on_created", None)
        now_changed = frozenset(changed)
        if bulk is None:
            reaction = subscriber(session, full(now_changed))
        else:
            reaction = bulk(session, CreatedBatch(recorded, fields, now_changed, now,
                                                  partial(full, now_changed)))
            stale = stale or bool(reaction.changed)
        changed |= reaction.changed
        follow_ups += reaction.events
        for kind, due in reaction.due.items():
            result.due.setdefault(kind, []).extend(due)
    if follow_ups:
        later = record_events(session, subscribers, follow_ups, now, lifecycle)
        for kind, due in later.due.items():
            result.due.setdefault(kind, []).extend(due)
    return result


def fill_created(subscribers: Sequence[Subscriber], rows: list[dict[str, Any]]) -> None:
    """Let the subscribers fill the columns they own in the rows of new contacts before
    they are inserted (then recorded with `record_created`)."""
    for subscriber in subscribers:
        fill = getattr(subscriber, "fill_created", None)
        if fill is not None:
            fill(rows)


def _has_effects(rows: list[dict[str, Any]], fields: Mapping[int, Mapping[str, Any]],
                 lifecycle: Lifecycle | None) -> bool:
    """Whether any event moves its contact (a stage, a field); asked once for each stage
    and properties object (an import's batch: once)."""
    asked: set[tuple[str, int, datetime]] = set()
    for r in rows:
        stage = str(fields[r["contact_id"]].get("stage") or "learn")
        key = (stage, id(r["properties"]), r["occurred_at"])
        if key in asked:
            continue
        asked.add(key)
        if effects(stage, r["type"], r["properties"], r["occurred_at"],
                   lifecycle or Lifecycle()):
            return True
    return False
