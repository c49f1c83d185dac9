"""What a run of several journeys together shows: the sends per contact per week, the
collisions between journeys, and each journey's own funnel. Plain values in, plain values
and text out; `journeys.ensemble` fills it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from journeys.simulation_report import STEP_COUNTS, SimulationReport

# The message classes, in the order the tables show them. Transactional mail (log-in
# instructions, confirmations) never counts towards the frequency cap.
CLASSES = ("marketing", "service", "transactional")
EXEMPT = frozenset({"transactional"})
WEEK = timedelta(days=7)


@dataclass(frozen=True)
class WeekRow:
    """Sends per contact in one week: spread over contacts, and the mean per message class."""

    week: int
    contacts: int
    mean: float
    p50: int
    p90: int
    max: int
    over_cap: int  # contacts with more capped (non-transactional) emails than the cap
    by_class: dict[str, float] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"week": self.week, "contacts": self.contacts, "mean": self.mean,
                "p50": self.p50, "p90": self.p90, "max": self.max, "over_cap": self.over_cap,
                "mean_by_class": dict(self.by_class)}


def percentile(values: Sequence[int], q: float) -> int:
    """The nearest-rank percentile of whole numbers (0 for none)."""
    if not values:
        return 0
    ordered = sorted(values)
    return ordered[max(math.ceil(q * len(ordered)) - 1, 0)]


def weekly_table(sends: Sequence[Sequence[tuple[datetime, str]]], anchors: Sequence[datetime],
                 weeks: int, cap: int, classes: Sequence[str] = CLASSES) -> list[WeekRow]:
    """Week k of a contact runs from its anchor + 7(k-1) days to its anchor + 7k days.

    `sends[i]` are contact i's emails as (time, class); every contact counts, those with
    no email too. A contact is over the cap in a week when more than `cap` of its emails
    that week are not transactional.
    """
    rows = []
    for week in range(1, weeks + 1):
        totals, capped = [], []
        by_class = dict.fromkeys(classes, 0)
        for contact_sends, anchor in zip(sends, anchors, strict=True):
            begins = anchor + WEEK * (week - 1)
            ends = begins + WEEK
            total = counted = 0
            for moment, cls in contact_sends:
                if begins <= moment < ends:
                    total += 1
                    counted += cls not in EXEMPT
                    by_class[cls] = by_class.get(cls, 0) + 1
            totals.append(total)
            capped.append(counted)
        n = len(totals)
        rows.append(WeekRow(
            week, n, round(sum(totals) / n, 2) if n else 0.0, percentile(totals, 0.5),
            percentile(totals, 0.9), max(totals, default=0), sum(1 for x in capped if x > cap),
            {cls: round(count / n, 2) if n else 0.0 for cls, count in by_class.items()}))
    return rows


@dataclass
class EnsembleReport:
    """Several journeys run together. Equal for equal inputs, apart from `seconds`."""

    journeys: list[str]
    cohort: str
    contacts: int
    days: int
    seed: int
    start: datetime
    cap: int
    window_days: float
    reports: dict[str, SimulationReport]  # each journey's funnel, as a single run shows it
    held: dict[tuple[str, str], int] = field(default_factory=dict)  # (held, had sent) → n
    same_day: dict[tuple[str, str], int] = field(default_factory=dict)
    weeks: list[WeekRow] = field(default_factory=list)
    weeks_after: str = ""  # "purchase": weeks count from each contact's purchase
    events: dict[str, int] = field(default_factory=dict)
    max_capped_in_window: int = 0
    emails: dict[str, dict[str, int]] = field(default_factory=dict)  # journey → class → n
    seconds: float = field(default=0.0, compare=False)

    def collisions(self) -> list[dict[str, Any]]:
        """Per pair of journeys: sends of `journey` held by the cap while `because_of` had
        emails in the window (a journey paired with itself: only its own emails were), and
        emails both sent to one contact within 24 hours."""
        pairs = sorted(set(self.held) | set(self.same_day),
                       key=lambda p: (-self.held.get(p, 0), -self.same_day.get(p, 0), p))
        return [{"journey": a, "because_of": b, "held_by_cap": self.held.get((a, b), 0),
                 "same_day": self.same_day.get((a, b), 0)} for a, b in pairs]

    def to_json(self) -> dict[str, Any]:
        return {
            "journeys": list(self.journeys), "cohort": self.cohort, "contacts": self.contacts,
            "days": self.days, "seed": self.seed, "start": self.start.isoformat(),
            "pacing": {"cap": self.cap, "window_days": self.window_days,
                       "max_capped_in_window": self.max_capped_in_window},
            "weeks_after": self.weeks_after or "start",
            "sends_per_contact_per_week": [row.to_json() for row in self.weeks],
            "collisions": self.collisions(),
            "events": dict(sorted(self.events.items())),
            "per_journey": {key: {**_without_seconds(r.to_json()),
                                  "emails_by_class": dict(self.emails.get(key, {}))}
                            for key, r in self.reports.items()},
            "seconds": self.seconds,
        }

    def format_text(self) -> str:
        lines = [
            f"Simulated {len(self.journeys)} journeys together ({self.cohort}): "
            f"{self.contacts} contacts over {self.days} days from "
            f"{self.start.date().isoformat()} (seed {self.seed}) in {self.seconds:.1f} s.",
            f"Frequency cap: {self.cap} emails in {self.window_days:g} days across journeys; "
            f"at most {self.max_capped_in_window} capped emails reached one contact in a "
            "window.", ""]
        lines += [*self._weeks_text(), "", *self._collisions_text(), ""]
        for key, report in self.reports.items():
            lines += [*_funnel_text(key, report, self.emails.get(key, {})), ""]
        return "\n".join(lines).rstrip() + "\n"

    def _weeks_text(self) -> list[str]:
        since = "purchase" if self.weeks_after == "purchase" else "the start"
        classes = [c for c in CLASSES if c != "service"
                   or any(row.by_class.get(c) for row in self.weeks)]
        head = (f"  {'week':>4}  {'contacts':>8}  {'mean':>5}  {'p50':>3}  {'p90':>3}  "
                f"{'max':>3}  {'over cap':>8}  " + "  ".join(f"{c:>13}" for c in classes))
        lines = [f"Sends per contact per week after {since} (over cap: more than "
                 f"{self.cap} emails that are not transactional; per class: mean):", head]
        for row in self.weeks:
            lines.append(
                f"  {row.week:>4}  {row.contacts:>8}  {row.mean:>5.2f}  {row.p50:>3}  "
                f"{row.p90:>3}  {row.max:>3}  {row.over_cap:>8}  "
                + "  ".join(f"{row.by_class.get(c, 0):>13.2f}" for c in classes))
        return lines

    def _collisions_text(self) -> list[str]:
        rows = self.collisions()
        if not rows:
            return ["Collisions: none; no send was held by the cap and no two journeys "
                    "wrote to one contact within 24 hours."]
        width = max(len(k) for k in [*self.journeys, "because of"])
        lines = ["Collisions: sends held by the frequency cap, by the journey whose emails "
                 "were in the window (itself: only its own), and emails of both within "
                 "24 hours:",
                 f"  {'journey':<{width}}  {'because of':<{width}}  {'held by cap':>11}  "
                 f"{'same day':>8}"]
        for row in rows:
            other = "itself" if row["because_of"] == row["journey"] else row["because_of"]
            lines.append(f"  {row['journey']:<{width}}  {other:<{width}}  "
                         f"{row['held_by_cap']:>11}  {row['same_day']:>8}")
        return lines


def _funnel_text(key: str, report: SimulationReport, emails: dict[str, int]) -> list[str]:
    width = max([len(s) for s in report.steps] + [20])
    sent = ", ".join(f"{emails[c]} {c}" for c in CLASSES if emails.get(c)) or "none"
    lines = [f"{key}: enrolled {report.enrolled}, {report.active_at_end} still in it at the "
             f"end; emails: {sent}; {report.suppressed} suppressed after unsubscribing; held "
             f"{report.deferrals.get('frequency_cap', 0)} times by the cap and "
             f"{report.deferrals.get('quiet_hours', 0)} by quiet hours.",
             f"  {'step':<{width}} " + " ".join(f"{c:>10}" for c in STEP_COUNTS)]
    for step_id, counts in report.steps.items():
        lines.append(f"  {step_id:<{width}} " + " ".join(f"{counts[c]:>10}"
                                                         for c in STEP_COUNTS))
    exits = ", ".join(f"{reason} {count}" for reason, count
                      in sorted(report.exits.items(), key=lambda kv: (-kv[1], kv[0])))
    lines.append(f"  exits: {exits or 'none'}")
    return lines


def _without_seconds(data: dict[str, Any]) -> dict[str, Any]:
    data.pop("seconds", None)
    data.pop("events", None)  # events are the contacts', counted once for the run
    return data
