"""Referral lists a page at a time, for the API: sources, referrals and rewards, oldest
first, each in a read session of its own. Keyset pages (`nurture.paging`): a client walking
a list while referrals arrive sees every row once. Rows are returned detached, with their
columns loaded, for the caller to read."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select

from nurture.contacts.models import Contact
from nurture.db import Database
from nurture.paging import Key, after, split
from referral.errors import NotFound
from referral.models import Referral, ReferralClick, ReferralSource, Reward


@dataclass(frozen=True)
class SourceCounts:
    """A source's funnel so far: visits of its link, sign-ups and conversions."""

    clicks: int
    signups: int
    conversions: int


def sources(db: Database, last: Key | None, limit: int, type_: str | None = None,
            status: str | None = None) -> tuple[list[ReferralSource], Key | None]:
    stmt = select(ReferralSource)
    if type_:
        stmt = stmt.where(ReferralSource.type == type_)
    if status:
        stmt = stmt.where(ReferralSource.status == status)
    with db.sessions() as session:
        rows = session.scalars(after(stmt, [ReferralSource.id], last, limit)).all()
    return split(rows, limit, lambda r: [r.id])


def source(db: Database, source_id: int) -> tuple[ReferralSource, SourceCounts]:
    """One source and its funnel; NotFound when there is none."""
    with db.sessions() as session:
        row = session.get(ReferralSource, source_id)
        if row is None:
            raise NotFound(f"There is no referral source with id {source_id}.")
        clicks = session.scalar(select(func.count()).select_from(ReferralClick)
                                .where(ReferralClick.source_id == source_id)) or 0
        counted: dict[str, int] = dict(session.execute(
            select(Referral.status, func.count()).where(
                Referral.source_id == source_id, Referral.review != "rejected")
            .group_by(Referral.status)).all())
    return row, SourceCounts(int(clicks), sum(counted.values()),
                             counted.get("converted", 0))


def referrals(db: Database, last: Key | None, limit: int, source_id: int | None = None,
              status: str | None = None) -> tuple[list[Any], Key | None]:
    """Referrals with their friend's email: (Referral, email) rows."""
    stmt: Any = select(Referral, Contact.email).join(Contact,
                                                     Contact.id == Referral.friend_id)
    if source_id is not None:
        stmt = stmt.where(Referral.source_id == source_id)
    if status:
        stmt = stmt.where(Referral.status == status)
    with db.sessions() as session:
        rows = session.execute(after(stmt, [Referral.id], last, limit)).all()
    return split(rows, limit, lambda r: [r[0].id])


def rewards(db: Database, last: Key | None, limit: int, status: str | None = None,
            source_id: int | None = None) -> tuple[list[Reward], Key | None]:
    stmt = select(Reward)
    if status:
        stmt = stmt.where(Reward.status == status)
    if source_id is not None:
        stmt = stmt.where(Reward.source_id == source_id)
    with db.sessions() as session:
        rows = session.scalars(after(stmt, [Reward.id], last, limit)).all()
    return split(rows, limit, lambda r: [r.id])


def reward(db: Database, reward_id: int) -> Reward:
    with db.sessions() as session:
        row = session.get(Reward, reward_id)
        if row is None:
            raise NotFound(f"There is no reward with id {reward_id}.")
        return row
