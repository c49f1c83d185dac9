"""Reward rules, pure: what a conversion, a purchase or a milestone earns, and for whom.

The rules come from `referral/rewards.yaml` (read by `referral.loader`). Amounts are in
minor units (cents). Nothing here reads a clock or a database: callers pass the facts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

BENEFICIARIES = ("referrer", "friend")


@dataclass(frozen=True)
class RewardRule:
    """A reward on conversion: a fixed `credit`, or a `share` (percent) of the friend's
    first-year revenue, capped. `sources` limits it to some source types (empty: all)."""

    id: str
    to: str  # referrer | friend
    kind: str  # credit | share
    amount_cents: int = 0  # credit
    percent: float = 0.0  # share
    cap_cents: int | None = None  # share: the most one referral can earn
    sources: tuple[str, ...] = ()
    label: str = ""

    def applies_to(self, source_type: str) -> bool:
        return not self.sources or source_type in self.sources


@dataclass(frozen=True)
class Milestone:
    """A bonus to the referrer when their `at`-th referral converts."""

    id: str
    at: int
    amount_cents: int
    label: str = ""


@dataclass(frozen=True)
class FraudLimits:
    per_source_per_day: int = 10  # referrals one source brings in 24 hours
    per_ip_per_day: int = 3  # referred sign-ups from one IP address in 24 hours


@dataclass(frozen=True)
class Rules:
    currency: str = "EUR"
    rewards: tuple[RewardRule, ...] = ()
    milestones: tuple[Milestone, ...] = ()
    share_window: timedelta = timedelta(days=365)  # "first year" of revenue
    fraud: FraudLimits = field(default_factory=FraudLimits)


@dataclass(frozen=True)
class Grant:
    """A reward to write to the ledger; `key` is its idempotency key."""

    key: str
    to: str
    rule: str
    kind: str
    amount_cents: int
    currency: str


def on_conversion(rules: Rules, referral_id: int, source_type: str) -> list[Grant]:
    """The fixed credits a conversion earns (shares come with revenue: `on_revenue`)."""
    return [Grant(f"{referral_id}:{r.to}:{r.id}", r.to, r.id, "credit", r.amount_cents,
                  rules.currency)
            for r in rules.rewards
            if r.kind == "credit" and r.applies_to(source_type) and r.amount_cents > 0]


def on_revenue(rules: Rules, referral_id: int, source_type: str, revenue_key: str,
               amount_cents: int, currency: str, days_since_conversion: float,
               shared_so_far: dict[str, int]) -> list[Grant]:
    """The shares one payment earns: `percent` of it while the friend is in their first
    year, never past a rule's cap (`shared_so_far`: rule id -> cents already granted)."""
    if amount_cents <= 0 or days_since_conversion > rules.share_window / timedelta(days=1):
        return []
    grants = []
    for r in rules.rewards:
        if r.kind != "share" or not r.applies_to(source_type):
            continue
        amount = round(amount_cents * r.percent / 100)
        if r.cap_cents is not None:
            amount = min(amount, r.cap_cents - shared_so_far.get(r.id, 0))
        if amount > 0:
            grants.append(Grant(f"{referral_id}:{r.to}:{r.id}:{revenue_key}", r.to, r.id,
                                "share", amount, currency or rules.currency))
    return grants


def milestones_reached(rules: Rules, source_id: int, conversions: int) -> list[Grant]:
    """Bonuses due when a source has `conversions` converted referrals; a milestone's key is
    per source, so reaching it again (a retry, or a later count) grants nothing more."""
    return [Grant(f"source-{source_id}:milestone:{m.at}", "referrer", m.id, "milestone",
                  m.amount_cents, rules.currency)
            for m in rules.milestones if conversions >= m.at]


def format_money(cents: int, currency: str) -> str:
    symbol = {"EUR": "€", "USD": "$", "GBP": "£"}.get(currency)
    text = f"{abs(cents) / 100:,.2f}"
    sign = "-" if cents < 0 else ""
    return f"{sign}{symbol}{text}" if symbol else f"{sign}{text} {currency}"
