"""What the marketer's referral pages read, each call in one read session of its own: a
share code's source, the funnels per source, the sources, the referrals flagged for
review, and the rewards ledger with each reward's history.

Source, reward and transition rows are returned detached, with their columns loaded, for
the templates to read."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Row, func, select

from nurture.contacts.models import Contact
from nurture.db import Database
from referral import analytics, sources
from referral.models import Referral, ReferralSource, Reward, RewardTransition
from referral.rules import FULFILLED_KINDS, Rules, fulfilment

LISTED = 500  # rows on one page
REWARD_STATUSES = ("pending", "approved", "paid", "fulfilled", "voided")
AWAITING = ("pending", "approved")


@dataclass(frozen=True)
class Funnels:
    per_source: list[analytics.Funnel]
    flagged: int  # referrals waiting for a marketer's review


def find_source(db: Database, code: object, now: datetime) -> sources.Lookup:
    """The active source of a share code, or why there is none (`sources.find`)."""
    with db.sessions() as session:
        return sources.find(session, code, now)


def per_source(db: Database) -> list[analytics.Funnel]:
    """Each source's funnel (`analytics.per_source`)."""
    with db.sessions() as session:
        return analytics.per_source(session)


def funnels(db: Database) -> Funnels:
    """Each source's funnel, and how many referrals are flagged for review."""
    with db.sessions() as session:
        return Funnels(analytics.per_source(session), session.scalar(
            select(func.count()).select_from(Referral).where(Referral.review == "flagged"))
            or 0)


def recent_sources(db: Database) -> list[ReferralSource]:
    """The newest sources first, at most a page of them."""
    with db.sessions() as session:
        return list(session.scalars(
            select(ReferralSource).order_by(ReferralSource.created_at.desc(),
                                            ReferralSource.id.desc()).limit(LISTED)))


def flagged_referrals(db: Database) -> list[dict[str, Any]]:
    """The referrals flagged for review, oldest sign-up first, with their friend and
    source."""
    query = (select(Referral, ReferralSource, Contact)
             .join(ReferralSource, ReferralSource.id == Referral.source_id)
             .join(Contact, Contact.id == Referral.friend_id)
             .where(Referral.review == "flagged")
             .order_by(Referral.signed_up_at, Referral.id).limit(LISTED))
    with db.sessions() as session:
        return [{"id": r.id, "friend": c.email, "company": c.company,
                 "source": s.name or s.code, "code": s.code, "type": s.type, "email": s.email,
                 "reasons": r.reasons, "signed_up_at": r.signed_up_at, "status": r.status}
                for r, s, c in session.execute(query)]


@dataclass(frozen=True)
class Ledger:
    rows: list[Row[Reward, ReferralSource]]  # (reward, its source), newest first
    audit: dict[int, list[RewardTransition]]  # each reward's transitions, oldest first


def rewards(db: Database, status: str = "") -> Ledger:
    """The newest rewards (of one status, when `status` is one), with their history."""
    query = (select(Reward, ReferralSource)
             .join(ReferralSource, ReferralSource.id == Reward.source_id)
             .order_by(Reward.created_at.desc(), Reward.id.desc()).limit(LISTED))
    if status in REWARD_STATUSES:
        query = query.where(Reward.status == status)
    audit: dict[int, list[RewardTransition]] = {}
    with db.sessions() as session:
        rows = list(session.execute(query).all())
        ids = [reward.id for reward, _ in rows]
        if ids:
            for t in session.scalars(select(RewardTransition)
                                     .where(RewardTransition.reward_id.in_(ids))
                                     .order_by(RewardTransition.at, RewardTransition.id)):
                audit.setdefault(t.reward_id, []).append(t)
    return Ledger(rows, audit)


@dataclass(frozen=True)
class Fulfilment:
    """A reward a person or an automatic step fulfils, as the CLI and the page list it."""

    id: int
    kind: str
    rule: str
    label: str
    detail: str  # what to do: the thank-you's words, the feature, the gift
    value_cents: int  # a gift's value
    currency: str
    status: str
    by: str  # "person" or "automatic"
    referrer: str  # the source's name or code
    referrer_email: str
    friend: str
    created_at: datetime
    fulfilled_at: datetime | None
    fulfilled_by: str
    note: str
    ship_to: str = ""  # a gift's: the beneficiary's shipping address, when we have one


def fulfilments(db: Database, rules: Rules | None, awaiting_only: bool = False
                ) -> list[Fulfilment]:
    """The rewards fulfilled rather than paid, oldest first (those still awaiting
    fulfilment only, with `awaiting_only`), with what each asks for from `rules`."""
    query = (select(Reward, ReferralSource, Contact.email)
             .join(ReferralSource, ReferralSource.id == Reward.source_id)
             .join(Referral, Referral.id == Reward.referral_id)
             .join(Contact, Contact.id == Referral.friend_id)
             .where(Reward.kind.in_(FULFILLED_KINDS))
             .order_by(Reward.created_at, Reward.id).limit(LISTED))
    if awaiting_only:
        query = query.where(Reward.status.in_(AWAITING))
    described = {r.id: r for r in rules.rewards} if rules else {}
    with db.sessions() as session:
        rows = session.execute(query).all()
        done = {t.reward_id: t for t in session.scalars(
            select(RewardTransition).where(
                RewardTransition.reward_id.in_([w.id for w, _, _ in rows]),
                RewardTransition.to_status == "fulfilled"))}
        emails = dict(session.execute(select(Contact.id, Contact.email).where(
            Contact.id.in_({s.contact_id for _, s, _ in rows if s.contact_id}))).all())
        addresses = {cid: _address(attributes) for cid, attributes in session.execute(
            select(Contact.id, Contact.attributes).where(Contact.id.in_(
                {w.contact_id for w, _, _ in rows if w.kind == "gift" and w.contact_id})))}
        out = []
        for reward, source, friend in rows:
            rule = described.get(reward.rule)
            fulfilled = done.get(reward.id)
            out.append(Fulfilment(
                reward.id, reward.kind, reward.rule, rule.label if rule else reward.rule,
                rule.detail if rule else "", reward.amount_cents, reward.currency,
                reward.status, fulfilment(reward.kind), source.name or source.code,
                source.email or emails.get(source.contact_id or 0, ""), friend,
                reward.created_at, fulfilled.at if fulfilled else None,
                fulfilled.actor if fulfilled else "", fulfilled.reason if fulfilled else "",
                addresses.get(reward.contact_id or 0, "")))
    return out


def _address(attributes: dict[str, Any] | None) -> str:
    """The shipping address a trial sign-up gave, on one line."""
    found = (attributes or {}).get("shipping_address")
    if not isinstance(found, dict):
        return ""
    parts = ("street", "city", "region", "postal_code", "country")
    return ", ".join(str(found[k]) for k in parts if found.get(k))
