"""Referral analytics: the funnel (clicks → sign-ups → conversions → revenue and rewards)
per source and per source type, the leaderboard, and the CSV export."""

from __future__ import annotations

import csv
import io
from dataclasses import asdict, dataclass, fields

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from referral.models import Referral, ReferralClick, ReferralSource, Reward


@dataclass
class Funnel:
    key: str  # the source's code, or the source type
    name: str
    type: str
    email: str = ""  # tells apart sources of the same name
    clicks: int = 0
    signups: int = 0
    conversions: int = 0
    flagged: int = 0
    revenue_cents: int = 0
    rewards_cents: int = 0  # not voided
    rewards: int = 0  # rewards granted, not voided (both sides of a referral count)
    rewards_paid_cents: int = 0

    @property
    def signup_rate(self) -> float | None:
        return self.signups / self.clicks if self.clicks else None

    @property
    def conversion_rate(self) -> float | None:
        return self.conversions / self.signups if self.signups else None


def per_source(session: Session) -> list[Funnel]:
    """One funnel per source, busiest first."""
    rows = {s.id: Funnel(s.code, s.name or s.email or s.code, s.type, s.email or "")
            for s in session.scalars(select(ReferralSource))}
    for source_id, n in session.execute(select(ReferralClick.source_id, func.count())
                                        .group_by(ReferralClick.source_id)):
        rows[source_id].clicks = n
    for source_id, status, review, n, revenue in session.execute(
            select(Referral.source_id, Referral.status, Referral.review, func.count(),
                   func.sum(Referral.revenue_cents))
            .group_by(Referral.source_id, Referral.status, Referral.review)):
        funnel = rows[source_id]
        if review == "rejected":
            continue
        funnel.signups += n
        funnel.flagged += n if review == "flagged" else 0
        if status == "converted":
            funnel.conversions += n
            funnel.revenue_cents += int(revenue or 0)
    for source_id, status, total, n in session.execute(
            select(Reward.source_id, Reward.status, func.sum(Reward.amount_cents), func.count())
            .where(Reward.status != "voided").group_by(Reward.source_id, Reward.status)):
        rows[source_id].rewards_cents += int(total or 0)
        rows[source_id].rewards += n
        if status == "paid":
            rows[source_id].rewards_paid_cents += int(total or 0)
    return sorted(rows.values(), key=lambda f: (-f.conversions, -f.signups, -f.clicks,
                                                f.name))


def per_type(funnels: list[Funnel]) -> list[Funnel]:
    totals: dict[str, Funnel] = {}
    for f in funnels:
        t = totals.setdefault(f.type, Funnel(f.type, f.type.title(), f.type))
        for name in ("clicks", "signups", "conversions", "flagged", "revenue_cents",
                     "rewards_cents", "rewards_paid_cents", "rewards"):
            setattr(t, name, getattr(t, name) + getattr(f, name))
    return sorted(totals.values(), key=lambda f: f.type)


def leaderboard(funnels: list[Funnel], size: int = 10) -> list[Funnel]:
    """Sources ranked by customers brought in, then revenue; sources with none are left
    out."""
    ranked = sorted((f for f in funnels if f.conversions),
                    key=lambda f: (-f.conversions, -f.revenue_cents, f.name))
    return ranked[:size]


SOURCES_PER_PAGE = 25


@dataclass(frozen=True)
class FunnelPage:
    """One page of the per-source funnels, as the console lists them."""

    rows: list[Funnel]
    number: int  # from 1
    pages: int
    total: int

    @property
    def around(self) -> list[int]:
        """The page numbers to link: the first, the last, and two either side of this one."""
        return sorted({1, self.pages, *range(max(1, self.number - 2),
                                              min(self.pages, self.number + 2) + 1)})


def page_of(funnels: list[Funnel], number: int, size: int = SOURCES_PER_PAGE) -> FunnelPage:
    """Page `number` of `funnels` (a number out of range is the nearest page): the busiest
    sources stay on the first page, as the list is ranked."""
    pages = max(1, -(-len(funnels) // size))
    number = min(max(1, number), pages)
    return FunnelPage(funnels[(number - 1) * size:number * size], number, pages,
                      len(funnels))


def to_csv(funnels: list[Funnel]) -> str:
    out = io.StringIO()
    names = [f.name for f in fields(Funnel)]
    writer = csv.writer(out)
    writer.writerow(["code" if n == "key" else n for n in names])
    for funnel in funnels:
        row = asdict(funnel)
        # A cell starting with =, +, - or @ would be a formula in a spreadsheet.
        writer.writerow(["'" + v if isinstance(v, str) and v and v[0] in "=+-@" else v
                         for v in (row[n] for n in names)])
    return out.getvalue()
