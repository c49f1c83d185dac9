"""What the console reads about journeys, in one read session: each published journey's
newest version and where its contacts are. (`journeys.repository` serves the engine.)"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from journeys.models import Activity, ActivityRollup, Enrollment, JourneyVersion
from nurture.db import Database


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
