"""Scoring rules as plain values, and how they match. Pure: no database, no clock.

A marketer writes them in `scoring/rules.yaml` (see `loader.py`):
- **fit** rules score who the contact is (industry, size, role, country, email domain);
  they hold while the condition holds and do not decay;
- **engagement** rules score what the contact does (event types, optionally filtered by
  properties), with an optional cap per day/week/month; their points decay with a half-life
  unless the rule says `decays: false` (penalties such as a hard bounce stay);
- the **hand-off** policy says when a lead goes to sales.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

FIT_FIELDS = ("industry", "company_size", "role", "country", "email_domain", "stage",
              "company", "timezone")
PERIODS = {"day": timedelta(days=1), "week": timedelta(days=7), "month": timedelta(days=30)}


@dataclass(frozen=True)
class Matcher:
    """One condition on a value: one of a list, a numeric range, or a pattern."""

    one_of: tuple[str, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    pattern: re.Pattern[str] | None = None

    def matches(self, value: Any) -> bool:
        if value is None or value == "":
            return False
        if self.one_of and str(value).strip().lower() not in self.one_of:
            return False
        if self.minimum is not None or self.maximum is not None:
            try:
                number = float(value)
            except (TypeError, ValueError):
                return False
            if self.minimum is not None and number < self.minimum:
                return False
            if self.maximum is not None and number > self.maximum:
                return False
        return not (self.pattern and not self.pattern.search(str(value)))


@dataclass(frozen=True)
class FitRule:
    id: str
    points: float
    when: Mapping[str, Matcher]
    label: str = ""

    def applies(self, facts: Mapping[str, Any]) -> bool:
        return all(m.matches(facts.get(name)) for name, m in self.when.items())


@dataclass(frozen=True)
class Cap:
    points: float
    period: str  # day | week | month

    def window_start(self, at: datetime) -> datetime:
        """The start of the period `at` falls in: calendar day, ISO week, or 30-day block."""
        day = at.replace(hour=0, minute=0, second=0, microsecond=0)
        if self.period == "day":
            return day
        if self.period == "week":
            return day - timedelta(days=day.weekday())
        return day.replace(day=1)


@dataclass(frozen=True)
class EngagementRule:
    id: str
    event: str
    points: float
    where: Mapping[str, Matcher] = field(default_factory=dict)
    unless: Mapping[str, Matcher] = field(default_factory=dict)  # any match excludes
    cap: Cap | None = None
    decays: bool = True
    label: str = ""

    def applies(self, event_type: str, properties: Mapping[str, Any]) -> bool:
        return (event_type == self.event
                and all(m.matches(properties.get(name)) for name, m in self.where.items())
                and not any(m.matches(properties.get(name)) for name, m in self.unless.items()))


@dataclass(frozen=True)
class HandoffPolicy:
    threshold: float = 50
    min_grade: str = "D"  # leads graded below this are not handed off on score alone
    velocity_events: int = 3
    velocity_days: int = 14
    hand_raisers: tuple[str, ...] = ("demo.requested", "trial.converted")
    cooldown: timedelta = timedelta(days=30)
    sla: timedelta = timedelta(hours=24)
    stages: tuple[str, ...] = ("learn", "try", "buy")


@dataclass(frozen=True)
class Rules:
    fit: tuple[FitRule, ...] = ()
    engagement: tuple[EngagementRule, ...] = ()
    half_life: timedelta = timedelta(days=30)
    grades: tuple[tuple[str, float], ...] = (("A", 40), ("B", 25), ("C", 10))
    handoff: HandoffPolicy = HandoffPolicy()

    @property
    def event_types(self) -> set[str]:
        return {rule.event for rule in self.engagement}

    def grade(self, fit_points: float) -> str:
        for letter, minimum in self.grades:
            if fit_points >= minimum:
                return letter
        return "D"

    def label(self, rule_id: str) -> str:
        every: tuple[FitRule | EngagementRule, ...] = (*self.fit, *self.engagement)
        for rule in every:
            if rule.id == rule_id:
                return rule.label or rule.id
        return rule_id


GRADE_ORDER = "ABCD"


def grade_at_least(grade: str, minimum: str) -> bool:
    return GRADE_ORDER.find(grade or "D") <= GRADE_ORDER.find(minimum or "D")


def fit_facts(fields: Mapping[str, Any]) -> dict[str, Any]:
    """The values fit rules look at, from a contact's fields."""
    facts = {name: fields.get(name) for name in FIT_FIELDS if name != "email_domain"}
    email = str(fields.get("email") or "")
    facts["email_domain"] = email.rsplit("@", 1)[-1].lower() if "@" in email else ""
    return facts
