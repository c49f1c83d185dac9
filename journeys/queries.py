"""What the console reads about journeys, in one read session: each published journey's
newest version and where its contacts are; and the API's pages of journeys, versions and
enrollments (keyset pages, `nurture.paging`). (`journeys.repository` serves the engine.)"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from journeys.models import Activity, ActivityRollup, Enrollment, JourneyVersion
from nurture.contacts.models import Contact
from nurture.db import Database
from nurture.paging import Key, after, split


@dataclass(frozen=True)
class JourneyCounts:
    """A published journey, its newest version, and how many enrollments are in each
    status."""

    id: str
    name: str
    version: int
    active: int
    completed: int
    exited: int


@dataclass(frozen=True)
class Overview:
    journeys: list[JourneyCounts]
    deferred: int  # sends deferred by the frequency cap or quiet hours, ever


def overview(db: Database) -> Overview:
    """The journeys by id, with their counts, and the sends deferred so far."""
    with db.sessions() as session:
        versions = session.execute(
            select(JourneyVersion.journey_id, JourneyVersion.name,
                   func.max(JourneyVersion.version))
            .group_by(JourneyVersion.journey_id, JourneyVersion.name)
            .order_by(JourneyVersion.journey_id)).all()
        status = {(j, s): n for j, s, n in session.execute(
            select(Enrollment.journey_id, Enrollment.status, func.count())
            .group_by(Enrollment.journey_id, Enrollment.status))}
        deferred = session.scalar(select(func.count()).where(Activity.kind == "deferred"))
        deferred = (deferred or 0) + (session.scalar(  # pruned: journeys.retention
            select(func.sum(ActivityRollup.count)).where(ActivityRollup.kind == "deferred"))
            or 0)
    return Overview(
        journeys=[JourneyCounts(id=j, name=n, version=v,
                                active=status.get((j, "active"), 0),
                                completed=status.get((j, "completed"), 0),
                                exited=status.get((j, "exited"), 0)) for j, n, v in versions],
        deferred=deferred or 0)


def journey_ids(session: Session, last: Key | None, limit: int) -> tuple[list[str], Key | None]:
    """A page of published journeys' ids, in order (the id is the key)."""
    query = after(select(JourneyVersion.journey_id).distinct(), [JourneyVersion.journey_id],
                  last, limit)
    return split(list(session.scalars(query)), limit, lambda j: [j])


def versions(session: Session, journey_id: str, last: Key | None, limit: int
             ) -> tuple[list[JourneyVersion], Key | None]:
    """A page of the journey's versions, newest first."""
    query = after(select(JourneyVersion).where(JourneyVersion.journey_id == journey_id),
                  [JourneyVersion.version], last, limit, descending=True)
    return split(list(session.scalars(query)), limit, lambda v: [v.version])


@dataclass(frozen=True)
class Enrolled:
    """One enrollment as the API shows it."""

    id: int
    journey_id: str
    contact_id: int
    email: str
    version: int
    status: str
    step_id: str | None
    entered_at: datetime
    ended_at: datetime | None
    exit_reason: str | None
    next_run_at: datetime | None


def _enrolled() -> Any:
    return (select(Enrollment.id, Enrollment.journey_id, Enrollment.contact_id, Contact.email,
                   JourneyVersion.version, Enrollment.status, Enrollment.step_id,
                   Enrollment.entered_at, Enrollment.ended_at, Enrollment.exit_reason,
                   Enrollment.next_run_at)
            .join(Contact, Contact.id == Enrollment.contact_id)
            .join(JourneyVersion, JourneyVersion.id == Enrollment.journey_version_id))


def enrollments(session: Session, journey_id: str, statuses: tuple[str, ...] | None,
                last: Key | None, limit: int) -> tuple[list[Enrolled], Key | None]:
    """A page of the journey's enrollments, oldest first; only those in `statuses` if
    given (by the index on the journey's id)."""
    query = _enrolled().where(Enrollment.journey_id == journey_id)
    if statuses is not None:
        query = query.where(Enrollment.status.in_(statuses))
    rows = session.execute(after(query, [Enrollment.id], last, limit)).all()
    return split([Enrolled(*row) for row in rows], limit, lambda e: [e.id])


def latest_enrollment(session: Session, journey_id: str, contact_id: int) -> Enrolled | None:
    """The contact's latest enrollment in the journey, or None."""
    row = session.execute(_enrolled().where(
        Enrollment.journey_id == journey_id, Enrollment.contact_id == contact_id)
        .order_by(Enrollment.id.desc()).limit(1)).first()
    return Enrolled(*row) if row is not None else None
