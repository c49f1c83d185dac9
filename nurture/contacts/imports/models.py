"""Import jobs, the rows they rejected, and the column mappings saved for next time."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from nurture.db import Base, BigId, Json, UTCDateTime, due_indexes, utcnow


class ImportJob(Base):
    """One import of one file: its options and mapping, where it is (the last line
    committed), its counts, and a due time and lease while a worker runs it."""

    __tablename__ = "import_jobs"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    file_name: Mapped[str] = mapped_column(String(255))  # as the marketer named it
    path: Mapped[str] = mapped_column(String(1000))  # where the stored copy is
    options: Mapped[dict[str, Any]] = mapped_column(Json, default=dict)
    mapping: Mapped[dict[str, str]] = mapped_column(Json, default=dict)
    # queued | running | done | failed
    status: Mapped[str] = mapped_column(String(20), default="queued")
    total_lines: Mapped[int] = mapped_column(Integer, default=0)
    checkpoint_line: Mapped[int] = mapped_column(Integer, default=0)
    rows_read: Mapped[int] = mapped_column(Integer, default=0)
    created: Mapped[int] = mapped_column(Integer, default=0)
    updated: Mapped[int] = mapped_column(Integer, default=0)
    skipped: Mapped[int] = mapped_column(Integer, default=0)  # already there, policy skip
    duplicates: Mapped[int] = mapped_column(Integer, default=0)  # again in the file
    rejected: Mapped[int] = mapped_column(Integer, default=0)
    rows_per_second: Mapped[float] = mapped_column(Float, default=0.0)
    error: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[str] = mapped_column(String(320), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    __table_args__ = due_indexes("import_jobs", "due_at")


class ImportReject(Base):
    """A row an import left out: its line, why (a sentence) and the row as read."""

    __tablename__ = "import_rejects"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("import_jobs.id", ondelete="CASCADE"))
    line: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(Text)
    raw: Mapped[list[str]] = mapped_column(Json, default=list)

    __table_args__ = (Index("ix_import_rejects_job", "job_id", "line"),)


class ImportMapping(Base):
    """A mapping of columns to fields, saved by name to reuse with the next file."""

    __tablename__ = "import_mappings"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    mapping: Mapped[dict[str, str]] = mapped_column(Json, default=dict)
    created_by: Mapped[str] = mapped_column(String(320), default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
