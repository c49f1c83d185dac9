"""The periodic decay's arithmetic: given everyone's score parts as columns, which scores
move and to what. Engagement is stored as of `engagement_at`, so the stored parts never need
rewriting; only the rounded score (what journeys see) moves. Pure: the rows are read and
written by `scoring.repository`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import numpy as np

from scoring.engine import decay_scores


@dataclass(frozen=True)
class Parts:
    """Score parts of many contacts, one array per column, aligned by position."""

    ids: np.ndarray  # int64
    fixed: np.ndarray  # fit points plus non-decaying event points
    engagement: np.ndarray  # as it stood at each contact's engagement_at
    since: np.ndarray  # seconds from engagement_at to now
    current: np.ndarray  # int64: the score stored today


def moved(parts: Parts, half_life: timedelta) -> tuple[np.ndarray, np.ndarray]:
    """The ids whose rounded score changes, and their new scores, in the same order."""
    scores = decay_scores(parts.fixed, parts.engagement, parts.since, half_life)
    changed = scores != parts.current
    return parts.ids[changed], scores[changed]
