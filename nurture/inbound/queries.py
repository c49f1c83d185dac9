"""The kept messages as the console shows them: newest first, a page at a time, with how
many nobody has read yet."""

from __future__ import annotations

import email
from dataclasses import dataclass
from datetime import datetime
from email.message import Message
from email.policy import compat32

from sqlalchemy import func, select, update

from nurture.inbound.models import InboundMessage
from nurture.unit_of_work import Works

PER_PAGE = 50
_KEPT = InboundMessage.handled == "kept"


@dataclass(frozen=True)
class Kept:
    id: int
    received_at: datetime
    from_address: str
    to_address: str
    subject: str
    detail: str
    read: bool
    text: str = ""  # the message's text, for its own page


@dataclass(frozen=True)
class KeptPage:
    messages: list[Kept]
    total: int
    unread: int
    page: int
    pages: int


def unread(works: Works) -> int:
    """How many kept messages nobody has marked read."""
    with works.sessions() as session:
        return session.scalar(select(func.count()).select_from(InboundMessage)
                              .where(_KEPT, InboundMessage.read_at.is_(None))) or 0


def kept_page(works: Works, page: int = 1) -> KeptPage:
    """One page of kept messages, newest first (a page past the end is the last)."""
    with works.sessions() as session:
        total = session.scalar(select(func.count()).select_from(InboundMessage)
                               .where(_KEPT)) or 0
        pages = max(1, -(-total // PER_PAGE))
        page = min(max(1, page), pages)
        rows = session.scalars(select(InboundMessage).where(_KEPT)
                               .order_by(InboundMessage.received_at.desc(),
                                         InboundMessage.id.desc())
                               .limit(PER_PAGE).offset((page - 1) * PER_PAGE)).all()
        messages = [_kept(row) for row in rows]
    return KeptPage(messages, total, unread(works), page, pages)


def kept(works: Works, message_id: int) -> Kept | None:
    """One kept message with its text, or None."""
    with works.sessions() as session:
        row = session.get(InboundMessage, message_id)
        if row is None or row.handled != "kept":
            return None
        return _kept(row, with_text=True)


def mark_read(works: Works, message_id: int, by: str) -> bool:
    """Mark a kept message read (once: the first reader is kept); False if no such one."""
    with works.transaction() as session:
        found = session.scalar(select(InboundMessage.id).where(
            InboundMessage.id == message_id, _KEPT))
        session.execute(update(InboundMessage).where(
            InboundMessage.id == message_id, _KEPT, InboundMessage.read_at.is_(None))
            .values(read_at=works.now(), read_by=by[:320]))
    return found is not None


def _kept(row: InboundMessage, with_text: bool = False) -> Kept:
    return Kept(row.id, row.received_at, row.from_address, row.to_address, row.subject,
                row.detail, row.read_at is not None,
                _text(row.raw, row.truncated) if with_text else "")


def _text(raw: bytes, truncated: bool) -> str:
    """The first text/plain part, decoded, else the raw message as text."""
    msg = email.message_from_bytes(raw, policy=compat32)
    part = next((p for p in msg.walk() if p.get_content_type() == "text/plain"), None)
    text = _decoded(part) if part is not None else raw.decode("utf-8", errors="replace")
    return text + ("\n[… cut: the message was larger than Nurture keeps]" if truncated else "")


def _decoded(part: Message) -> str:
    payload = part.get_payload(decode=True)
    data = payload if isinstance(payload, bytes) else b""
    try:
        return data.decode(part.get_content_charset() or "utf-8", errors="replace")
    except LookupError:
        return data.decode("utf-8", errors="replace")
