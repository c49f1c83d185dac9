"""Reward rules, pure: what a conversion, a purchase or a milestone earns, and for whom.

The rules come from `referral/rewards.yaml` (read by `referral.loader`). Amounts are in
minor units (cents). Nothing here reads a clock or a database: callers pass the facts.

Besides money (credit, share, milestone), the domain names four rewards a person or an
automatic step fulfils: thanking the source, referring business back, featuring them, and
a gift. A rule may hold only for a friend whose predicted lifetime value reaches a level
(`when: {clv_at_least: ...}`), which makes tiers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

BENEFICIARIES = ("referrer", "friend")
MONEY_KINDS = ("credit", "share", "milestone")
# Fulfilled by an automatic step the moment they are earned.
AUTOMATIC_KINDS = ("thanks",)
# Fulfilled by a person, who records who and when.
PERSONAL_KINDS = ("refer-back", "feature", "gift")
FULFILLED_KINDS = AUTOMATIC_KINDS + PERSONAL_KINDS
# What costs money waits for the hold period and is then approved; a thank-you, a referral
# back or a feature can be fulfilled at once.
HELD_KINDS = (*MONEY_KINDS, "gift")
KIND_LABELS = {"credit": "credit", "share": "revenue share", "milestone": "milestone bonus",
               "thanks": "thank-you", "refer-back": "referral back", "feature": "feature",
               "gift": "gift"}
FEATURES = ("case-study", "spotlight")


@dataclass(frozen=True)
class When:
    """A condition on the referred friend: their predicted lifetime value (cents) reaches
    `clv_at_least_cents`. Without a condition a rule always holds."""

    clv_at_least_cents: int | None = None

    def holds(self, clv_cents: int | None) -> bool:
        if self.clv_at_least_cents is None:
            return True
        return clv_cents is not None and clv_cents >= self.clv_at_least_cents


@dataclass(frozen=True)
class RewardRule:
    """A reward on conversion: a fixed `credit`, a `share` (percent) of the friend's
    first-year revenue, capped, or one of the fulfilled kinds (`thanks`, `refer-back`,
    `feature`, `gift`) with what to do in `detail`. `sources` limits it to some source
    types (empty: all); `when` to some friends."""

    id: str
    to: str  # referrer | friend
    kind: str  # credit | share | one of FULFILLED_KINDS
    amount_cents: int = 0  # credit; a gift's value
    percent: float = 0.0  # share
    cap_cents: int | None = None  # share: the most one referral can earn
    sources: tuple[str, ...] = ()
    label: str = ""
    detail: str = ""  # what the thank-you says, what to feature, the gift
    when: When = field(default_factory=When)

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


def on_conversion(rules: Rules, referral_id: int, source_type: str,
                  clv_cents: int | None = None) -> list[Grant]:
    """The fixed credits and the fulfilled rewards a conversion earns (shares come with
    revenue: `on_revenue`). `clv_cents` is the friend's predicted lifetime value, None when
    it cannot be told: a rule keyed on it is then not earned."""
    return [Grant(f"{referral_id}:{r.to}:{r.id}", r.to, r.id, r.kind, r.amount_cents,
                  rules.currency)
            for r in rules.rewards
            if r.applies_to(source_type) and r.when.holds(clv_cents) and (
                r.kind in FULFILLED_KINDS or (r.kind == "credit" and r.amount_cents > 0))]


def needs_clv(rules: Rules) -> bool:
    """Whether any reward is keyed on the friend's lifetime value (worth predicting it)."""
    return any(r.when.clv_at_least_cents is not None for r in rules.rewards)


def fulfilment(kind: str) -> str:
    """Who fulfils a reward of this kind: "automatic", "person", or "" for money."""
    if kind in AUTOMATIC_KINDS:
        return "automatic"
    return "person" if kind in PERSONAL_KINDS else ""


def fulfil_refusal(kind: str, status: str, review: str) -> str | None:
    """Why a reward cannot be marked fulfilled now, as a sentence; None when it can. A gift
    costs money, so it waits for the hold period like a credit."""
    if kind not in FULFILLED_KINDS:
        return f"A {KIND_LABELS.get(kind, kind)} is paid, not fulfilled."
    if status == "fulfilled":
        return "This reward is fulfilled already."
    if status not in ("pending", "approved"):
        return f"A {status} reward cannot be fulfilled."
    if review == "flagged":
        return ("This referral is waiting for a fraud review; approve the referral "
                "first.")
    if review == "rejected":
        return "This referral was rejected in the fraud review."
    if kind == "gift" and status == "pending":
        return "A gift is sent once the hold period is over and the reward is approved."
    return None


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
