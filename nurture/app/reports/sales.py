"""The sales report's figures: how contacts grade, how long hand-offs waited to be accepted
against the SLA, and what each rep did with their leads (accepted, rejected, won)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select

from nurture.db import Database
from nurture.users.models import User
from scoring.models import ContactScore, Handoff

GRADES = ("A", "B", "C", "D")


@dataclass(frozen=True)
class RepCounts:
    rep: str
    accepted: int  # leads they accepted, whatever came after
    rejected: int  # sent back to nurture
    won: int


@dataclass(frozen=True)
class SalesReport:
    grades: dict[str, int]  # contacts per grade, A to D
    waits: list[timedelta]  # hand-off to acceptance, one per accepted hand-off
    open_past_sla: int  # hand-offs still open and older than the SLA
    reps: list[RepCounts]


def sales_report(db: Database, now: datetime, sla: timedelta) -> SalesReport:
    with db.sessions() as session:
        grades = dict.fromkeys(GRADES, 0)
        for grade, n in session.execute(select(ContactScore.grade, func.count())
                                        .group_by(ContactScore.grade)):
            grades[grade] = grades.get(grade, 0) + n
        waits = [accepted - created for created, accepted in session.execute(
            select(Handoff.created_at, Handoff.accepted_at)
            .where(Handoff.accepted_at.is_not(None))) if accepted is not None]
        late = session.scalar(select(func.count()).where(
            Handoff.status == "open", Handoff.created_at < now - sla)) or 0
        counts: dict[str, dict[str, int]] = {}
        for name, email, status, accepted, n in session.execute(
                select(User.name, User.email, Handoff.status,
                       Handoff.accepted_at.is_not(None), func.count())
                .join(User, User.id == Handoff.assigned_to)
                .group_by(User.name, User.email, Handoff.status,
                          Handoff.accepted_at.is_not(None))):
            rep = counts.setdefault(name or email, {"accepted": 0, "rejected": 0, "won": 0})
            rep["accepted"] += n if accepted else 0
            if status in ("rejected", "won"):
                rep[status] += n
    return SalesReport(grades, waits, late,
                       [RepCounts(rep, **c) for rep, c in sorted(counts.items())])


def wait_bins(waits: list[timedelta], sla: timedelta) -> list[tuple[str, int]]:
    """Acceptance times in four bins around the SLA: well within it, within it, up to
    twice it, and later."""
    hours = sla.total_seconds() / 3600
    edges = [(f"under {hours / 2:g} h", sla / 2), (f"{hours / 2:g} to {hours:g} h", sla),
             (f"{hours:g} to {2 * hours:g} h", 2 * sla), (f"over {2 * hours:g} h", None)]
    counts = [0] * len(edges)
    for wait in waits:
        counts[next(i for i, (_, top) in enumerate(edges) if top is None or wait < top)] += 1
    return [(label, n) for (label, _), n in zip(edges, counts, strict=True)]
