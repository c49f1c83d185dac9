"""What a simulated run shows for one journey: its funnel, exits and emails per day, as
text and as JSON. `journeys.simulator` and `journeys.ensemble` fill it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from journeys import definition as j
from journeys.schedule import Pacing

START = datetime(2025, 1, 6, tzinfo=UTC)  # a Monday; fixed so that CI runs are repeatable
STEP_COUNTS = ("entered", "completed", "sent", "recipients", "deferred")


@dataclass
class SimulationReport:
    """What happened. Equal for equal inputs, apart from `seconds` (left out of comparisons)."""

    journey: str
    contacts: int
    days: int
    seed: int
    start: datetime
    cap: int
    window_days: float
    steps: dict[str, dict[str, int]]
    marketing: list[int]  # marketing emails sent per day
    transactional: list[int]
    service: list[int]  # service email (onboarding, renewal, notices), sent without consent
    enrolled: int = 0
    active_at_end: int = 0
    exits: dict[str, int] = field(default_factory=dict)
    deferrals: dict[str, int] = field(
        default_factory=lambda: {"frequency_cap": 0, "quiet_hours": 0})
    suppressed: int = 0  # marketing emails not sent: the contact had unsubscribed
    recipients: int = 0
    events: dict[str, int] = field(default_factory=dict)  # generated, by type
    handoffs: int = 0
    webhooks: int = 0
    max_marketing_in_window: int = 0  # most marketing emails one contact got in one window
    seconds: float = field(default=0.0, compare=False)

    @classmethod
    def empty(cls, journey: j.Journey, contacts: int, days: int, seed: int, start: datetime,
              pacing: Pacing) -> SimulationReport:
        steps = {s.id: dict.fromkeys(STEP_COUNTS, 0) for s in journey.steps}
        return cls(journey.id, contacts, days, seed, start, pacing.cap,
                   pacing.window.total_seconds() / 86400, steps, [0] * days, [0] * days,
                   [0] * days)

    @property
    def totals(self) -> dict[str, int]:
        marketing, transactional = sum(self.marketing), sum(self.transactional)
        service = sum(self.service)
        return {
            "contacts": self.contacts, "enrolled": self.enrolled,
            "active_at_end": self.active_at_end, "emails": marketing + service + transactional,
            "marketing": marketing, "service": service, "transactional": transactional,
            "suppressed": self.suppressed, "recipients": self.recipients,
            "events": sum(self.events.values()), "handoffs": self.handoffs,
            "webhooks": self.webhooks}

    def sends_per_day(self) -> list[dict[str, Any]]:
        return [{"day": i + 1, "date": (self.start + timedelta(days=i)).date().isoformat(),
                 "marketing": m, "service": s, "transactional": t}
                for i, (m, s, t) in enumerate(zip(self.marketing, self.service,
                                                  self.transactional, strict=True))]

    def to_json(self) -> dict[str, Any]:
        return {
            "journey": self.journey, "contacts": self.contacts, "days": self.days,
            "seed": self.seed, "start": self.start.isoformat(),
            "steps": {k: dict(v) for k, v in self.steps.items()},
            "exits": dict(sorted(self.exits.items(), key=lambda kv: (-kv[1], kv[0]))),
            "sends_per_day": self.sends_per_day(), "deferrals": dict(self.deferrals),
            "totals": self.totals, "events": dict(sorted(self.events.items())),
            "pacing": {"cap": self.cap, "window_days": self.window_days,
                       "max_marketing_in_window": self.max_marketing_in_window},
            "seconds": self.seconds,
        }

    def format_text(self) -> str:
        totals, width = self.totals, max([len(s) for s in self.steps] + [20])
        lines = [
            f"Simulated {self.journey}: {self.contacts} contacts over {self.days} days from "
            f"{self.start.date().isoformat()} (seed {self.seed}) in {self.seconds:.1f} s.",
            f"Enrolled {totals['enrolled']}; {totals['active_at_end']} still in the journey "
            "at the end.", "",
            f"{'step':<{width}} " + " ".join(f"{c:>10}" for c in STEP_COUNTS),
        ]
        for step_id, counts in self.steps.items():
            lines.append(f"{step_id:<{width}} "
                         + " ".join(f"{counts[c]:>10}" for c in STEP_COUNTS))
        lines += ["", "Exits:"] + [f"  {reason:<{width}} {count:>10}" for reason, count
                                   in self.to_json()["exits"].items()]
        lines += [
            "", f"Emails: {totals['marketing']} marketing, {totals['service']} service, "
            f"{totals['transactional']} transactional, {totals['recipients']} recipients, "
            f"{totals['suppressed']} suppressed after unsubscribing.",
            f"Deferrals: {self.deferrals.get('frequency_cap', 0)} by the frequency cap, "
            f"{self.deferrals.get('quiet_hours', 0)} by quiet hours; at most "
            f"{self.max_marketing_in_window} marketing emails to one contact in "
            f"{self.window_days:g} days (cap {self.cap}).",
            f"Handoffs: {self.handoffs}; webhooks: {self.webhooks}.", "", "Sends per day:",
            f"  {'day':>5}  {'date':<10}  {'marketing':>10}  {'service':>8}  "
            f"{'transactional':>13}",
        ]
        lines += [f"  {row['day']:>5}  {row['date']}  {row['marketing']:>10}  "
                  f"{row['service']:>8}  {row['transactional']:>13}"
                  for row in self.sends_per_day()
                  if row["marketing"] or row["service"] or row["transactional"]]
        lines += ["", "Events generated:"] + [f"  {name:<{width}} {count:>10}"
                                              for name, count in sorted(self.events.items())]
        return "\n".join(lines)
