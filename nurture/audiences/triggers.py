"""Journeys triggered by a segment: who entered and who left, found by SQL.

A segment named by a live journey's `entry: {segment: NAME, on: enter|leave}` is watched:
`segment_members` holds who was in it when last looked at. The difference between that
and the segment now is who entered and who left; the journeys on `enter` or `leave` take
them in. It is looked at for the contacts of each batch of recorded events (the
subscriber) and, for everyone, by a periodic sweep (the scheduler): what time alone
changes (a count over the last 30 days) or what records no event (a list) is caught there.
The first look at a segment records who is in it without calling that entering: publishing
a journey on a segment of 100,000 contacts does not start 100,000 journeys.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from journeys.definition import Journey, SegmentTrigger
from journeys.repository import VersionCache
from journeys.services import Entries
from journeys.subscriber import ADVANCE
from nurture.audiences import services
from nurture.audiences.errors import SegmentInvalid
from nurture.audiences.models import Segment, SegmentMember
from nurture.contacts.models import Contact
from nurture.db import Database, one_of
from nurture.events.bus import CreatedBatch, Reaction, RecordedBatch

log = logging.getLogger(__name__)
CHUNK = 5000  # members per statement (SQLite's limit on parameters: 3 per row)


def watched(live: dict[int, Journey]) -> dict[str, list[Journey]]:
    """The live journeys triggered by a segment, by the segment's name."""
    found: dict[str, list[Journey]] = defaultdict(list)
    for journey in live.values():
        if isinstance(journey.trigger, SegmentTrigger):
            found[journey.trigger.segment].append(journey)
    return found


def sweep(session: Session, versions: VersionCache, now: datetime,
          contact_ids: Collection[int] | None = None) -> list[int]:
    """Bring the watched segments' members up to date (for these contacts only, or for
    everyone) and enter the journeys; returns the new enrollments due now."""
    live = versions.live(session)
    journeys = watched(live)
    if not journeys:
        return []
    entries = Entries(session, live, now)
    changes: list[tuple[list[Journey], list[int], list[int]]] = []
    for name, triggered in journeys.items():
        segment = session.scalar(select(Segment).where(Segment.name == name))
        if segment is None or (segment.members_at is None and contact_ids is not None):
            continue  # not saved yet, or not looked at as a whole yet: the sweep will
        try:
            entered, left = _differences(session, segment, now, contact_ids)
        except SegmentInvalid as exc:
            log.warning("segment %r cannot be counted: %s", name, exc)
            continue
        if segment.members_at is None:
            segment.members_at = now  # the baseline: nobody "entered"
            continue
        if contact_ids is None:
            segment.members_at = now
        changes.append((triggered, entered, left))
    moved = {c for _, entered, left in changes for c in (*entered, *left)}
    if not moved:
        return []
    entries.load_history(moved)
    audience = _audience(session, moved)
    for triggered, entered, left in changes:
        for journey in triggered:
            assert isinstance(journey.trigger, SegmentTrigger)
            for contact_id in entered if journey.trigger.on == "enter" else left:
                if _in_audience(journey, audience[contact_id]):
                    entries.on_segment(journey, contact_id)
    return entries.flush()


def _differences(session: Session, segment: Segment, now: datetime,
                 contact_ids: Collection[int] | None) -> tuple[list[int], list[int]]:
    """Who is in the segment now but not among its members, and the other way round; the
    members table is brought up to date."""
    inside = services.matching(session, segment.condition, now)
    members = select(SegmentMember.contact_id).where(SegmentMember.segment_id == segment.id)
    entering = inside.where(Contact.id.not_in(members))
    leaving = members.where(SegmentMember.contact_id.not_in(inside))
    if contact_ids is not None:
        entering = entering.where(one_of(session, Contact.id, list(contact_ids)))
        leaving = leaving.where(one_of(session, SegmentMember.contact_id, list(contact_ids)))
    # Written first and answered by what was written: of two sweeps at once, the one whose
    # row it is takes the contact in, the other finds it done.
    module = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    entered: list[int] = []
    candidates = list(session.scalars(entering))
    for at in range(0, len(candidates), CHUNK):
        rows = [{"segment_id": segment.id, "contact_id": c, "since": now}
                for c in candidates[at:at + CHUNK]]
        entered += session.scalars(
            module.insert(SegmentMember).values(rows).on_conflict_do_nothing(
                index_elements=["segment_id", "contact_id"])
            .returning(SegmentMember.contact_id))
    left: list[int] = []
    going = list(session.scalars(leaving))
    for at in range(0, len(going), CHUNK):
        left += session.scalars(delete(SegmentMember).where(
            SegmentMember.segment_id == segment.id,
            SegmentMember.contact_id.in_(going[at:at + CHUNK]))
            .returning(SegmentMember.contact_id))
    return entered, left


@dataclass(frozen=True)
class _Who:
    stage: str
    industry: str


def _audience(session: Session, ids: Collection[int]) -> dict[int, _Who]:
    rows = session.execute(select(Contact.id, Contact.stage, Contact.industry)
                           .where(one_of(session, Contact.id, list(ids))))
    return {r.id: _Who(r.stage, r.industry or "") for r in rows}


def _in_audience(journey: Journey, who: _Who) -> bool:
    """The journey's stages and vertical, as `journeys.entry.in_audience` reads them."""
    if journey.stages and who.stage not in journey.stages:
        return False
    return not journey.vertical or who.industry.lower() == journey.vertical.lower()


@dataclass(frozen=True)
class SegmentSubscriber:
    """After the journeys' own subscriber: the contacts of the batch, looked at again in
    every watched segment."""

    versions: VersionCache

    def __call__(self, session: Session, batch: RecordedBatch) -> Reaction:
        reaction = Reaction()
        contacts = set(batch.contacts) | set(batch.changed)
        if contacts:
            reaction.make_due(ADVANCE, sweep(session, self.versions, batch.now, contacts))
        return reaction

    def on_created(self, session: Session, batch: CreatedBatch) -> Reaction:
        """New contacts (the bulk path): the same look, by SQL, with no row loaded."""
        reaction = Reaction()
        contacts = set(batch.fields) | set(batch.changed)
        if contacts:
            reaction.make_due(ADVANCE, sweep(session, self.versions, batch.now, contacts))
        return reaction


def run_segment_jobs(db: Database, versions: VersionCache, now: datetime) -> dict[str, int]:
    """The periodic sweep over everyone (the scheduler runs it with its other jobs)."""
    with db.transaction() as session:
        return {"segment_entries": len(sweep(session, versions, now))}
