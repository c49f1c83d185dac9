"""User rows. Sales users carry the verticals and territories they cover, for routing."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from nurture.db import Base, BigId, Json, UTCDateTime, utcnow

ROLES = ("sales", "marketer", "admin")


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)  # stored lower-cased
    name: Mapped[str] = mapped_column(String(200), default="")
    role: Mapped[str] = mapped_column(String(20))
    password_hash: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    verticals: Mapped[list[str]] = mapped_column(Json, default=list)  # empty: any vertical
    territories: Mapped[list[str]] = mapped_column(Json, default=list)  # ISO countries; empty: any
    last_assigned_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # Raised by a sign-out, "sign out everywhere", a password change or a deactivation: a
    # session cookie made under an older version no longer opens anything.
    session_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
