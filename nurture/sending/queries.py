"""What the roof reads about sends, each call in one read session of its own: one send
(the open pixel, a tracked click, an NPS answer's survey) and the newest sends for the
dashboard.

A send row is returned detached, with its columns loaded, for the caller to read."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from nurture.db import Database
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

