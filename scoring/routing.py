"""Which sales rep gets a lead: round-robin among the reps whose verticals and territories
fit it best. Pure: users and the lead come in as plain values."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Rep:
    id: int
    verticals: tuple[str, ...]  # empty: any vertical
    territories: tuple[str, ...]  # empty: any country
    last_assigned_at: datetime | None


def specificity(rep: Rep, industry: str, country: str) -> int | None:
    """How specifically a rep covers a lead (2: vertical and territory, 0: a generalist),
    or None when the rep does not cover it at all."""
    industry, country = (industry or "").lower(), (country or "").upper()
    score = 0
    if rep.verticals:
        if industry not in {v.lower() for v in rep.verticals}:
            return None
        score += 1
    if rep.territories:
        if country not in {t.upper() for t in rep.territories}:
            return None
        score += 1
    return score


def choose_rep(reps: Sequence[Rep], industry: str, country: str,
               exclude: int | None = None) -> Rep | None:
    """The most specific reps for the lead take turns: the one assigned least recently
    (never assigned first, then lowest id) gets it."""
    covering = [(s, rep) for rep in reps if rep.id != exclude
                and (s := specificity(rep, industry, country)) is not None]
    if not covering:
        return None
    best = max(s for s, _ in covering)
    group = [rep for s, rep in covering if s == best]
    return min(group, key=lambda r: (r.last_assigned_at is not None,
                                     r.last_assigned_at or datetime.min, r.id))
