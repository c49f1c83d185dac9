"""Journey versions, enrollments (due work with a lease), the activity log and the counts
of the activity pruned from it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from nurture.db import Base, BigId, Json, UTCDateTime, due_indexes, only, utcnow


class JourneyVersion(Base):
    """An immutable published version of a journey file."""

    __tablename__ = "journey_versions"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    journey_id: Mapped[str] = mapped_column(String(120))
    version: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(200))
    checksum: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(Text)
    published_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Only the newest version takes new entries; a retired journey takes none.
    retired: Mapped[bool] = mapped_column(default=False)
    # Who published it (an email; none from a file), why, and the version it was edited
    # from (none: the first, or a file published without saying).
    published_by: Mapped[str | None] = mapped_column(String(320), nullable=True)
    note: Mapped[str | None] = mapped_column(Text, nullable=True)
    based_on: Mapped[int | None] = mapped_column(Integer, nullable=True)

    __table_args__ = (UniqueConstraint("journey_id", "version"),)


ACTIVE = ("scheduled", "active")


class Enrollment(Base):
    """One contact's way through one journey version. Due when next_run_at has passed."""

    __tablename__ = "enrollments"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"))
    journey_id: Mapped[str] = mapped_column(String(120))
    journey_version_id: Mapped[int] = mapped_column(ForeignKey("journey_versions.id"))
    status: Mapped[str] = mapped_column(String(16), default="active")
    state: Mapped[dict[str, Any]] = mapped_column(Json, default=dict)
    step_id: Mapped[str | None] = mapped_column(String(120), nullable=True)
    entered_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    exit_reason: Mapped[str | None] = mapped_column(String(120), nullable=True)
    next_run_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # While its journey is paused the enrollment has no run time: this keeps the one it
    # had, for the release (journeys/pausing.py).
    held_run_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    __table_args__ = (
        *due_indexes("enrollments", "next_run_at"),
        Index("ix_enrollments_contact_journey", "contact_id", "journey_id"),
        Index("ix_enrollments_held", "journey_id", **only("held_run_at IS NOT NULL")),
        # A journey's enrollments, for its console counts (journeys/report.py). Only the
        # journey id, which never changes: advancing keeps its HOT updates.
        Index("ix_enrollments_journey", "journey_id"),
        {"postgresql_with": {"fillfactor": 70}},  # room for HOT updates
    )


class Activity(Base):
    """What happened in an enrollment: steps entered and completed, sends deferred, exits."""

    __tablename__ = "journey_activity"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    enrollment_id: Mapped[int] = mapped_column(ForeignKey("enrollments.id", ondelete="CASCADE"))
    contact_id: Mapped[int] = mapped_column(BigId)
    journey_version_id: Mapped[int] = mapped_column(BigId)
    step_id: Mapped[str | None] = mapped_column(String(120), nullable=True)
    kind: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str | None] = mapped_column(String(200), nullable=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (
        Index("ix_activity_version_step", "journey_version_id", "step_id", "kind"),
        Index("ix_activity_enrollment", "enrollment_id"),
    )


class ActivityRollup(Base):
    """The activity of finished enrollments pruned from the log (`journeys.retention`),
    counted per version, step and kind: the journey's page and its splits add these to the
    log's own counts. Besides the log's kinds, REACHED counts the enrollments that entered
    the step (once each, as a split's arms count them) and REACHED_GOAL those of them that
    reached a goal. Holds no contact."""

    __tablename__ = "journey_activity_rollups"

    journey_version_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    step_id: Mapped[str] = mapped_column(String(120), primary_key=True)  # "" for none
    kind: Mapped[str] = mapped_column(String(20), primary_key=True)
    count: Mapped[int] = mapped_column(BigInteger)


REACHED, REACHED_GOAL = "reached", "reached:goal"


class JourneyRollup(Base):
    """A large journey's counts as the scheduler last measured them (journeys/rollups.py):
    its page reads them instead of aggregating a million enrollments per view."""

    __tablename__ = "journey_rollups"

    journey_id: Mapped[str] = mapped_column(String(120), primary_key=True)
    figures: Mapped[dict[str, Any]] = mapped_column(Json)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime)
