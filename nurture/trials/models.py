"""A 30-day trial: who signed up, for what, and how it ended (converted or expired)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from nurture.db import Base, BigId, Json, UTCDateTime, utcnow

STATUSES = ("active", "converted", "expired", "deleted")
CHOICES = ("keep_data", "new_subscription")


class Trial(Base):
    __tablename__ = "trials"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"))
    company: Mapped[str] = mapped_column(String(200), default="")
    technical_name: Mapped[str] = mapped_column(String(200), default="")
    technical_email: Mapped[str] = mapped_column(String(320), default="")
    shipping_address: Mapped[dict[str, Any]] = mapped_column(Json, default=dict)
    services: Mapped[list[str]] = mapped_column(Json, default=list)
    seats: Mapped[int] = mapped_column(Integer, default=1)
    status: Mapped[str] = mapped_column(String(16), default="active")  # one of STATUSES
    # Chosen once, irreversibly, at conversion: keep the trial's data or start afresh.
    choice: Mapped[str | None] = mapped_column(String(20), nullable=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    converted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    expired_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    retention_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # Where the sign-up came from.
    landing_slug: Mapped[str] = mapped_column(String(120), default="")
    utm: Mapped[dict[str, str]] = mapped_column(Json, default=dict)
    referral_code: Mapped[str] = mapped_column(String(64), default="")
    ip: Mapped[str] = mapped_column(String(64), default="")

    __table_args__ = (
        Index("ix_trials_contact", "contact_id"),
        Index("ix_trials_status_ends", "status", "ends_at"),
    )
