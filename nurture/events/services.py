"""Recording events: the one way the outside world moves a contact.

One transaction per batch: insert the events in bulk, apply their effects (stage and
attributes), end journeys whose goals were reached, wake `wait_for` steps, and enter
contacts into journeys whose triggers fired. Woken and new enrollments are returned as due
now, for the caller's unit of work (`nurture.unit_of_work`) to hand on after the commit.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from journeys.facts import EventRecord
from journeys.repository import VersionCache, load_facts, lock_contacts
from journeys.services import Entries, all_history_types, react_to_events
from nurture.contacts.language import problem as language_problem
from nurture.contacts.language import standard_tag
from nurture.contacts.models import Contact, StageChange
from nurture.events.catalog import is_known
from nurture.events.effects import Lifecycle, effects, merge_attributes
from nurture.events.errors import EventError
from nurture.events.models import Event
from nurture.events.schemas import property_violations
from nurture.text import MAX_DEPTH, depth, text_problem, value_problems
from nurture.violations import Violation, moment_problem

MAX_FUTURE = timedelta(minutes=5)


@dataclass(frozen=True)
class NewEvent:
    contact_id: int
    type: str
    properties: Mapping[str, Any] = field(default_factory=dict)
    occurred_at: datetime | None = None
    source: str = "api"
    dedupe_key: str | None = None


@dataclass
class Recorded:
    event_ids: list[int] = field(default_factory=list)
    duplicates: int = 0
    kick: list[int] = field(default_factory=list)  # enrollments due now


MAX_TYPE = 80  # the column's length
MAX_PROPERTIES = 32_000  # characters of JSON: a page's URL or an NPS reason fits many times


def check(events: Sequence[NewEvent], now: datetime) -> list[Violation]:
    """Every violation in a batch, each with its field's path (`events[1].type` in a batch
    of several). Every caller gets these rules: the API, the CLI and code."""
    if len(events) == 1:
        return _violations(events[0], now)
    return [Violation(f"events[{index}].{v.field}", v.message)
            for index, item in enumerate(events) for v in _violations(item, now)]


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


def record_events(session: Session, cache: VersionCache, events: Sequence[NewEvent],
                  now: datetime, lifecycle: Lifecycle | None = None) -> Recorded:
    """Record a batch of events and everything they set in motion, in the caller's
    transaction. Raises EventError, before writing anything, for any bad event."""
    violations = check(events, now)
    if violations:
        raise EventError(violations)
    result = Recorded()
    contacts = lock_contacts(session, {e.contact_id for e in events})
    unknown = sorted({e.contact_id for e in events} - contacts.keys())
    if unknown:
        raise EventError(f"There is no contact with id {unknown[0]}.")
    fresh = _drop_duplicates(session, events)
    result.duplicates = len(events) - len(fresh)
    if not fresh:
        return result
    rows = [{"contact_id": e.contact_id, "type": e.type, "properties": dict(e.properties),
             "occurred_at": e.occurred_at or now, "recorded_at": now, "source": e.source,
             "dedupe_key": e.dedupe_key} for e in fresh]
    statement = insert(Event).returning(Event.id, sort_by_parameter_order=True)
    result.event_ids = list(session.scalars(statement, rows))
    live = cache.live(session)
    facts = load_facts(session, contacts, all_history_types(live.values()), now,
                       timedelta(days=7))
    changed = _apply_effects(session, contacts, rows, lifecycle)
    from scoring.pipeline import hand_off, score_recorded  # scoring builds on events

    scored, setup = score_recorded(session, contacts, rows, result.event_ids, changed, now)
    changed |= scored.scores.keys()  # a new score can start a journey (`score >= 50`)
    from referral.pipeline import on_recorded  # referrals build on events: ties, rewards

    referred = on_recorded(session, contacts, rows, result.event_ids, now)
    changed |= referred.changed  # a new referral code is kept in the contact's attributes
    for row in rows:  # keep facts current: later events in the batch see earlier ones
        facts[row["contact_id"]].events.append(
            EventRecord(row["type"], row["occurred_at"], row["properties"]))
    for contact_id in changed:
        contact = contacts[contact_id]
        facts[contact_id].contact.stage = contact.stage
        facts[contact_id].contact.score = contact.score
        facts[contact_id].contact.attributes = dict(contact.attributes or {})
    triples = [(r["contact_id"], r["type"], r["properties"]) for r in rows]
    result.kick += react_to_events(session, cache, facts, triples, now)
    entries = Entries(session, live, now)
    entries.load_history(contacts)
    for contact_id, type_, properties in triples:
        entries.on_event(facts[contact_id], type_, properties)
    for contact_id in changed:
        entries.on_change(facts[contact_id])
    result.kick += entries.flush()
    # Leads that reached the hand-off point: the hand-off's own `sales.handoff` events go
    # through the pipeline too (a lead with an open hand-off is never handed off again).
    handed = hand_off(session, setup, scored.handoffs, now)
    if handed.events or referred.events:  # and a conversion's `referral.converted`
        result.kick += record_events(session, cache, handed.events + referred.events, now,
                                     lifecycle).kick
    return result


def _drop_duplicates(session: Session, events: Sequence[NewEvent]) -> list[NewEvent]:
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


def _apply_effects(session: Session, contacts: dict[int, Contact],
                   rows: list[dict[str, Any]], lifecycle: Lifecycle) -> set[int]:
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
