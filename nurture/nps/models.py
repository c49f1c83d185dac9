"""NPS answers: one per contact and survey, changeable by the person who gave it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from nurture.db import Base, BigId, UTCDateTime, utcnow


class NPSResponse(Base):
    __tablename__ = "nps_responses"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"))
    survey: Mapped[str] = mapped_column(String(120))  # the survey send, e.g. its id
    score: Mapped[int] = mapped_column(Integer)
    category: Mapped[str] = mapped_column(String(12))  # promoter | passive | detractor
    reason: Mapped[str] = mapped_column(Text, default="")
    # The segment at answer time, so that reports by segment do not shift later.
    vertical: Mapped[str] = mapped_column(String(80), default="")
    stage: Mapped[str] = mapped_column(String(20), default="")
    answered_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        UniqueConstraint("contact_id", "survey"),
        Index("ix_nps_answered", "answered_at"),
    )
