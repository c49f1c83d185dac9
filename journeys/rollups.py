"""Rollups of large journeys' counts, so that a journey's console page answers at once
whatever its size.

A journey with at least ROLLUP_ABOVE enrollments has its page's counts (every step's,
every email's, the contacts pinned to each version, each split's arms) and the list's
(active, entered, converted, sends a day) measured by the scheduler's periodic round and
stored as one row; its pages read that row, saying when it was measured. A smaller journey
is counted at each view: exact, and cheap at that size. A rollup older than FRESH is not
read (the scheduler stopped): the page counts live again.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from journeys import report
from journeys.models import Enrollment, JourneyRollup, JourneyVersion
from journeys.repository import VersionCache

ROLLUP_ABOVE = 50_000  # enrollments
FRESH = timedelta(minutes=10)  # the scheduler measures every minute


def _to_json(figures: report.Figures, listed: dict[str, Any]) -> dict[str, Any]:
    return {"steps": {k: asdict(v) for k, v in figures.steps.items()},
            "emails": {k: asdict(v) for k, v in figures.emails.items()},
            "pinned": {str(k): v for k, v in figures.pinned.items()},
            "entered": figures.entered, "converted": figures.converted,
            "arms": {k: {g: list(c) for g, c in v.items()} for k, v in figures.arms.items()},
            "listed": listed}


def _from_json(data: dict[str, Any], at: datetime) -> report.Figures:
    return report.Figures(
        {k: report.StepCounts(**v) for k, v in data["steps"].items()},
        {k: report.EmailCounts(**v) for k, v in data["emails"].items()},
        {int(k): v for k, v in data["pinned"].items()}, data["entered"], data["converted"],
        {k: {g: (c[0], c[1]) for g, c in v.items()} for k, v in data["arms"].items()}, at)


def refresh(session: Session, cache: VersionCache, now: datetime) -> int:
    """Measure and store the rollup of every journey at least ROLLUP_ABOVE enrollments
    large (drop the others'). Returns how many were stored."""
    sizes = {j: n for j, n in session.execute(
        select(Enrollment.journey_id, func.count()).group_by(Enrollment.journey_id))}
    large = sorted(j for j, n in sizes.items() if n >= ROLLUP_ABOVE)
    session.execute(delete(JourneyRollup).where(JourneyRollup.journey_id.not_in(large)))
    if not large:
        return 0
    newest = report.newest_versions(session)
    sends = report.sends_per_day(session, large, now)
    for journey_id in large:
        if journey_id not in newest:
            continue
        versions = list(session.scalars(select(JourneyVersion.id)
                                        .where(JourneyVersion.journey_id == journey_id)))
        journey = cache.get(session, [newest[journey_id].id])[newest[journey_id].id]
        figures = report.figures(session, journey, journey_id, versions)
        active = sum(s.waiting for s in figures.steps.values())
        listed = {"active": active, "sends": [[d.isoformat(), n] for d, n in sends[journey_id]]}
        data = _to_json(figures, listed)
        row = session.get(JourneyRollup, journey_id)
        if row is None:
            session.add(JourneyRollup(journey_id=journey_id, figures=data, computed_at=now))
        else:
            row.figures, row.computed_at = data, now
    return len(large)


def read(session: Session, now: datetime, journey_ids: list[str] | None = None
         ) -> dict[str, tuple[report.Figures, dict[str, Any]]]:
    """The fresh rollups, by journey: their figures, and the list's (active and sends a
    day)."""
    query = select(JourneyRollup).where(JourneyRollup.computed_at >= now - FRESH)
    if journey_ids is not None:
        query = query.where(JourneyRollup.journey_id.in_(journey_ids))
    found = {}
    for row in session.scalars(query):
        listed = dict(row.figures["listed"])
        listed["sends"] = [(date.fromisoformat(d), n) for d, n in listed["sends"]]
        found[row.journey_id] = (_from_json(row.figures, row.computed_at), listed)
    return found
