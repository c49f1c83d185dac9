"""Consent proof and the one suppression list every send is checked against."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from nurture.db import Base, BigId, UTCDateTime, utcnow

REASONS = ("unsubscribed", "bounced", "complained")  # what a list import may give
# A deleted contact's address: only its SHA-256 is kept (`records.erased_key`), so the
# address is never written to again by marketing, and nothing else of it remains.
ERASED = "erased"


class ConsentRecord(Base):
    """Append-only proof of consent: who asked, confirmed or withdrew, when, how, where."""

    __tablename__ = "consent_records"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"))
    # requested | confirmed | withdrawn | must_receive_only | service_resumed
    action: Mapped[str] = mapped_column(String(20))
    method: Mapped[str] = mapped_column(String(40))  # form, link, one-click, import, api, ...
    page: Mapped[str] = mapped_column(String(500), default="")
    ip: Mapped[str] = mapped_column(String(64), default="")
    user_agent: Mapped[str] = mapped_column(String(400), default="")
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (Index("ix_consent_records_contact", "contact_id", "at"),)


class Suppression(Base):
    """An address no marketing email may reach (and, once hard-bounced, no email at all)."""

    __tablename__ = "suppressions"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    email_key: Mapped[str] = mapped_column(String(320), unique=True)
    reason: Mapped[str] = mapped_column(String(20))  # one of REASONS, or ERASED
    detail: Mapped[str] = mapped_column(String(500), default="")
    source: Mapped[str] = mapped_column(String(60), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
