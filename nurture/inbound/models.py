"""Every message that came in, once: the dedupe key of both inbound paths, and what was
done with it. Messages nobody could act on (replies, out-of-office...) are kept here for a
person to read in the console."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Index, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from nurture.db import Base, BigId, UTCDateTime, utcnow

# What happened to a message: the unsubscribe applied, the bounce or complaint recorded,
# or kept for a person.
HANDLED = ("unsubscribed", "bounce", "complaint", "kept")
RAW_CAP = 256 * 1024  # bytes of the message kept; the rest is cut (the mailbox has it all)


class InboundMessage(Base):
    __tablename__ = "inbound_messages"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    # The Message-ID, or "sha256:<hex>" of the message when it has none.
    message_id: Mapped[str] = mapped_column(String(300), unique=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    from_address: Mapped[str] = mapped_column(String(320), default="")
    to_address: Mapped[str] = mapped_column(String(320), default="")
    subject: Mapped[str] = mapped_column(String(300), default="")
    handled: Mapped[str] = mapped_column(String(16))  # one of HANDLED
    detail: Mapped[str] = mapped_column(String(300), default="")
    source: Mapped[str] = mapped_column(String(20))  # imap | inbound-api
    raw: Mapped[bytes] = mapped_column(LargeBinary)
    truncated: Mapped[bool] = mapped_column(Boolean, default=False)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    read_by: Mapped[str | None] = mapped_column(String(320), nullable=True)

    __table_args__ = (Index("ix_inbound_messages_handled_received", "handled", "received_at"),)
