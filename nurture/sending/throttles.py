"""Throttles: rules, registered by the composition root, that hold back a kind of email
from contacts who had one recently (the NPS survey's, for one). Sending knows only this
shape; the domain that owns the rule (`nurture.nps`) implements it."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Protocol

from sqlalchemy.orm import Session


class Throttle(Protocol):
    """Holds back the sends of some templates to contacts recently reached."""

    @property
    def reason(self) -> str:
        """The skip reason recorded on a held-back send (`nps_throttled`)."""

    def applies(self, template: str) -> bool:
        """Whether sends of this template are throttled."""

    def recent(self, session: Session, contact_ids: Iterable[int], now: datetime) -> set[int]:
        """The contacts among `contact_ids` that may not get another one now."""
