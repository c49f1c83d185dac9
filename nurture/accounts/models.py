"""Account, role and subscription rows.

An account is the customer's company. Its contacts hold roles (who gets the activation
email, who administers, who is billed, who receives notices); a sales user owns it; its
subscriptions carry the commitment that renewals key on.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import ForeignKey, Index, Integer, Numeric, String
from sqlalchemy.orm import Mapped, mapped_column

from nurture.db import Base, BigId, Json, UTCDateTime, utcnow

# The contact roles a customer's company designates (seed 003): activation goes to the
# activation contact, failing that an administrator, failing that the notices contact.
ROLES = ("activation", "administrator", "technical", "billing", "notices")
STATUSES = ("prospect", "trial", "customer", "deprovisioned", "deleted")
SUBSCRIPTION_STATUSES = ("active", "cancelled", "ended")


class Account(Base):
    __tablename__ = "accounts"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    # The company's email domain, lower-cased ("" for a free-mail sign-up).
    domain: Mapped[str] = mapped_column(String(255), default="", index=True)
    # The account owner (account manager): a sales user.
    owner_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    status: Mapped[str] = mapped_column(String(16), default="prospect")  # one of STATUSES
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    deprovisioned_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # After deprovisioning: the account's data is kept until then, with a warning before.
    retention_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class AccountRole(Base):
    """A contact holding one of the account's ROLES; a role may be held by several."""

    __tablename__ = "account_roles"

    account_id: Mapped[int] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True)
    role: Mapped[str] = mapped_column(String(20), primary_key=True)
    contact_id: Mapped[int] = mapped_column(
        ForeignKey("contacts.id", ondelete="CASCADE"), primary_key=True)
    assigned_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (Index("ix_account_roles_contact", "contact_id"),)


class Subscription(Base):
    """What an account bought: services and seats for a commitment (12 months by default,
    billed monthly) from `started_at` to `renews_at`."""

    __tablename__ = "subscriptions"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    trial_id: Mapped[int | None] = mapped_column(BigId, nullable=True)
    services: Mapped[list[str]] = mapped_column(Json, default=list)
    seats: Mapped[int] = mapped_column(Integer, default=1)  # seats in use
    seat_limit: Mapped[int | None] = mapped_column(Integer, nullable=True)  # seats bought
    commitment_months: Mapped[int] = mapped_column(Integer, default=12)
    monthly_amount: Mapped[Decimal | None] = mapped_column(Numeric(12, 2), nullable=True)
    currency: Mapped[str] = mapped_column(String(3), default="")
    status: Mapped[str] = mapped_column(String(16), default="active")
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    renews_at: Mapped[datetime] = mapped_column(UTCDateTime)  # the commitment's end
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        Index("ix_subscriptions_account", "account_id"),
        Index("ix_subscriptions_status_renews", "status", "renews_at"),
    )
