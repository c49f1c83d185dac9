"""The acquisition-cost ceiling: what winning one more customer may cost, at most, so that
the customer still pays for themselves. Ceiling = average predicted lifetime value of the
customers in a group x gross margin (`NURTURE_GROSS_MARGIN`), per acquisition source,
vertical and referral source. The domain asks partners to use CLV for acquisition cost
limits (DOMAIN.md, section 6).

Values come from Nurture's own purchase events (`scoring.value`); the referral source of a
customer is the source of the referral that brought them (`referral.models`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, tzinfo

from sqlalchemy import select

from nurture.db import Database
from referral.models import Referral, ReferralSource
from scoring.lookalike import NO_SOURCE, Ceiling, all_ceilings
from scoring.value import HORIZON_WEEKS, value_book

NOT_REFERRED = "(not referred)"
NO_VERTICAL = "(none)"
DIMENSIONS = ("all", "source", "vertical", "referral source")


@dataclass(frozen=True)
class CeilingReport:
    margin: float
    horizon: int  # weeks of value counted
    rows: list[Ceiling] = field(default_factory=list)  # grouped by DIMENSIONS, in order
    error: str = ""  # why there are no rows

    def of(self, dimension: str) -> list[Ceiling]:
        return [row for row in self.rows if row.dimension == dimension]


def acquisition_ceiling(db: Database, today: date, tz: tzinfo, margin: float,
                        horizon: int = HORIZON_WEEKS) -> CeilingReport:
    """The ceiling per group, from purchases up to `today` (days taken in `tz`)."""
    with db.sessions() as session:
        book = value_book(session, today, tz, horizon)
        if book.error:
            return CeilingReport(margin, horizon, error=book.error)
        referred = {friend: f"{name or code} ({kind})" for friend, name, code, kind in
                    session.execute(
                        select(Referral.friend_id, ReferralSource.name, ReferralSource.code,
                               ReferralSource.type)
                        .join(ReferralSource, ReferralSource.id == Referral.source_id)
                        .where(Referral.friend_id.in_(list(book.values)),
                               Referral.review != "rejected"))}
    profiles = book.profiles
    groups = (
        ("all", dict.fromkeys(book.values, "every customer")),
        ("source", {cid: p.source or NO_SOURCE for cid, p in profiles.items()}),
        ("vertical", {cid: p.vertical or NO_VERTICAL for cid, p in profiles.items()}),
        ("referral source", {cid: referred.get(cid, NOT_REFERRED) for cid in book.values}),
    )
    return CeilingReport(margin, horizon, all_ceilings(book.values, groups, margin))
