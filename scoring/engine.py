"""Score arithmetic: fit, capped engagement with a half-life, explanations and the hand-off
decision. Pure: plain values in, decisions out, `now` always a parameter.

Engagement is kept as one number as it stood at `engagement_at`; its value at any later
time is that number halved every `half_life`. A delta earned at `t` is folded in exactly,
whether `t` is after or before `engagement_at`, so the stored value always equals the sum
over the ledger of `delta * 0.5 ** ((now - at) / half_life)`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import numpy as np

from scoring.rules import FitRule, HandoffPolicy, Matcher, Rules, grade_at_least


@dataclass
class ScoreState:
    """One contact's score parts (the `contact_scores` row as plain values)."""

    fixed: float = 0.0  # fit points plus non-decaying event points
    engagement: float = 0.0
    engagement_at: datetime | None = None
    fit_points: dict[str, float] = field(default_factory=dict)  # fit rule -> points held

    def engagement_now(self, now: datetime, half_life: timedelta) -> float:
        if self.engagement_at is None or not self.engagement:
            return 0.0
        return self.engagement * decay_factor(now - self.engagement_at, half_life)

    def total(self, now: datetime, half_life: timedelta) -> float:
        return self.fixed + self.engagement_now(now, half_life)

    def add_engagement(self, delta: float, at: datetime, half_life: timedelta) -> None:
        if self.engagement_at is None:
            self.engagement, self.engagement_at = delta, at
        elif at >= self.engagement_at:
            self.engagement = self.engagement_now(at, half_life) + delta
            self.engagement_at = at
        else:
            self.engagement += delta * decay_factor(self.engagement_at - at, half_life)


@dataclass(frozen=True)
class Delta:
    """One ledger row to append."""

    contact_id: int
    kind: str  # fit | engagement | fixed
    rule: str
    delta: float
    at: datetime
    event_id: int | None = None


@dataclass(frozen=True)
class ScoredEvent:
    contact_id: int
    event_id: int | None
    type: str
    properties: Mapping[str, Any]
    at: datetime


@dataclass(frozen=True)
class Contribution:
    rule: str
    label: str
    kind: str
    points: float  # what the rule is worth now (engagement decayed)
    events: int


def decay_factor(elapsed: timedelta, half_life: timedelta) -> float:
    return math.pow(0.5, elapsed / half_life)


def rounded(value: float) -> int:
    """Half away from zero, not Python's banker's rounding: 49.5 is 50."""
    return int(math.copysign(math.floor(abs(value) + 0.5), value))


MEMO_VALUES = 50_000  # field values a FitMemo remembers (some 8 MB)


class FitMemo:
    """The fit rules' verdicts for a batch of contacts, each condition tested once per
    value: a batch shares a few industries, sizes and roles (an import's 5,000 contacts
    would test 40,000 conditions on a few hundred values). Each condition is a bit; a
    field's value gives the bits of the conditions it meets, and a contact holds the
    rules whose bits its values together meet. Contacts that hold the same rules share
    one dict of points, which the bulk writer then converts once."""

    def __init__(self, rules: Rules):
        self.rules = rules
        self._conditions: dict[str, list[tuple[Matcher, int]]] = {}
        self._needs: list[tuple[FitRule, int]] = []
        bit = 0
        for rule in rules.fit:
            mask = 0
            for name, matcher in rule.when.items():
                self._conditions.setdefault(name, []).append((matcher, 1 << bit))
                mask |= 1 << bit
                bit += 1
            self._needs.append((rule, mask))
        self._bits: dict[tuple[str, type, Any], int] = {}
        self._held: dict[int, dict[str, float]] = {}

    def held(self, facts: Mapping[str, Any]) -> dict[str, float]:
        """The fit rules that hold for these facts, with their points."""
        met = 0
        for name in self._conditions:
            met |= self._met(name, facts.get(name))
        if met not in self._held:
            self._held[met] = {rule.id: rule.points for rule, needs in self._needs
                               if met & needs == needs}
        return self._held[met]

    def _met(self, name: str, value: Any) -> int:
        try:
            key = (name, type(value), value)  # 1 and True are equal keys, not equal text
            bits = self._bits.get(key)
        except TypeError:  # an unhashable value: tested as it comes
            return self._test(name, value)
        if bits is None:
            if len(self._bits) >= MEMO_VALUES:  # bounded: a file of a million domains
                self._bits.clear()
            bits = self._bits[key] = self._test(name, value)
        return bits

    def _test(self, name: str, value: Any) -> int:
        bits = 0
        for matcher, bit in self._conditions[name]:
            if matcher.matches(value):
                bits |= bit
        return bits


