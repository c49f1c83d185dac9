"""A send is one email to one recipient, keyed so that it can only ever exist once."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Float, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from nurture.db import Base, BigId, Json, UTCDateTime, due_indexes, only, utcnow
from nurture.sending.lanes import BULK, PRIORITY_ONLY, lane_of


def _lane(context: Any) -> str:
    """The lane of the row being inserted, from its class: every path that writes sends
    (the ORM, a bulk insert in `nurture.writes`) fills it, and none has to remember to."""
    return lane_of(context.get_current_parameters().get("message_class"))


class Send(Base):
    __tablename__ = "sends"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    # journey version : enrollment : step seq : step : recipient role
    send_key: Mapped[str] = mapped_column(String(300), unique=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"))
    to_email: Mapped[str] = mapped_column(String(320))
    role: Mapped[str] = mapped_column(String(60), default="contact")
    enrollment_id: Mapped[int | None] = mapped_column(BigId, nullable=True)
    journey_id: Mapped[str | None] = mapped_column(String(120), nullable=True)
    step_id: Mapped[str | None] = mapped_column(String(120), nullable=True)
    template: Mapped[str] = mapped_column(String(120))
    variant: Mapped[str] = mapped_column(String(120), default="")
    # A subject line that replaces the template's (a Jinja line, rendered like the
    # template's own): an A/B arm's. None: the template's subject.txt.
    subject: Mapped[str | None] = mapped_column(String(300), nullable=True)
    # transactional | service | marketing (nurture/sending/classes.py): who may receive it.
    message_class: Mapped[str] = mapped_column(String(16), default="marketing")
    # priority | bulk (nurture/sending/lanes.py): which due work and queue deliver it.
    lane: Mapped[str] = mapped_column(String(8), default=_lane, server_default=BULK)
    topic: Mapped[str] = mapped_column(String(40), default="")  # the journey's topic
    status: Mapped[str] = mapped_column(String(16), default="queued")
    reason: Mapped[str | None] = mapped_column(String(200), nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # The tracked links of the message as sent: a click redirects only to one of these.
    links: Mapped[list[str] | None] = mapped_column(Json, nullable=True)
    # A retry an operator chose for a send whose outcome was unknown: the original send's
    # id, and who decided (see `nurture sends retry`).
    retry_of: Mapped[int | None] = mapped_column(BigId, nullable=True)
    retry_by: Mapped[str | None] = mapped_column(String(320), nullable=True)
    # What the recipient's mail system reported of this send: a hard bounce or a spam
    # complaint (nurture/sending/feedback.py), and when; the guard counts these per source.
    feedback: Mapped[str | None] = mapped_column(String(16), nullable=True)
    feedback_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # While its source is paused a queued send has no due time (no claim sees it): this
    # keeps the one it had, for the release (nurture/sending/pauses.py).
    held_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # The broadcast that made this send (nurture/broadcasts), for its progress and report.
    broadcast_id: Mapped[int | None] = mapped_column(BigId, nullable=True)

    __table_args__ = (
        *due_indexes("sends", "due_at"),
        # The priority lane's due rows, so that its claim never reads a broadcast's backlog
        # (the bulk claim reads `ix_sends_due`, past the few priority rows due).
        Index("ix_sends_priority_due", "due_at",
              **only(f"due_at IS NOT NULL AND lease_until IS NULL AND {PRIORITY_ONLY}")),
        Index("ix_sends_contact_created", "contact_id", "created_at"),
        # The guard's rates: sends and their feedback per journey over a window, read from
        # the index alone.
        Index("ix_sends_journey_sent", "journey_id", "sent_at", "feedback"),
        # The home page's and email report's sends per day, over up to a year.
        Index("ix_sends_sent_at", "sent_at", **only("sent_at IS NOT NULL")),
        # The journeys with recent feedback, for the scheduler's round; and the sends a
        # pause holds, for its release. Both hold few rows.
        Index("ix_sends_feedback", "feedback_at", **only("feedback_at IS NOT NULL")),
        Index("ix_sends_held", "journey_id", **only("held_due_at IS NOT NULL")),
        # A broadcast's sends by status: its progress, report, pause and cancel.
        Index("ix_sends_broadcast", "broadcast_id", "status",
              **only("broadcast_id IS NOT NULL")),
        {"postgresql_with": {"fillfactor": 70}},  # room for HOT updates
    )


class Pause(Base):
    """One pause of a source's marketing mail (a journey or a broadcast), by the guard
    or by a person, and its resume. Rows are kept: they are the pause history. A source is
    paused while it has a row without `resumed_at`."""

    __tablename__ = "pauses"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    source_kind: Mapped[str] = mapped_column(String(20))  # "journey" | "broadcast"
    source_id: Mapped[str] = mapped_column(String(120))
    reason: Mapped[str] = mapped_column(String(200))  # "paused: complaints", "paused: by …"
    paused_at: Mapped[datetime] = mapped_column(UTCDateTime)
    paused_by: Mapped[str] = mapped_column(String(320))  # "guard" or a person's address
    # The window's figures when the guard paused (None for a pause by a person).
    sent: Mapped[int | None] = mapped_column(Integer, nullable=True)
    complaint_rate: Mapped[float | None] = mapped_column(Float, nullable=True)
    bounce_rate: Mapped[float | None] = mapped_column(Float, nullable=True)
    resumed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    resumed_by: Mapped[str | None] = mapped_column(String(320), nullable=True)
    resume_reason: Mapped[str | None] = mapped_column(String(500), nullable=True)

    __table_args__ = (
        Index("ix_pauses_source", "source_kind", "source_id", "resumed_at"),
        # One pause at a time: two guards judging at once make one pause, not two.
        Index("ux_pauses_active", "source_kind", "source_id", unique=True,
              **only("resumed_at IS NULL")),
    )
