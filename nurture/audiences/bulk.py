"""Bulk actions on contacts: a selection (ids ticked on the contact list) or a whole
segment, added to a list, enrolled in a journey, moved to a stage, or erased.

Two steps, so that nobody changes 100,000 contacts by surprise: `plan` counts who the
action touches and signs what was counted (the action, its value, the segment or the ids'
digest, the count) into a token; `run` takes that token back, counts again, and refuses
when the selection changed in between (a segment that grew, another tab's ticks). Then the
work goes in batches of `BATCH` contacts, one transaction and a few set statements each:
never one transaction per contact, never one transaction for a whole segment.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Table, insert, literal, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from journeys.definition import Journey
from journeys.repository import VersionCache
from journeys.services import Entries
from journeys.subscriber import ADVANCE
from nurture.audiences import services
from nurture.audiences.errors import SegmentInvalid
from nurture.contacts import audit, lists, privacy
from nurture.contacts.editing import DEPARTED, stage_problem
from nurture.contacts.models import Contact, ListMember, StageChange
from nurture.db import one_of
from nurture.errors import Conflict, Invalid
from nurture.events.bus import NewEvent
from nurture.tokens import TokenError, Tokens
from nurture.unit_of_work import Works

ACTIONS = {"list": "Add to a list", "journey": "Enroll in a journey",
           "stage": "Set the stage", "erase": "Erase"}
BATCH = 1000  # contacts per transaction
MAX_IDS = 10_000  # ticked on pages of the list; a larger set is a segment


class BulkRefused(Invalid):
    """Raised when a bulk action, its value or its selection cannot be used."""


class SelectionChanged(Conflict):
    """Raised when the contacts selected are not those counted on the confirmation page."""


@dataclass(frozen=True)
class Selection:
    """Contacts by id, or every contact of a segment or of a list (by name)."""

    ids: tuple[int, ...] = ()
    segment: str = ""
    list_name: str = ""

    def describe(self) -> str:
        if self.segment:
            return f"the segment {self.segment}"
        return f"the list {self.list_name}" if self.list_name else "the contacts ticked"

    @property
    def named(self) -> list[str]:
        """What the confirmation signs besides the ids: the segment's and the list's name."""
        return [self.segment, self.list_name]


@dataclass(frozen=True)
class Plan:
    action: str
    value: str
    selection: Selection
    count: int
    token: str


@dataclass(frozen=True)
class Done:
    action: str
    value: str
    count: int  # contacts selected
    changed: int  # contacts the action changed (already on the list, in the journey: not)


def contacts_of(session: Session, selection: Selection, now: datetime) -> list[int]:
    """The ids selected, in order; BulkRefused when nothing can be selected."""
    if selection.segment:
        try:
            condition = services.find(session, selection.segment).condition
            return sorted(session.scalars(services.matching(session, condition, now)))
        except SegmentInvalid as exc:
            raise BulkRefused(f"The segment cannot be counted: {exc}") from None
    if selection.list_name:
        list_id = lists.find(session, selection.list_name)
        if list_id is None:
            raise BulkRefused(f"There is no list called {selection.list_name[:120]!r}.")
        return sorted(session.scalars(select(ListMember.contact_id)
                                      .where(ListMember.list_id == list_id)))
    if not selection.ids:
        raise BulkRefused("Tick at least one contact, or choose a segment or a list.")
    if len(selection.ids) > MAX_IDS:
        raise BulkRefused(f"Tick at most {MAX_IDS:,} contacts; for more, save them as a "
                          "segment and act on the segment.")
    return sorted(session.scalars(select(Contact.id).where(
        one_of(session, Contact.id, sorted(set(selection.ids))))))


def _digest(ids: Sequence[int]) -> str:
    return hashlib.sha256(",".join(map(str, ids)).encode()).hexdigest()[:32]


def check_value(session: Session, versions: VersionCache, action: str, value: str) -> str:
    """The action's value, checked; BulkRefused with a sentence otherwise."""
    value = value.strip()
    if action == "list":
        try:
            return lists.check_name(value)
        except Invalid as exc:
            raise BulkRefused(str(exc)) from None
    if action == "journey":
        if not any(j.id == value for j in versions.live(session).values()):
            raise BulkRefused(f"There is no live journey {value[:80]!r}; choose one listed.")
        return value
    if action == "stage":
        if (problem := stage_problem(value)) is not None:
            raise BulkRefused(problem)
        return value
    if action == "erase":
        return ""
    raise BulkRefused("Choose an action: add to a list, enroll in a journey, set the stage "
                      "or erase.")


def plan(works: Works, versions: VersionCache, tokens: Tokens, selection: Selection,
         action: str, value: str) -> Plan:
    """How many contacts the action touches, and the token that confirms exactly them."""
    now = works.now()
    with works.sessions() as session:
        value = check_value(session, versions, action, value)
        ids = contacts_of(session, selection, now)
    token = tokens.sign("bulk", [action, value, selection.named, _digest(ids), len(ids)])
    return Plan(action, value, selection, len(ids), token)


