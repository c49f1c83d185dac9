"""Endpoints (who subscribes to which events, with which secret) and deliveries (due work:
a row with a due time, a lease and its attempts, and what the last attempt got back)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from nurture.db import Base, BigId, Json, UTCDateTime, due_indexes, utcnow


class WebhookEndpoint(Base):
    __tablename__ = "webhook_endpoints"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    url: Mapped[str] = mapped_column(Text)
    event_types: Mapped[list[str]] = mapped_column(Json, default=list)
    description: Mapped[str] = mapped_column(String(500), default="")
    secret: Mapped[str] = mapped_column(String(200))  # whsec_<base64>
    # After a rotation the old secret still signs, beside the new one, until it expires:
    # receivers switch over in their own time (Standard Webhooks allows several signatures).
    previous_secret: Mapped[str | None] = mapped_column(String(200), nullable=True)
    previous_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    owner_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    disabled_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    failure_count: Mapped[int] = mapped_column(Integer, default=0)  # consecutive
    failing_since: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class WebhookDelivery(Base):
    __tablename__ = "webhook_deliveries"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    delivery_key: Mapped[str] = mapped_column(String(300), unique=True)
    # None: a delivery of the CRM hand-off or a journey step, signed with the installation's
    # own secret; else an endpoint's subscription, signed with that endpoint's secrets.
    endpoint_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("webhook_endpoints.id", ondelete="CASCADE"), nullable=True)
    event_id: Mapped[int | None] = mapped_column(BigId, nullable=True)
    # The contact an endpoint's delivery is about: the privacy walk finds the rows by it
    # (`nurture.contacts.privacy`), to export them or erase them with the contact.
    contact_id: Mapped[int | None] = mapped_column(BigId, nullable=True)
    url: Mapped[str] = mapped_column(Text)
    event: Mapped[str] = mapped_column(String(120), default="")
    payload: Mapped[dict[str, Any]] = mapped_column(Json, default=dict)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    response_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    response_excerpt: Mapped[str | None] = mapped_column(Text, nullable=True)  # 500 chars
    duration_ms: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    __table_args__ = (
        *due_indexes("webhook_deliveries", "due_at"),
        Index("ix_webhook_deliveries_endpoint", "endpoint_id", "id"),  # an endpoint's log
        {"postgresql_with": {"fillfactor": 70}},  # room for HOT updates
    )
