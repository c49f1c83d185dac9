"""The append-only event log, and the daily counts of the events pruned from it."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, Date, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from nurture.db import Base, BigId, Json, UTCDateTime, utcnow


class Event(Base):
    __tablename__ = "events"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"))
    type: Mapped[str] = mapped_column(String(80))
    properties: Mapped[dict[str, Any]] = mapped_column(Json, default=dict)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    source: Mapped[str] = mapped_column(String(80), default="api")
    # An optional caller-chosen key: recording the same key twice records one event.
    dedupe_key: Mapped[str | None] = mapped_column(String(200), unique=True, nullable=True)
    # The API client's own id for the event (`POST /api/v1/events`): a retry that sends it
    # again records nothing. One namespace for every client (see docs/api.md).
    client_id: Mapped[str | None] = mapped_column(String(100), nullable=True, unique=True,
                                                  index=True)

    __table_args__ = (
        Index("ix_events_contact_type_time", "contact_id", "type", "occurred_at"),
        Index("ix_events_type_time", "type", "occurred_at"),
    )


class EventRollup(Base):
    """How many events of a type occurred on a day (UTC) and were pruned since
    (`nurture.events.retention`): reports add these to the events still in the log. Holds
    no contact: only a day, a type, whether machines made them, and a count."""

    __tablename__ = "event_rollups"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    type: Mapped[str] = mapped_column(String(80), primary_key=True)
    # Opens and clicks flagged as machine traffic (privacy proxies, link scanners).
    machine: Mapped[bool] = mapped_column(Boolean, primary_key=True)
    count: Mapped[int] = mapped_column(BigInteger)
