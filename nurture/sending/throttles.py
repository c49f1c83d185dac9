"""Throttles and deferrals: rules, registered by the composition root. A throttle holds back
(skips) a kind of email from contacts who had one recently (the NPS survey's, for one); a
deferral moves a send later, keeping it queued (a broadcast over the frequency cap or in
quiet hours). Sending knows only these shapes; the domain that owns the rule (`nurture.nps`,
`nurture.broadcasts`) implements them."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Protocol

from sqlalchemy import Row, update
from sqlalchemy.orm import Session

from nurture.db import rowcount
from nurture.sending.models import Send


class Throttle(Protocol):
    """Holds back the sends of some templates to contacts recently reached."""

    @property
    def reason(self) -> str:
        """The skip reason recorded on a held-back send (`nps_throttled`)."""

    def applies(self, template: str) -> bool:
        """Whether sends of this template are throttled."""

    def recent(self, session: Session, contact_ids: Iterable[int], now: datetime) -> set[int]:
        """The contacts among `contact_ids` that may not get another one now."""


class Deferral(Protocol):
    """Moves some sends, about to go, to a later due time."""

    def later(self, session: Session, rows: list[tuple[Row, Row]],
              now: datetime) -> dict[int, tuple[datetime, str]]:
        """For the (send, contact) rows that may not go at `now`: send id -> (when they
        may, the reason recorded on the send while it waits)."""


def defer(session: Session, later: dict[int, tuple[datetime, str]]) -> int:
    """Give sends a later due time, with the reason, leaving them queued: counted and seen
    as deferred, never dropped. Only a send still queued moves (a cancel stands). Returns
    how many moved."""
    deferred = 0
    for send_id, (due, reason) in sorted(later.items()):
        deferred += rowcount(session.execute(
            update(Send).where(Send.id == send_id, Send.status == "queued")
            .values(due_at=due, reason=reason[:200], lease_until=None)
            .execution_options(synchronize_session=False)))
    return deferred
