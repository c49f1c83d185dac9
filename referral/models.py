"""Referral rows: sources and their codes, clicks, the browsers seen at sign-up, referrals,
the rewards ledger and its audit trail.

Money is kept in minor units (cents) as integers: the same on SQLite and PostgreSQL, and no
rounding surprises when a percentage is summed.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from nurture.db import Base, BigId, Json, UTCDateTime, utcnow

SOURCE_TYPES = ("customer", "partner", "influencer")
REWARD_STATUSES = ("pending", "approved", "paid", "voided")
REVIEWS = ("", "flagged", "cleared", "rejected")


class ReferralSource(Base):
    """Someone who refers: a customer (codes made automatically) or a partner or influencer
    (made by a marketer, with a campaign tag)."""

    __tablename__ = "referral_sources"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    # "contact:<id>" for a customer's own code, "<type>:<random>" otherwise: one code per
    # customer however many events ask for it at once.
    owner_key: Mapped[str] = mapped_column(String(120), unique=True)
    type: Mapped[str] = mapped_column(String(16))  # one of SOURCE_TYPES
    name: Mapped[str] = mapped_column(String(200), default="")
    email: Mapped[str] = mapped_column(String(320), default="")
    contact_id: Mapped[int | None] = mapped_column(
        ForeignKey("contacts.id", ondelete="SET NULL"), nullable=True)
    campaign: Mapped[str] = mapped_column(String(120), default="")  # utm_campaign
    landing: Mapped[str] = mapped_column(String(120), default="trial")  # /l/<slug>
    status: Mapped[str] = mapped_column(String(16), default="active")  # active | paused
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by: Mapped[str] = mapped_column(String(320), default="system")

    __table_args__ = (Index("ix_referral_sources_contact", "contact_id"),)


class ReferralClick(Base):
    """One visit of a share link (or of a landing page with `?ref=`)."""

    __tablename__ = "referral_clicks"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("referral_sources.id",
                                                      ondelete="CASCADE"))
    visitor: Mapped[str] = mapped_column(String(40), default="")
    via: Mapped[str] = mapped_column(String(16), default="link")  # link | landing
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (Index("ix_referral_clicks_source_at", "source_id", "at"),)


class ReferralDevice(Base):
    """A browser a contact signed up from: the referral cookie's visitor id, or the IP
    address with a hash of the user agent. Self-referral checks compare against these."""

    __tablename__ = "referral_devices"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"))
    visitor: Mapped[str] = mapped_column(String(40), default="")
    ip: Mapped[str] = mapped_column(String(64), default="")
    agent: Mapped[str] = mapped_column(String(16), default="")  # sha256 of the UA, shortened
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (Index("ix_referral_devices_contact", "contact_id"),
                      Index("ix_referral_devices_visitor", "visitor"))


class Referral(Base):
    """A referred friend: tied at sign-up, converted when they buy. A friend is referred
    once (the first attributed sign-up); `review` holds the fraud review."""

    __tablename__ = "referrals"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("referral_sources.id",
                                                      ondelete="CASCADE"))
    friend_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"),
                                           unique=True)
    trial_id: Mapped[int | None] = mapped_column(ForeignKey("trials.id", ondelete="SET NULL"),
                                                 nullable=True)
    status: Mapped[str] = mapped_column(String(16), default="signed_up")  # | converted
    review: Mapped[str] = mapped_column(String(16), default="")  # one of REVIEWS
    reasons: Mapped[list[str]] = mapped_column(Json, default=list)  # fraud rule ids
    review_note: Mapped[str] = mapped_column(Text, default="")
    reviewed_by: Mapped[str] = mapped_column(String(320), default="")
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    signed_up_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    converted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    converted_by: Mapped[str] = mapped_column(String(40), default="")  # the event type
    revenue_cents: Mapped[int] = mapped_column(Integer, default=0)  # first year, so far
    visitor: Mapped[str] = mapped_column(String(40), default="")
    ip: Mapped[str] = mapped_column(String(64), default="")
    agent: Mapped[str] = mapped_column(String(16), default="")

    __table_args__ = (Index("ix_referrals_source", "source_id", "signed_up_at"),
                      Index("ix_referrals_review", "review"))


class Reward(Base):
    """One line of the rewards ledger. `key` makes each reward exist once, whatever is
    retried: `<referral>:<beneficiary>:<rule>` (a purchase's share adds the event id, a
    milestone is `<source>:milestone:<n>`)."""

    __tablename__ = "referral_rewards"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    referral_id: Mapped[int] = mapped_column(ForeignKey("referrals.id", ondelete="CASCADE"))
    source_id: Mapped[int] = mapped_column(ForeignKey("referral_sources.id",
                                                      ondelete="CASCADE"))
    beneficiary: Mapped[str] = mapped_column(String(16))  # referrer | friend
    contact_id: Mapped[int | None] = mapped_column(
        ForeignKey("contacts.id", ondelete="SET NULL"), nullable=True)
    rule: Mapped[str] = mapped_column(String(80))
    kind: Mapped[str] = mapped_column(String(16))  # credit | share | milestone
    amount_cents: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    eligible_at: Mapped[datetime] = mapped_column(UTCDateTime)  # end of the hold period
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    reason: Mapped[str] = mapped_column(Text, default="")  # of the latest transition

    __table_args__ = (Index("ix_referral_rewards_status_eligible", "status", "eligible_at"),
                      Index("ix_referral_rewards_source", "source_id"),
                      Index("ix_referral_rewards_referral", "referral_id"))


class RewardTransition(Base):
    """The audit trail: every change of a reward's state, who made it and why."""

    __tablename__ = "referral_reward_transitions"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    reward_id: Mapped[int] = mapped_column(ForeignKey("referral_rewards.id",
                                                      ondelete="CASCADE"))
    from_status: Mapped[str] = mapped_column(String(16), default="")
    to_status: Mapped[str] = mapped_column(String(16))
    actor: Mapped[str] = mapped_column(String(320))
    reason: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    details: Mapped[dict[str, Any]] = mapped_column(Json, default=dict)

    __table_args__ = (Index("ix_referral_reward_transitions_reward", "reward_id"),)
