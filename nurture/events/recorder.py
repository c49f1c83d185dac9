"""Recording events: the one way the outside world moves a contact.

In the caller's transaction: check the batch, insert the events in bulk, apply their own
effects (stage and attributes), then publish the batch to the subscribers the composition
root registered (`nurture.events.bus`), in their order. What they answer is gathered: the
events that follow are recorded as the next round, the same way; the work made due now is
returned, for the caller's unit of work (`nurture.unit_of_work`) to hand on after the
commit. The recorder knows none of its subscribers.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from nurture.contacts.language import problem as language_problem
from nurture.contacts.language import standard_tag
from nurture.contacts.models import Contact, StageChange
from nurture.contacts.queries import lock_contacts
from nurture.events.bus import NewEvent, RecordedBatch, RecordedEvent, Subscriber
from nurture.events.catalog import is_known
from nurture.events.effects import Lifecycle, effects, merge_attributes
from nurture.events.errors import EventError
from nurture.events.models import Event
from nurture.events.schemas import property_violations
from nurture.text import MAX_DEPTH, depth, text_problem, value_problems
from nurture.violations import Violation, moment_problem
from nurture.writes import insert_returning

MAX_FUTURE = timedelta(minutes=5)
MAX_ROUNDS = 8  # events answered by events: a hand-off, a conversion; never this deep


@dataclass
class Recorded:
    """The ids of the events recorded (the first round's: those asked for), how many were
    dropped as duplicates, and the work that recording them made due now, by kind."""

    event_ids: list[int] = field(default_factory=list)
    duplicates: int = 0
    due: dict[str, list[int]] = field(default_factory=dict)


MAX_TYPE = 80  # the column's length
MAX_PROPERTIES = 32_000  # characters of JSON: a page's URL or an NPS reason fits many times


def check(events: Sequence[NewEvent], now: datetime) -> list[Violation]:
    """Every violation in a batch, each with its field's path (`events[1].type` in a batch
    of several). Every caller gets these rules: the API, the CLI and code."""
    if len(events) == 1:
        return _violations(events[0], now)
    # Events that share their type, time and properties object (an import's batch) are
    # checked once: the rules read nothing else.
    known: dict[tuple[str, int, datetime | None], list[Violation]] = {}
    found = []
    for index, item in enumerate(events):
        try:
            key = (item.type, id(item.properties), item.occurred_at)
            if key not in known:
                known[key] = _violations(item, now)
            problems = known[key]
        except TypeError:  # an unhashable type or time: the check says what is wrong
            problems = _violations(item, now)
        found += [Violation(f"events[{index}].{v.field}", v.message) for v in problems]
    return found


def _violations(item: NewEvent, now: datetime) -> list[Violation]:
    if not isinstance(item.type, str) or not item.type:
        return [Violation("type", "An event needs a type.")]
    if len(item.type) > MAX_TYPE or not is_known(item.type):
        shown = item.type if len(item.type) <= MAX_TYPE else item.type[:40] + "..."
        return [Violation("type", f"The type {shown!r} is unknown; use a catalogue type or "
                                  f"prefix your own with 'custom.' ({MAX_TYPE} characters "
                                  "at most).")]
    found = [Violation("type", problem) for problem in [text_problem(item.type)] if problem]
    if item.occurred_at is not None:
        problem = moment_problem(item.occurred_at, now, MAX_FUTURE)
        if problem:
            found.append(Violation("occurred_at", problem))
    if not isinstance(item.properties, Mapping):
        return [*found, Violation("properties", "The properties must be an object.")]
    unstorable = [Violation(f"properties.{path}" if path else "properties", problem)
                  for path, problem in value_problems(dict(item.properties))]
    if unstorable:
        return found + unstorable
    if depth(dict(item.properties)) > MAX_DEPTH:
        return [*found, Violation("properties", f"The properties nest more than {MAX_DEPTH} "
                                                "levels deep.")]
    try:
        size = len(json.dumps(dict(item.properties), default=_refuse))
    except (TypeError, ValueError):
        return [*found, Violation("properties", "The properties must hold only JSON values "
                                                "(text, numbers, true/false, lists, objects).")]
    if size > MAX_PROPERTIES:
        return [*found, Violation("properties", f"The properties are longer than "
                                                f"{MAX_PROPERTIES:,} characters of JSON.")]
    found += property_violations(item.type, item.properties)
    said = item.properties.get("language") if item.type == "contact.updated" else ""
    if isinstance(said, str) and said and standard_tag(said) is None:
        found.append(Violation("properties.language", language_problem(said)))
    return found


def _refuse(value: Any) -> Any:
    raise TypeError(f"{type(value).__name__} is not a JSON value")


def record_events(session: Session, subscribers: Sequence[Subscriber],
                  events: Sequence[NewEvent], now: datetime,
                  lifecycle: Lifecycle | None = None, checked: bool = False) -> Recorded:
    """Record a batch of events in the caller's transaction and publish it to the
    subscribers; the events they answer with are recorded the same way, round after round.
    Raises EventError, before writing anything of a round, for any bad event. `checked`:
    the caller found no violation in `events` with `check` at `now` (they are not checked
    twice); the rounds that follow are checked as always."""
    result = Recorded()
    pending, rounds = list(events), 0
    while pending:
        rounds += 1
        if rounds > MAX_ROUNDS:
            raise RuntimeError(f"Subscribers kept answering events with events for "
                               f"{MAX_ROUNDS} rounds; one of them loops.")
        done = _record_round(session, subscribers, pending, now, lifecycle,
                             checked and rounds == 1)
        if rounds == 1:
            result.event_ids, result.duplicates = done.event_ids, done.duplicates
        for kind, ids in done.due.items():
            result.due.setdefault(kind, []).extend(ids)
        pending = done.follow_ups
    return result


@dataclass
class _Round:
    event_ids: list[int] = field(default_factory=list)
    duplicates: int = 0
    due: dict[str, list[int]] = field(default_factory=dict)
    follow_ups: list[NewEvent] = field(default_factory=list)


def _record_round(session: Session, subscribers: Sequence[Subscriber],
                  events: Sequence[NewEvent], now: datetime,
                  lifecycle: Lifecycle | None, checked: bool = False) -> _Round:
    violations = [] if checked else check(events, now)
    if violations:
        raise EventError(violations)
    done = _Round()
    contacts = lock_contacts(session, {e.contact_id for e in events})
    unknown = sorted({e.contact_id for e in events} - contacts.keys())
    if unknown:
        raise EventError(f"There is no contact with id {unknown[0]}.")
    fresh = drop_duplicates(session, events)
    done.duplicates = len(events) - len(fresh)
    if not fresh:
        return done
    rows: list[dict[str, Any]] = [
        {"contact_id": e.contact_id, "type": e.type, "properties": dict(e.properties),
         "occurred_at": e.occurred_at or now, "recorded_at": now, "source": e.source,
         "dedupe_key": e.dedupe_key, "client_id": e.client_id} for e in fresh]
    done.event_ids = insert_returning(session, Event, rows)  # the bulk path: imports
    changed = apply_effects(session, contacts, rows, lifecycle)
    recorded = tuple(RecordedEvent(event_id, r["contact_id"], r["type"], r["properties"],
                                   r["occurred_at"], r["source"])
                     for event_id, r in zip(done.event_ids, rows, strict=True))
    for subscriber in subscribers:
        batch = RecordedBatch(recorded, contacts, frozenset(changed), now)
        reaction = subscriber(session, batch)
        changed |= reaction.changed
        done.follow_ups += reaction.events
        for kind, ids in reaction.due.items():
            done.due.setdefault(kind, []).extend(ids)
    return done


def drop_duplicates(session: Session, events: Sequence[NewEvent]) -> list[NewEvent]:
    keys = [e.dedupe_key for e in events if e.dedupe_key]
    seen: set[str] = set()
    if keys:
        seen = set(session.scalars(select(Event.dedupe_key).where(Event.dedupe_key.in_(keys))))
    fresh = []
    for item in events:
        if item.dedupe_key:
            if item.dedupe_key in seen:
                continue
            seen.add(item.dedupe_key)
        fresh.append(item)
    return fresh


def apply_effects(session: Session, contacts: dict[int, Contact],
                   rows: list[dict[str, Any]], lifecycle: Lifecycle | None) -> set[int]:
    changed: set[int] = set()
    history = []
    for row in sorted(rows, key=lambda r: r["occurred_at"]):
        contact = contacts[row["contact_id"]]
        change = effects(contact.stage, row["type"], row["properties"], row["occurred_at"],
                         lifecycle or Lifecycle())
        if not change:
            continue
        changed.add(contact.id)
        for name, value in change.fields.items():
            setattr(contact, name, value)
        if change.attributes:
            contact.attributes = merge_attributes(contact.attributes or {}, change.attributes)
        if change.stage:
            history.append({"contact_id": contact.id, "from_stage": contact.stage,
                            "to_stage": change.stage, "at": row["occurred_at"],
                            "cause": f"event {row['type']}"})
            contact.stage = change.stage
    if history:
        session.execute(insert(StageChange), history)
    return changed