def refit(rules: Rules, contact_id: int, state: ScoreState, facts: Mapping[str, Any],
          now: datetime, memo: FitMemo | None = None) -> list[Delta]:
    """Re-evaluate the fit rules; a delta for each rule that starts, stops or changes.
    The points held become the state's (shared with other contacts when from `memo`: a
    state's points are replaced, never changed in place)."""
    held = memo.held(facts) if memo is not None else \
        {rule.id: rule.points for rule in rules.fit if rule.applies(facts)}
    deltas = []
    for rule_id in sorted(held.keys() | state.fit_points.keys()):
        change = held.get(rule_id, 0.0) - state.fit_points.get(rule_id, 0.0)
        if change:
            deltas.append(Delta(contact_id, "fit", rule_id, change, now))
            state.fixed += change
    state.fit_points = held
    return deltas


def score_event(rules: Rules, state: ScoreState, event: ScoredEvent,
                used: dict[tuple[str, datetime], float]) -> list[Delta]:
    """The deltas one event earns. `used` holds the points each capped rule has already
    given this contact in each period (it is updated, so a batch respects its caps)."""
    deltas = []
    for rule in rules.engagement:
        if not rule.applies(event.type, event.properties):
            continue
        points = rule.points
        if rule.cap is not None and points > 0:
            window = (rule.id, rule.cap.window_start(event.at))
            points = max(0.0, min(points, rule.cap.points - used.get(window, 0.0)))
            used[window] = used.get(window, 0.0) + points
        if not points:
            continue
        if rule.decays:
            state.add_engagement(points, event.at, rules.half_life)
            deltas.append(Delta(event.contact_id, "engagement", rule.id, points, event.at,
                                event.event_id))
        else:
            state.fixed += points
            deltas.append(Delta(event.contact_id, "fixed", rule.id, points, event.at,
                                event.event_id))
    return deltas


def score_from_ledger(entries: Iterable[tuple[str, float, datetime]], now: datetime,
                      half_life: timedelta) -> float:
    """The score at `now` from ledger rows (kind, delta, at) alone."""
    total = 0.0
    for kind, delta, at in entries:
        if at > now:
            continue
        total += delta * decay_factor(now - at, half_life) if kind == "engagement" else delta
    return total


def explain(rules: Rules, entries: Iterable[tuple[Any, ...]], now: datetime,
            top: int = 8) -> list[Contribution]:
    """The rules that make up the score at `now`, biggest first: (rule, kind, delta, at)
    or (rule, kind, delta, at, entries), `entries` the changes a folded row stands for."""
    points: dict[str, float] = {}
    kinds: dict[str, str] = {}
    counts: dict[str, int] = {}
    for rule, kind, delta, at, *folded in entries:
        if at > now:
            continue
        value = delta * decay_factor(now - at, rules.half_life) if kind == "engagement" else delta
        points[rule] = points.get(rule, 0.0) + value
        kinds[rule] = kind
        counts[rule] = counts.get(rule, 0) + ((folded[0] if folded else 1)
                                              if kind != "fit" else 0)
    ranked = sorted((r for r in points if abs(points[r]) >= 0.05),
                    key=lambda r: (-abs(points[r]), r))
    return [Contribution(r, rules.label(r), kinds[r], round(points[r], 1), counts[r])
            for r in ranked[:top]]


@dataclass(frozen=True)
class HandoffCase:
    """What the hand-off decision needs to know about one lead."""

    score: int
    grade: str
    stage: str
    recent_engagements: int  # scored engagement events within the velocity window
    hand_raiser: str | None = None  # a hand-raiser event type in this batch
    open_handoff: bool = False
    last_handoff_at: datetime | None = None  # the later of the last hand-off and its closing


def handoff_reason(policy: HandoffPolicy, case: HandoffCase, now: datetime
                   ) -> tuple[str, str] | None:
    """(trigger, reason) when the lead should go to sales now, else None."""
    if case.open_handoff or case.stage not in policy.stages:
        return None
    if case.last_handoff_at is not None and now - case.last_handoff_at < policy.cooldown:
        return None
    if case.hand_raiser:
        return "hand_raiser", f"Raised a hand: {case.hand_raiser}."
    if (case.score >= policy.threshold and grade_at_least(case.grade, policy.min_grade)
            and case.recent_engagements >= policy.velocity_events):
        return "score", (f"Score {case.score} reached the threshold of {policy.threshold:g} "
                         f"with {case.recent_engagements} engagements in the last "
                         f"{policy.velocity_days} days (grade {case.grade}).")
    return None


def decay_scores(fixed: np.ndarray, engagement: np.ndarray, seconds_since: np.ndarray,
                 half_life: timedelta) -> np.ndarray:
    """Every contact's score at once: fixed + engagement halved per half-life, rounded half
    away from zero. `seconds_since` is the time since each `engagement_at`."""
    value = fixed + engagement * np.exp2(-seconds_since / half_life.total_seconds())
    return np.asarray(np.sign(value) * np.floor(np.abs(value) + 0.5), dtype=np.int64)
