"""The frequency cap and quiet hours for a broadcast's sends, checked as they go out: a
send that may not go now is deferred (due again when it may, its reason recorded and
counted), never dropped. The send pipeline calls this through its `Deferral` shape; the
composition root registers it. Journey sends are paced when the journey makes them."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Row, select
from sqlalchemy.orm import Session

from journeys.schedule import Pacing
from nurture.broadcasts.plan import later
from nurture.db import one_of
from nurture.sending.classes import MARKETING
from nurture.sending.models import Send


@dataclass(frozen=True)
class CapAndQuietHours:
    pacing: Pacing

    def later(self, session: Session, rows: list[tuple[Row, Row]],
              now: datetime) -> dict[int, tuple[datetime, str]]:
        mine = [(send, contact) for send, contact in rows
                if send.broadcast_id is not None and send.message_class == MARKETING]
        if not mine:
            return {}
        recent = _recent(session, {contact.id for _, contact in mine}, now, self.pacing)
        found: dict[int, tuple[datetime, str]] = {}
        for send, contact in mine:
            deferred = later(now, contact.timezone, recent[contact.id], self.pacing)
            if deferred is not None:
                found[send.id] = deferred
        return found


def _recent(session: Session, contact_ids: set[int], now: datetime,
            pacing: Pacing) -> defaultdict[int, list[datetime]]:
    """Each contact's marketing email handed over within the cap's window."""
    found: defaultdict[int, list[datetime]] = defaultdict(list)
    for contact_id, at in session.execute(
            select(Send.contact_id, Send.sent_at)
            .where(one_of(session, Send.contact_id, contact_ids),
                   Send.message_class == MARKETING, Send.status.in_(("sent", "sending")),
                   Send.sent_at > now - pacing.window)):
        if at is not None:
            found[contact_id].append(at)
    return found



