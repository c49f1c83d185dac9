"""A segment: a named condition over contacts, in the journeys' condition language; and
the members of the segments that journeys are triggered by."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, PrimaryKeyConstraint, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from nurture.db import Base, BigId, UTCDateTime, utcnow


class Segment(Base):
    __tablename__ = "segments"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    condition: Mapped[str] = mapped_column(Text)
    description: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[str] = mapped_column(String(320), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_by: Mapped[str] = mapped_column(String(320), default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # When `segment_members` last held the whole segment (a journey triggered by it watches
    # it); None: never, so the first sweep records who is in without calling that entering.
    members_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class SegmentMember(Base):
    """Who was in a watched segment when it was last looked at: entering and leaving are
    the differences between this and the segment now."""

    __tablename__ = "segment_members"

    segment_id: Mapped[int] = mapped_column(ForeignKey("segments.id", ondelete="CASCADE"))
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"))
    since: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (PrimaryKeyConstraint("segment_id", "contact_id"),
                      Index("ix_segment_members_contact", "contact_id"))
