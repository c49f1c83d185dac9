"""What the roof reads about sends, each call in one read session of its own: one send
(the open pixel, a tracked click, an NPS answer's survey), the newest sends for the
dashboard, and a contact's sends a page at a time (the API).

A send row is returned detached, with its columns loaded, for the caller to read."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from nurture.db import Database
from nurture.paging import Key, after, split
from nurture.sending.models import Send


@dataclass(frozen=True)
class RecentSend:
    to_email: str
    template: str
    status: str
    created_at: datetime


def send(db: Database, send_id: int) -> Send | None:
    """The send with this id, or None."""
    with db.sessions() as session:
        return session.get(Send, send_id)


def recent_sends(db: Database, limit: int = 20) -> list[RecentSend]:
    """The newest sends, newest first."""
    with db.sessions() as session:
        return [RecentSend(*row) for row in session.execute(
            select(Send.to_email, Send.template, Send.status, Send.created_at)
            .order_by(Send.id.desc()).limit(limit))]



@dataclass(frozen=True)
class ContactSend:
    """One send as a contact's history shows it: what, from where, and what became of it."""

    id: int
    send_key: str
    template: str
    variant: str
    journey_id: str | None
    step_id: str | None
    broadcast_id: int | None
    message_class: str
    to_email: str
    status: str
    reason: str | None  # why it was skipped, deferred or failed
    feedback: str | None
    created_at: datetime
    due_at: datetime | None
    sent_at: datetime | None


def contact_sends(session: Session, contact_id: int, last: Key | None, limit: int
                  ) -> tuple[list[ContactSend], Key | None]:
    """A page of the contact's sends, newest first (whatever their status: a skipped or
    failed send keeps its reason), and the key to go on after."""
    rows = session.scalars(after(select(Send).where(Send.contact_id == contact_id),
                                 [Send.created_at, Send.id], last, limit,
                                 descending=True)).all()
    found, key = split(rows, limit, lambda s: [s.created_at, s.id])
    return [ContactSend(s.id, s.send_key, s.template, s.variant, s.journey_id, s.step_id,
                        s.broadcast_id, s.message_class, s.to_email, s.status, s.reason,
                        s.feedback, s.created_at, s.due_at, s.sent_at) for s in found], key
