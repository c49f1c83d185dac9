"""Attribution, pure: which referral code a sign-up is credited to.

A visitor's touches (share-link visits and landing pages with `?ref=`) are remembered in a
first-party cookie with the time of each. At sign-up only touches inside the window count
(default 90 days); the model picks the first or the last of them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

MODELS = ("first", "last")
KEEP = 10  # touches kept in the cookie: the first one and the latest


@dataclass(frozen=True)
class Touch:
    code: str
    at: datetime


@dataclass(frozen=True)
class Decision:
    touch: Touch | None
    reason: str  # "attributed", "no-touch" or "expired"


def add_touch(touches: Sequence[Touch], code: str, now: datetime,
              keep: int = KEEP) -> tuple[Touch, ...]:
    """The touches with a visit of `code` at `now` added. When there are too many, the
    middle ones go: the first touch matters to first-touch attribution."""
    added = (*touches, Touch(code, now))
    if len(added) > keep:
        added = (added[0], *added[len(added) - keep + 1:])
    return added


def choose(touches: Sequence[Touch], model: str, window: timedelta,
           now: datetime) -> Decision:
    """The touch credited with a sign-up at `now`, if any is recent enough."""
    if model not in MODELS:
        raise ValueError(f"The attribution model must be one of {', '.join(MODELS)}.")
    if not touches:
        return Decision(None, "no-touch")
    live = sorted((t for t in touches if now - window <= t.at <= now), key=lambda t: t.at)
    if not live:
        return Decision(None, "expired")
    return Decision(live[0] if model == "first" else live[-1], "attributed")
