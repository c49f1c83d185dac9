"""Net Promoter Score arithmetic: plain values in, plain values out (no database, no clock).

NPS = % promoters (9-10) - % detractors (0-6), from -100 to 100 (seed 004).

The 95% interval is the adjusted-Wald interval, the best of the six methods compared by
B. Rocks, "Interval Estimation for the 'Net Promoter Score'", The American Statistician
70(4), 2016, in the form J. Sauro and J. Lewis give it (MeasuringU, "Confidence Intervals
for Net Promoter Scores", 2021): add 3 to the sample size and 3/4 to both the promoters and
the detractors (so 1.5 to the passives), then use the variance of the difference of the
two proportions:

    n'   = n + 3
    p'   = (promoters + 0.75) / n'          d' = (detractors + 0.75) / n'
    NPS' = p' - d'
    var  = p' + d' - (p' - d')²             (one answer scored +1, 0 or -1)
    MoE  = z · √(var / n')                  z = 1.96 for 95%
    interval = NPS' ± MoE, clipped to [-100, 100] once scaled by 100

Worked example: 50 promoters, 30 passives, 20 detractors. n' = 103, p' = 0.4927,
d' = 0.2015, NPS' = 0.2913, var = 0.6942 - 0.0848 = 0.6093, MoE = 1.96 · √(0.6093 / 103)
= 0.1508. The NPS is 30.0 ± 15.1, interval 14.1 to 44.2.

The score reported is the plain NPS; the interval is centred on the adjusted NPS', so for
a small sample it is pulled towards zero and not exactly symmetric around the score.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

Z95 = 1.959963984540054  # the 97.5th percentile of the standard normal distribution
PERIODS = ("month", "quarter")
SEGMENTS = ("vertical", "stage")
ALL = "all"  # the segment name when answers are not split
# Below this many answers a score is "too few to judge": its 95% margin is wider than
# about ±30 points (one answer: ±73.5), so it cannot tell a good month from a bad one.
TOO_FEW = 30
INTERVAL = ("The 95% interval is the adjusted-Wald interval: computed this way, it holds "
            "the true NPS in 95 surveys out of 100. It adds three answers (¾ promoter, "
            "¾ detractor, 1½ passive) before computing, which pulls it towards zero, so with "
            "few answers it can even leave out the score itself.")
UNKNOWN = "unknown"  # the segment name for answers without a vertical or stage


def category(score: int) -> str:
    """promoter (9-10), passive (7-8) or detractor (0-6). Raises ValueError outside 0-10."""
    if isinstance(score, bool) or not isinstance(score, int) or not 0 <= score <= 10:
        raise ValueError(f"An NPS score is a whole number from 0 to 10, not {score!r}.")
    if score >= 9:
        return "promoter"
    return "passive" if score >= 7 else "detractor"


@dataclass(frozen=True)
class NPSResult:
    """An NPS (-100..100) with its 95% margin of error and interval; all None when n = 0."""

    score: float | None
    margin: float | None
    low: float | None
    high: float | None
    n: int


def nps(promoters: int, passives: int, detractors: int, z: float = Z95) -> NPSResult:
    """The NPS of these counts and its adjusted-Wald interval (see the module docstring)."""
    if min(promoters, passives, detractors) < 0:
        raise ValueError("Answer counts cannot be negative.")
    n = promoters + passives + detractors
    if n == 0:
        return NPSResult(None, None, None, None, 0)
    score = 100 * (promoters - detractors) / n
    n_adj = n + 3
    p_adj, d_adj = (promoters + 0.75) / n_adj, (detractors + 0.75) / n_adj
    centre = p_adj - d_adj
    margin = z * math.sqrt((p_adj + d_adj - centre ** 2) / n_adj)
    return NPSResult(score, 100 * margin, max(-100.0, 100 * (centre - margin)),
                     min(100.0, 100 * (centre + margin)), n)


def enough(n: int, threshold: int = TOO_FEW) -> bool:
    """Whether `n` answers are enough to judge a score by (see TOO_FEW)."""
    return n >= threshold


def distribution(scores: Iterable[int]) -> list[int]:
    """How many answers gave each score, 0 to 10."""
    counts = [0] * 11
    for score in scores:
        category(score)  # refuses a score outside 0-10
        counts[score] += 1
    return counts


@dataclass(frozen=True)
class AnswerRow:
    """One answer as reports need it: when, the score, and the segment at answer time."""

    answered_at: datetime
    score: int
    vertical: str = ""
    stage: str = ""


@dataclass(frozen=True)
class SegmentNPS:
    period: str  # "2026-03" or "2026-Q1"
    segment: str  # a vertical or stage, ALL when not split, UNKNOWN when not recorded
    promoters: int
    passives: int
    detractors: int
    result: NPSResult


def period_of(at: datetime, period: str) -> str:
    if period == "month":
        return f"{at.year:04d}-{at.month:02d}"
    if period == "quarter":
        return f"{at.year:04d}-Q{(at.month - 1) // 3 + 1}"
    raise ValueError(f"The period must be one of {', '.join(PERIODS)}, not {period!r}.")


def by_period_and_segment(rows: Iterable[AnswerRow], period: str = "month",
                          segment: str | None = None) -> list[SegmentNPS]:
    """NPS per period (month or quarter), and per vertical or stage when `segment` is set;
    ordered by period, then segment."""
    if period not in PERIODS:
        raise ValueError(f"The period must be one of {', '.join(PERIODS)}, not {period!r}.")
    if segment is not None and segment not in SEGMENTS:
        raise ValueError(f"The segment must be one of {', '.join(SEGMENTS)}, not {segment!r}.")
    counts: dict[tuple[str, str], dict[str, int]] = defaultdict(
        lambda: {"promoter": 0, "passive": 0, "detractor": 0})
    for row in rows:
        name = ALL if segment is None else (getattr(row, segment) or "").strip() or UNKNOWN
        counts[(period_of(row.answered_at, period), name)][category(row.score)] += 1
    return [
        SegmentNPS(key[0], key[1], c["promoter"], c["passive"], c["detractor"],
                   nps(c["promoter"], c["passive"], c["detractor"]))
        for key, c in sorted(counts.items())
    ]


def by_segment(rows: Iterable[AnswerRow], segment: str) -> list[SegmentNPS]:
    """NPS per vertical or stage over all the given answers, whatever their period (the
    period is then ALL); ordered by segment."""
    if segment not in SEGMENTS:
        raise ValueError(f"The segment must be one of {', '.join(SEGMENTS)}, not {segment!r}.")
    counts: dict[str, dict[str, int]] = defaultdict(
        lambda: {"promoter": 0, "passive": 0, "detractor": 0})
    for row in rows:
        counts[(getattr(row, segment) or "").strip() or UNKNOWN][category(row.score)] += 1
    return [SegmentNPS(ALL, name, c["promoter"], c["passive"], c["detractor"],
                       nps(c["promoter"], c["passive"], c["detractor"]))
            for name, c in sorted(counts.items())]


def as_dict(item: SegmentNPS, digits: int = 1) -> dict[str, Any]:
    """A report line as JSON-ready values, rounded for people to read."""
    result = item.result

    def rounded(value: float | None) -> float | None:
        return None if value is None else round(value, digits)

    return {"period": item.period, "segment": item.segment, "n": result.n,
            "promoters": item.promoters, "passives": item.passives,
            "detractors": item.detractors, "nps": rounded(result.score),
            "margin": rounded(result.margin), "low": rounded(result.low),
            "high": rounded(result.high), "enough": enough(result.n)}
