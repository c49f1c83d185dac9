"""Recording events from the outside (CLI, web API): resolve the contact, record, kick."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from nurture.contacts.models import Contact
from nurture.contacts.services import email_key
from nurture.db import one_of
from nurture.events.bus import NewEvent
from nurture.events.errors import EventError
from nurture.events.models import Event
from nurture.events.recorder import check
from nurture.text import text_problem
from nurture.unit_of_work import Works
from nurture.violations import Violation


def record_many(works: Works, events: list[NewEvent]) -> list[int]:
    """Record events in one transaction and wake whatever they set due."""
    now = works.now()
    with works.work(now) as work:
        result = work.record(events)
    return result.event_ids


def record_for_email(works: Works, email: str, event_type: str,
                     properties: Mapping[str, Any] | None = None, source: str = "api",
                     occurred_at: datetime | None = None) -> int:
    if (problem := text_problem(email)) is not None:
        raise EventError([Violation("email", problem)])
    with works.sessions() as session:
        contact_id = session.scalar(select(Contact.id).where(Contact.email_key == email_key(email)))
    if contact_id is None:
        raise EventError(f"There is no contact with the email address {email}.")
    ids = record_many(works, [NewEvent(contact_id, event_type, dict(properties or {}),
                                    occurred_at, source=source)])
    return ids[0] if ids else 0


@dataclass(frozen=True)
class Incoming:
    """One event from an API client: its contact by email address or by id, and the
    client's own id for it (optional), which makes sending it again harmless."""

    type: str
    properties: Mapping[str, Any] = field(default_factory=dict)
    occurred_at: datetime | None = None
    email: str | None = None
    contact_id: int | None = None
    client_id: str | None = None


@dataclass(frozen=True)
class Taken:
    """What became of one incoming event: our id for it, and whether it had been recorded
    before (its client id was known: nothing was recorded this time)."""

    id: int
    client_id: str | None
    duplicate: bool


def record_incoming(works: Works, items: Sequence[Incoming], source: str = "api",
                    batch: bool = True) -> list[Taken]:
    """Record a client's events in one transaction, all or nothing. Every item is checked
    first; any violation refuses the whole batch, each named by its place (`events[3].type`;
    just `type` when `batch` is false). An item whose client id is known (recorded before,
    or earlier in this batch) records nothing and is answered with the first event's id.
    Two requests racing with the same new client id: the loser's insert breaks the unique
    index, its transaction rolls back, and its second try finds the winner's event."""
    try:
        return _record_incoming(works, items, source, batch)
    except IntegrityError:
        return _record_incoming(works, items, source, batch)


def _record_incoming(works: Works, items: Sequence[Incoming], source: str,
                     batch: bool) -> list[Taken]:
    now = works.now()
    with works.work(now) as work:
        contacts, found = _contacts(work.session, items)
        events = [NewEvent(contacts.get(i, 0), item.type, item.properties, item.occurred_at,
                           source=source, client_id=item.client_id)
                  for i, item in enumerate(items)]
        checked = check(events, now)
        found += checked if len(events) > 1 else [
            Violation(f"events[0].{v.field}", v.message) for v in checked]
        known, conflicts = _known(work.session, events)
        found += conflicts
        if found:
            found.sort(key=lambda v: _place(v.field))
            raise EventError(found if batch else [
                Violation(v.field.removeprefix("events[0]."), v.message) for v in found])
        ids = iter(work.record([e for i, e in enumerate(events) if i not in known],
                               checked=True).event_ids)
        taken: list[Taken] = []
        first: dict[str | None, int] = {}
        for i, event in enumerate(events):
            if i in known:
                taken.append(Taken(known[i] or first[event.client_id], event.client_id, True))
                continue
            taken.append(Taken(next(ids), event.client_id, False))
            first[event.client_id] = taken[-1].id
    return taken


def _place(path: str) -> int:
    """The item a violation's path names (`events[3].type`: 3), to list them in order."""
    head = path.removeprefix("events[").split("]", 1)[0]
    return int(head) if head.isdigit() else -1


def _contacts(session: Session, items: Sequence[Incoming]
              ) -> tuple[dict[int, int], list[Violation]]:
    """Each item's contact id (by its index), and the items whose contact is unknown, as
    the old endpoint answers one: a refusal (an unknown address is not a new contact)."""
    found: list[Violation] = []
    keys: dict[int, str] = {}
    given: dict[int, int] = {}
    for i, item in enumerate(items):
        if item.email is not None and item.contact_id is not None:
            found.append(Violation(f"events[{i}].email", "Give the contact's email address "
                                   "or its id, not both."))
        elif item.email is not None:
            if (problem := text_problem(item.email)) is not None:
                found.append(Violation(f"events[{i}].email", problem))
            else:
                keys[i] = email_key(item.email)
        elif item.contact_id is not None:
            given[i] = item.contact_id
        else:
            found.append(Violation(f"events[{i}].email", "Give the contact's email address "
                                   "(email) or its id (contact_id)."))
    by_key = {key: cid for key, cid in session.execute(select(Contact.email_key, Contact.id)
              .where(one_of(session, Contact.email_key, set(keys.values()))))} if keys else {}
    existing = set(session.scalars(select(Contact.id).where(
        one_of(session, Contact.id, set(given.values()))))) if given else set()
    contacts: dict[int, int] = {}
    for i, key in keys.items():
        if key in by_key:
            contacts[i] = by_key[key]
        else:
            found.append(Violation(f"events[{i}].email", "There is no contact with the "
                                   f"email address {items[i].email}."))
    for i, contact_id in given.items():
        if contact_id in existing:
            contacts[i] = contact_id
        else:
            found.append(Violation(f"events[{i}].contact_id",
                                   f"There is no contact with id {contact_id}."))
    return contacts, found


def _known(session: Session, events: Sequence[NewEvent]
           ) -> tuple[dict[int, int | None], list[Violation]]:
    """The items whose client id is known: by index, the recorded event's id (None when
    the first is earlier in this batch). A known id sent for another contact or type is
    not a retry but a clash of two clients' ids: a violation, so nothing is lost quietly."""
    wanted = {e.client_id for e in events if e.client_id}
    stored = {row.client_id: row for row in session.execute(
        select(Event.client_id, Event.id, Event.contact_id, Event.type)
        .where(one_of(session, Event.client_id, wanted)))} if wanted else {}
    seen: dict[str, tuple[int, str]] = {cid: (r.contact_id, r.type) for cid, r in stored.items()}
    known: dict[int, int | None] = {}
    clashes = []
    for i, event in enumerate(events):
        if not event.client_id:
            continue
        first = seen.get(event.client_id)
        if first is None:
            seen[event.client_id] = (event.contact_id, event.type)
            continue
        if first != (event.contact_id, event.type):
            clashes.append(Violation(f"events[{i}].id", f"The event id {event.client_id!r} "
                                     "was already given to an event of another contact or "
                                     "type; event ids must be unique across all your "
                                     "systems (prefix them with the system's name)."))
            continue
        row = stored.get(event.client_id)
        known[i] = row.id if row is not None else None
    return known, clashes
