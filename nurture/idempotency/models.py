"""One row per `Idempotency-Key` a caller sent: what was asked, and the answer to replay."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from nurture.db import Base, BigId, UTCDateTime


class IdempotencyKey(Base):
    __tablename__ = "idempotency_keys"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    # SHA-256 of the caller and their key: keys are the caller's own namespace.
    scoped: Mapped[str] = mapped_column(String(64), unique=True)
    # SHA-256 of the method, path and body: the same key for another request is refused.
    fingerprint: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    # Empty until the first answer is stored; a row still empty is a request in flight.
    status: Mapped[int | None] = mapped_column(Integer, nullable=True)
    content_type: Mapped[str | None] = mapped_column(String(100), nullable=True)
    location: Mapped[str | None] = mapped_column(Text, nullable=True)
    response_body: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
