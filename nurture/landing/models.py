"""Landing pages a marketer defines (as files in the repo or in the database)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from nurture.db import Base, BigId, Json, UTCDateTime, utcnow


class LandingPage(Base):
    __tablename__ = "landing_pages"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    slug: Mapped[str] = mapped_column(String(120), unique=True)
    headline: Mapped[str] = mapped_column(String(200))
    body_markdown: Mapped[str] = mapped_column(Text, default="")
    hero_image: Mapped[str] = mapped_column(String(500), default="")
    hero_alt: Mapped[str] = mapped_column(String(300), default="")
    vertical: Mapped[str] = mapped_column(String(80), default="")
    form: Mapped[str] = mapped_column(String(40), default="trial")  # which form it shows
    fields: Mapped[list[str]] = mapped_column(Json, default=list)  # optional fields shown
    journey_id: Mapped[str] = mapped_column(String(120), default="trial-nurture")
    source: Mapped[str] = mapped_column(String(300), default="")  # file path, or "console"
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    settings: Mapped[dict[str, Any]] = mapped_column(Json, default=dict)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
