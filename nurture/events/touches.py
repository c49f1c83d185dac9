"""Touches (seed 001): every service, support, billing or sales contact that a person of
ours has with a customer or prospect is a touch on the contact's timeline, recorded as a
`touch.recorded` event with its `kind` (the console and API issues that follow record the
same event). Sales reads how many came before a hand-off: the domain cites about seven
touches before a purchase, and most reps give up after two or three.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from nurture.db import one_of
from nurture.events.models import Event

TOUCH = "touch.recorded"
KINDS = ("service", "support", "billing", "sales")
BEFORE_PURCHASE = 7  # seed 004: about seven touches before a purchase


@dataclass(frozen=True)
class Touches:
    """A contact's touches up to a moment: how many, and how many of each kind."""

    total: int = 0
    by_kind: dict[str, int] = field(default_factory=dict)

    @property
    def to_typical(self) -> int:
        """How many more the domain's typical purchase takes (0 once there)."""
        return max(0, BEFORE_PURCHASE - self.total)


def touches(session: Session, contact_id: int, until: datetime | None = None) -> Touches:
    """The contact's touches, all of them or those up to `until`."""
    query = select(Event.properties).where(Event.contact_id == contact_id, Event.type == TOUCH)
    if until is not None:
        query = query.where(Event.occurred_at <= until)
    by_kind = dict.fromkeys(KINDS, 0)
    for properties in session.scalars(query):
        kind = str((properties or {}).get("kind") or "")
        if kind in by_kind:
            by_kind[kind] += 1
    return Touches(sum(by_kind.values()), by_kind)


def counts_before(session: Session, wanted: Mapping[int, tuple[int, datetime]]
                  ) -> dict[int, int]:
    """For each key (a hand-off's id), how many touches its contact had up to its moment:
    `wanted` maps the key to (contact id, moment)."""
    if not wanted:
        return {}
    times: dict[int, list[datetime]] = {}
    rows = session.execute(select(Event.contact_id, Event.occurred_at).where(
        Event.type == TOUCH,
        one_of(session, Event.contact_id, sorted({cid for cid, _ in wanted.values()}))))
    for contact_id, at in rows:
        times.setdefault(contact_id, []).append(at)
    return {key: sum(1 for at in times.get(cid, ()) if at <= moment)
            for key, (cid, moment) in wanted.items()}
