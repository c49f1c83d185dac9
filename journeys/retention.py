"""Pruning the step-by-step activity of enrollments that finished long ago.

A finished enrollment is two things: one row in `enrollments` (who entered which journey
when, and how it ended) and its activity, a row per step entered, completed or deferred:
most of the journeys' rows. Past NURTURE_ENROLLMENT_RETENTION_DAYS (default 400) after an
enrollment completed or exited, its activity is deleted, counted first per version, step
and kind into `journey_activity_rollups`, in the same transaction, from the rows the DELETE
returns; the journey's page, the splits' arms and the deferral count add those counts.

The enrollment row stays. It is what re-entry reads (`journeys.entry.may_reenter`: a journey
entered `once` must see that the contact was in it, whenever that was; `after` needs the
last entry's time), and the exact source of the entered, converted and exit-reason counts
of the list and the page; it is one narrow row per entry. Deleting it would need a marker
per contact and journey in its place and a second rollup of the same counts: the same rows
by another name.

Never less than MIN_DAYS: a split is judged on the activity of its arms while its test runs.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from journeys.models import REACHED, REACHED_GOAL, Activity, ActivityRollup, Enrollment
from journeys.report import GOAL
from nurture.config import Settings
from nurture.sweeps import BATCH, MAX_BATCHES, add_counts, first_row, sweep
from nurture.unit_of_work import Works

FINISHED = ("completed", "exited")
MIN_DAYS = 90


def retention(settings: Settings) -> timedelta:
    return timedelta(days=max(settings.retention.enrollment_days, MIN_DAYS))


def prune_activity(session: Session, start: int, cutoff: datetime, batch: int = BATCH
                   ) -> tuple[int, int] | None:
    """Delete the activity of the enrollments among `batch` ids from the first at or after
    `start` that finished before `cutoff`, and count it into the rollups. (activity rows
    deleted, next start), or None past the cut-off."""
    first = first_row(session, Enrollment.id, Enrollment.entered_at, start)
    if first is None or first[1] >= cutoff:
        return None
    reasons = {id_: reason or "" for id_, reason in session.execute(
        select(Enrollment.id, Enrollment.exit_reason)
        .where(Enrollment.id >= first[0], Enrollment.id < first[0] + batch,
               Enrollment.status.in_(FINISHED), Enrollment.ended_at < cutoff))}
    if not reasons:
        return 0, first[0] + batch
    gone = session.execute(
        delete(Activity).where(Activity.enrollment_id.in_(list(reasons)))
        .returning(Activity.enrollment_id, Activity.journey_version_id, Activity.step_id,
                   Activity.kind)
        .execution_options(synchronize_session=False)).all()
    counts = Counter((version, step or "", kind) for _, version, step, kind in gone)
    for enrollment, version, step in {(e, v, s or "") for e, v, s, k in gone if k == "entered"}:
        counts[(version, step, REACHED)] += 1
        if reasons[enrollment].startswith(GOAL):
            counts[(version, step, REACHED_GOAL)] += 1
    add_counts(session, ActivityRollup, ("journey_version_id", "step_id", "kind"), [
        {"journey_version_id": version, "step_id": step, "kind": kind, "count": n}
        for (version, step, kind), n in sorted(counts.items())])
    return len(gone), first[0] + batch


def run_retention_jobs(works: Works, settings: Settings, batches: int = MAX_BATCHES
                       ) -> dict[str, int]:
    """The periodic journey work, for the scheduler: prune old finished activity."""
    cutoff = works.now() - retention(settings)
    return {"pruned": sweep(works, "enrollments",
                            lambda s, start: prune_activity(s, start, cutoff), batches)}
