"""Journey services: publish versions, enter contacts, react to events, advance batches."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Row, insert, select
from sqlalchemy.orm import Session

from journeys import entry, pausing
from journeys.conditions import history_types
from journeys.definition import ConditionTrigger, DateTrigger, EventTrigger, Journey, WaitFor
from journeys.engine import State, advance
from journeys.errors import NotValid, StaleBase
from journeys.facts import Facts
from journeys.loader import Loaded
from journeys.models import ACTIVE, Activity, Enrollment, JourneyVersion
from journeys.repository import VersionCache, checksum, load_facts, lock_contact_rows
from journeys.schedule import Pacing
from journeys.writer import Batch
from nurture.contacts.models import Contact
from nurture.db import one_of


@dataclass(frozen=True)
class Published:
    journey_id: str
    version: int
    created: bool  # False when the file was unchanged since the newest version


def publish(session: Session, loaded: Loaded, based_on: int | None = None,
            by: str | None = None, note: str | None = None) -> Published:
    """Store a validated journey as a new immutable version, unless nothing changed.

    `based_on` is the version the editor started from (0: a new journey): if another has
    been published since, nothing is stored and `StaleBase` names both, so that neither
    edit silently undoes the other. A file that does not say (None, as the shipped files
    are published) is judged by its content: a copy of an older version, or any change
    over a version published in the console, is stale too."""
    if loaded.journey is None:
        raise NotValid(f"{loaded.file} is not valid and cannot be published: "
                       f"{loaded.violations[0] if loaded.violations else 'it is empty'}.")
    journey = loaded.journey
    digest = checksum(loaded.source)
    newest = session.execute(
        select(JourneyVersion.version, JourneyVersion.checksum, JourneyVersion.published_by)
        .where(JourneyVersion.journey_id == journey.id)
        .order_by(JourneyVersion.version.desc()).limit(1).with_for_update()
    ).first()
    if newest is not None and newest.checksum == digest:
        return Published(journey.id, newest.version, False)
    if based_on is None and newest is not None:
        based_on = _implicit_base(session, journey.id, digest, newest.published_by,
                                  newest.version)
    elif based_on is not None and based_on != (newest.version if newest else 0):
        raise StaleBase(journey.id, based_on, newest.version if newest else 0)
    version = (newest.version if newest else 0) + 1
    session.add(JourneyVersion(journey_id=journey.id, version=version, name=journey.name,
                               checksum=digest, source=loaded.source, published_by=by,
                               note=note or None, based_on=based_on))
    session.flush()
    return Published(journey.id, version, True)


def _implicit_base(session: Session, journey_id: str, digest: str, newest_by: str | None,
                   newest: int) -> int | None:
    """The version a file that names none was edited from, or `StaleBase`: a file equal to
    an older version is that version, stale; a changed file over a version published in
    the console would undo it (the file cannot have it)."""
    older = session.scalar(
        select(JourneyVersion.version).where(JourneyVersion.journey_id == journey_id,
                                             JourneyVersion.checksum == digest)
        .order_by(JourneyVersion.version.desc()).limit(1))
    if older is not None:
        raise StaleBase(journey_id, older, newest)
    if newest_by is not None:
        raise StaleBase(journey_id, None, newest, by=newest_by)
    return None


def all_history_types(journeys: Iterable[Journey]) -> frozenset[str]:
    types: set[str] = set()
    for journey in journeys:
        types |= history_types(journey)
    return frozenset(types)


class Entries:
    """Decides and writes new enrollments for contacts that changed or had events."""

    def __init__(self, session: Session, live: dict[int, Journey], now: datetime):
        self.session, self.live, self.now = session, live, now
        self.by_journey = {j.id: vid for vid, j in live.items()}
        # Looked up once per batch, not per event: the journeys each event type can start,
        # and those a change of the contact can (each list in the live journeys' order).
        self.by_event: dict[str, list[Journey]] = defaultdict(list)
        for journey in live.values():
            if isinstance(journey.trigger, EventTrigger):
                self.by_event[journey.trigger.event].append(journey)
        self.on_changes = [j for j in live.values()
                           if isinstance(j.trigger, (ConditionTrigger, DateTrigger))]
        self._history: dict[tuple[int, str], list[entry.PastEnrollment]] = defaultdict(list)
        self._pending: dict[tuple[int, str], Enrollment] = {}
        self.created: list[Enrollment] = []

    def load_history(self, contact_ids: Iterable[int]) -> None:
        rows = self.session.execute(
            select(Enrollment).where(one_of(self.session, Enrollment.contact_id,
                                            list(set(contact_ids))))
        ).scalars()
        for row in rows:
            active = row.status in ACTIVE
            self._history[(row.contact_id, row.journey_id)].append(
                entry.PastEnrollment(row.entered_at, active))
            if active and row.step_id is None:
                self._pending[(row.contact_id, row.journey_id)] = row

    def _may_enter(self, journey: Journey, contact_id: int, concurrent: bool) -> bool:
        history = self._history[(contact_id, journey.id)]
        if not concurrent and any(p.active for p in history):
            return False
        return entry.may_reenter(journey, history, self.now)

    def _enroll(self, journey: Journey, contact_id: int, start: datetime) -> None:
        row = Enrollment(contact_id=contact_id, journey_id=journey.id,
                         journey_version_id=self.by_journey[journey.id], status="active",
                         state={}, entered_at=self.now, next_run_at=start)
        self.session.add(row)
        self.created.append(row)
        self._history[(contact_id, journey.id)].append(entry.PastEnrollment(self.now, True))

    def on_event(self, facts: Facts, event_type: str, properties: dict) -> None:
        for journey in self.by_event.get(event_type, ()):
            if entry.event_triggers(journey, event_type, properties, facts, self.now) and \
                    self._may_enter(journey, facts.contact.id, journey.reentry.mode == "always"):
                self._enroll(journey, facts.contact.id, self.now)

    def on_change(self, facts: Facts) -> None:
        """Condition and date triggers, re-checked whenever a contact changed."""
        for journey in self.on_changes:
            if isinstance(journey.trigger, ConditionTrigger):
                if entry.condition_holds(journey, facts, self.now) and \
                        self._may_enter(journey, facts.contact.id, False):
                    self._enroll(journey, facts.contact.id, self.now)
            elif isinstance(journey.trigger, DateTrigger):
                self._date_entry(journey, facts)

    def on_segment(self, journey: Journey, contact_id: int) -> None:
        """The contact entered (or left) the segment the journey is triggered by."""
        if self._may_enter(journey, contact_id, False):
            self._enroll(journey, contact_id, self.now)

    def _date_entry(self, journey: Journey, facts: Facts) -> None:
        due = entry.date_due(journey, facts)
        pending = self._pending.get((facts.contact.id, journey.id))
        if pending is not None:
            # Not started yet: follow the date if it moved (e.g. a renewed commitment).
            if due is not None and pending.next_run_at != due:
                pending.next_run_at = due
            return
        if due is not None and self._may_enter(journey, facts.contact.id, False):
            self._enroll(journey, facts.contact.id, max(due, self.now))

    def flush(self) -> list[int]:
        """Write the new enrollments; returns the ids due now (to kick at once)."""
        if not self.created:
            return []
        self.session.flush()
        self.session.execute(insert(Activity), [
            {"enrollment_id": r.id, "contact_id": r.contact_id,
             "journey_version_id": r.journey_version_id, "step_id": None, "kind": "enrolled",
             "reason": None, "at": self.now} for r in self.created
        ])
        due = [r.id for r in self.created if r.next_run_at and r.next_run_at <= self.now]
        self.created = []
        return due


def backfill(session: Session, cache: VersionCache, journey_id: str, now: datetime,
             chunk: int = 1000) -> int:
    """Enter existing contacts into a newly published condition- or date-triggered journey."""
    live = {vid: j for vid, j in cache.live(session).items() if j.id == journey_id}
    if not live or not isinstance(next(iter(live.values())).trigger,
                                  ConditionTrigger | DateTrigger):
        return 0
    types = all_history_types(live.values())
    entered, last_id = 0, 0
    while True:
        ids = session.scalars(select(Contact.id).where(Contact.id > last_id)
                              .order_by(Contact.id).limit(chunk)).all()
        if not ids:
            return entered
        last_id = ids[-1]
        contacts = {c.id: c for c in session.scalars(select(Contact).where(Contact.id.in_(ids)))}
        facts = load_facts(session, contacts, types, now, Pacing().window)
        entries = Entries(session, live, now)
        entries.load_history(ids)
        for item in facts.values():
            entries.on_change(item)
        entered += len(entries.created)
        entries.flush()


def react_to_events(session: Session, cache: VersionCache, facts: dict[int, Facts],
                    events: list[tuple[int, str, dict]], now: datetime) -> list[int]:
    """Exit goals end enrollments and wait_for steps wake, at once. Returns ids to kick."""
    rows = session.scalars(
        select(Enrollment).where(one_of(session, Enrollment.contact_id, list(facts)),
                                 Enrollment.status.in_(ACTIVE))
    ).all()
    if not rows:
        return []
    journeys = cache.get(session, {r.journey_version_id for r in rows})
    by_contact: dict[int, list[tuple[str, dict]]] = defaultdict(list)
    for contact_id, type_, properties in events:
        by_contact[contact_id].append((type_, properties))
    kick, batch = [], Batch(now)
    for row in rows:
        journey = journeys[row.journey_version_id]
        for type_, properties in by_contact[row.contact_id]:
            if entry.goal_reached(journey, type_, properties, facts[row.contact_id], now):
                batch.activity(row, "exited", row.step_id, f"goal:{type_}")
                batch.enrollment_updates.append({
                    "id": row.id, "status": "exited", "exit_reason": f"goal:{type_}",
                    "ended_at": now, "next_run_at": None, "lease_until": None})
                break
            step = journey.step_map.get(row.step_id or "")
            if isinstance(step, WaitFor) and step.event == type_:
                batch.enrollment_updates.append({"id": row.id, "next_run_at": now})
                kick.append(row.id)
                break
    batch.write(session)
    return kick


# What advancing reads of an enrollment: a column left out is a value not converted.
_DUE_FIELDS = [Enrollment.__table__.c[name] for name in (
    "id", "contact_id", "journey_id", "journey_version_id", "state", "step_id", "next_run_at")]


def due_rows(session: Session, ids: list[int], now: datetime) -> list[Row]:
    """The enrollments among `ids` that are still due, as Core rows (they are only read
    here; their updates are written in bulk), locked and skipped if another worker has them
    on PostgreSQL. Looked up by primary key only: a planner that prefers the due-time index
    here would scan every due row for each batch."""
    query = (select(*_DUE_FIELDS).where(one_of(session, Enrollment.id, ids))
             .order_by(Enrollment.id))
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    return [row for row in session.execute(query)
            if row.next_run_at is not None and row.next_run_at <= now]


def advance_batch(session: Session, cache: VersionCache, ids: list[int], now: datetime,
                  pacing: Pacing, lease_until: datetime | None = None) -> Batch:
    """Advance every due enrollment among `ids` in one transaction. Not-due ids are skipped,
    so a message processed twice changes nothing the second time. New sends are created
    leased until `lease_until`, for a caller that delivers them at once.

    Locks go contacts first, then their enrollments: the order recording an event takes
    them in. Locking the enrollments first deadlocked with an event for the same contact."""
    batch = Batch(now, lease_until)
    contacts = lock_contact_rows(session, select(Enrollment.contact_id).where(
        one_of(session, Enrollment.id, ids), Enrollment.next_run_at <= now))
    # A row made due since that read was woken by whoever made it due, who runs it.
    rows = [r for r in due_rows(session, ids, now) if r.contact_id in contacts]
    if rows and (paused := pausing.paused_journeys(session)):
        # Contacts in a paused journey stay where they are (journeys/pausing.py).
        pausing.hold_rows(session, [r for r in rows if r.journey_id in paused])
        rows = [r for r in rows if r.journey_id not in paused]
    if not rows:
        return batch
    journeys = cache.get(session, {r.journey_version_id for r in rows})
    facts = load_facts(session, contacts, all_history_types(journeys.values()), now,
                       pacing.window)
    for row in rows:
        result = advance(journeys[row.journey_version_id], State.from_json(row.state),
                         facts[row.contact_id], now, pacing)
        batch.apply(row, contacts[row.contact_id], result)
    batch.write(session)
    return batch