def run(works: Works, versions: VersionCache, tokens: Tokens, tables: Sequence[Table],
        selection: Selection, token: str, by: str) -> Done:
    """Do the action confirmed by `token` on the selection, in batches; SelectionChanged
    when the selection is not what was counted."""
    try:
        action, value, named, digest, count = tokens.load("bulk", token)
    except (TokenError, ValueError, TypeError):
        raise SelectionChanged("This confirmation has expired or was altered; choose the "
                               "contacts and the action again.") from None
    if named != selection.named:
        raise SelectionChanged("The selection is not the one confirmed; choose again.")
    now = works.now()
    with works.sessions() as session:
        value = check_value(session, versions, action, value)
        ids = contacts_of(session, selection, now)
    if _digest(ids) != digest:
        raise SelectionChanged(
            f"The selection changed since you confirmed it: it now holds {len(ids):,} "
            f"contact{'s' if len(ids) != 1 else ''}, not {count:,}, or other ones. Nothing "
            "was changed; look at the new count and confirm again.")
    changed = 0
    for start in range(0, len(ids), BATCH):
        chunk = ids[start:start + BATCH]
        with works.work(now) as work:
            changed += _act(work.session, work, versions, tables, action, value, chunk, by,
                            now)
    return Done(action, value, len(ids), changed)


def _act(session: Session, work: Any, versions: VersionCache, tables: Sequence[Table],
         action: str, value: str, ids: list[int], by: str, now: datetime) -> int:
    if action == "list":
        added = _add_to_list(session, lists.ensure(session, value, now, by=by), ids,
                             f"bulk:{by}"[:120], now)
        audit.record(session, [audit.Change(c, "list", None, value) for c in added],
                     f"{by} (bulk)", now)
        return len(added)
    if action == "journey":
        live = versions.live(session)
        journey = next(j for j in live.values() if j.id == value)
        entries = Entries(session, live, now)
        entries.load_history(ids)
        for contact_id in _in_audience(session, journey, ids):
            entries.on_segment(journey, contact_id)
        entered = [row.contact_id for row in entries.created]
        work.due(ADVANCE, entries.flush())
        audit.record(session, [audit.Change(c, "journey", None, value) for c in entered],
                     f"{by} (bulk)", now)
        return len(entered)
    if action == "stage":
        return _set_stage(session, work, ids, value, by, now)
    return privacy.erase(session, tables, ids, f"erased by {by}"[:60], now)


def _add_to_list(session: Session, list_id: int, ids: list[int], source: str,
                 now: datetime) -> list[int]:
    """One INSERT ... SELECT for the batch (the rows are made by the database, not bound
    one parameter each); those on the list already stay as they were. The ids added."""
    columns = ListMember.__table__.c
    rows = select(literal(list_id, columns.list_id.type), Contact.id,
                  literal(now, columns.added_at.type), literal(source, columns.source.type)
                  ).where(one_of(session, Contact.id, ids))
    module = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    statement = module.insert(ListMember).from_select(
        ["list_id", "contact_id", "added_at", "source"], rows).on_conflict_do_nothing(
        index_elements=["list_id", "contact_id"]).returning(ListMember.contact_id)
    return list(session.scalars(statement))


def _in_audience(session: Session, journey: Journey, ids: list[int]) -> list[int]:
    """The contacts the journey is written for (its stages and vertical, when it names
    them), as its own triggers would take them."""
    rows = session.execute(select(Contact.id, Contact.stage, Contact.industry)
                           .where(one_of(session, Contact.id, ids)).order_by(Contact.id))
    return [row.id for row in rows
            if (not journey.stages or row.stage in journey.stages)
            and (not journey.vertical or (row.industry or "").lower() == journey.vertical.lower())]


def _set_stage(session: Session, work: Any, ids: list[int], stage: str, by: str,
               now: datetime) -> int:
    """Move the batch to `stage` in set statements, with their history and audit rows;
    a departed customer stays departed (as on the contact page)."""
    moving = session.execute(select(Contact.id, Contact.stage).where(
        one_of(session, Contact.id, ids), Contact.stage != stage,
        Contact.stage != DEPARTED)).all()
    if not moving:
        return 0
    moved = [row.id for row in moving]
    session.execute(update(Contact).where(one_of(session, Contact.id, moved))
                    .values(stage=stage, updated_at=now)
                    .execution_options(synchronize_session=False))
    session.execute(insert(StageChange), [
        {"contact_id": row.id, "from_stage": row.stage, "to_stage": stage, "at": now,
         "cause": f"bulk action by {by}"} for row in moving])
    audit.record(session, [audit.Change(row.id, "stage", row.stage, stage) for row in moving],
                 f"{by} (bulk)", now)
    # What reacts to a changed contact (journeys on a condition, segments) looks again.
    work.record([NewEvent(cid, "contact.updated", {}, now, source="console")
                 for cid in moved])
    return len(moved)
