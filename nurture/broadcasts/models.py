"""A broadcast: a one-off campaign. Its recipients are sends (`sends.broadcast_id`), made
once when it is created; this row keeps what was asked and the A/B test's outcome."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from nurture.db import Base, BigId, Json, UTCDateTime, only, utcnow

TESTING, SENDING, CANCELLED = "testing", "sending", "cancelled"
# A send of the rest of an A/B test's audience, waiting for the winner: no due time, no
# template chosen yet (the winner's is written when it is decided).
WAITING = "waiting"
REST = "rest"  # the variant of a send to the rest of a test's audience (the sample: A, B…)


class Broadcast(Base):
    __tablename__ = "broadcasts"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    audience: Mapped[str] = mapped_column(String(10))  # "segment" | "list"
    audience_id: Mapped[int] = mapped_column(Integer)
    audience_name: Mapped[str] = mapped_column(String(120))
    templates: Mapped[list[str]] = mapped_column(Json)  # arm A, B, ...; one without a test
    # Each arm's subject line, beside `templates` ("" for the template's own); None on
    # broadcasts made before arms could differ by subject.
    subjects: Mapped[list[str] | None] = mapped_column(Json, nullable=True)
    topic: Mapped[str] = mapped_column(String(40), default="")
    timing: Mapped[str] = mapped_column(String(10))  # "now" | "at" | "local"
    send_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    local_time: Mapped[str | None] = mapped_column(String(5), nullable=True)  # "10:00"
    sample_percent: Mapped[int] = mapped_column(Integer, default=0)
    metric: Mapped[str] = mapped_column(String(10), default="clicks")
    window_hours: Mapped[int] = mapped_column(Integer, default=4)
    seed: Mapped[int] = mapped_column(Integer, default=0)  # the sample's shuffle
    status: Mapped[str] = mapped_column(String(12))  # testing | sending | cancelled
    recipients: Mapped[int] = mapped_column(Integer, default=0)
    # When the scheduler decides the test and sends the winner to the rest; None once done.
    winner_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    winner: Mapped[str | None] = mapped_column(String(1), nullable=True)  # "A", "B", ...
    winner_reason: Mapped[str | None] = mapped_column(String(400), nullable=True)
    winner_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    winner_by: Mapped[str | None] = mapped_column(String(320), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by: Mapped[str] = mapped_column(String(320), default="")
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    cancelled_by: Mapped[str | None] = mapped_column(String(320), nullable=True)
    never_sent: Mapped[int | None] = mapped_column(Integer, nullable=True)  # by the cancel

    __table_args__ = (
        Index("ix_broadcasts_winner_due", "winner_due_at",
              **only("winner_due_at IS NOT NULL")),
    )
