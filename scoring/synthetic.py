"""Synthetic B2B lead history, so that the predictive model can be trained and evaluated on an
installation (or in tests) that has no history of its own.

Leads arrive over the months before `now` with plausible fit attributes. Each one gets a
nurture email every few days; opens and clicks come in bursts after the emails and fade as
interest decays; some leads download content, attend a webinar, ask for a demo or start a
trial and activate seats; some convert (`trial.converted` and/or `purchase.completed` with an
amount) and customers renew and expand, so that revenue history exists too.

`signal` plants what the model should find: with `signal > 0` the chance of converting rises
with fit and with engagement in the first 14 days; with `signal == 0` whether and when a lead
converts is drawn independently of everything the model sees (pure noise). Either way about
`BASE_RATE` of leads convert. Pure: plain records out, from a seeded `random.Random`.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from scoring.features import EUROPE, Lead, Touch, is_machine, seniority

BASE_RATE = 0.12
DAY = timedelta(days=1)

INDUSTRIES = {"retail": 20, "financial-services": 18, "healthcare": 16, "public-sector": 10,
              "manufacturing": 12, "technology": 12, "education": 7, "logistics": 5}
ROLES = {"CEO": 4, "CTO": 5, "CFO": 3, "CIO": 2, "Founder": 2, "VP Engineering": 3,
         "VP Operations": 2, "Vice President, Sales": 1, "IT Director": 5,
         "Director of Finance": 3, "Head of IT": 3, "IT manager": 10, "Office manager": 7,
         "Operations lead": 6, "Procurement manager": 4, "Developer": 10,
         "Systems administrator": 8, "Analyst": 6, "Consultant": 5, "Student": 2}
PLACES = {("US", "America/New_York"): 18, ("US", "America/Los_Angeles"): 10,
          ("CA", "America/Toronto"): 4, ("GB", "Europe/London"): 10, ("FR", "Europe/Paris"): 10,
          ("DE", "Europe/Berlin"): 10, ("NL", "Europe/Amsterdam"): 4, ("ES", "Europe/Madrid"): 4,
          ("IT", "Europe/Rome"): 3, ("JP", "Asia/Tokyo"): 4, ("AU", "Australia/Sydney"): 4,
          ("IN", "Asia/Kolkata"): 5, ("BR", "America/Sao_Paulo"): 4, ("SG", "Asia/Singapore"): 2}
FIRST = ["Ana", "Ben", "Chloe", "Dev", "Emma", "Farid", "Grace", "Hugo", "Ines", "Jonas",
         "Keiko", "Liam", "Maya", "Noah", "Olga", "Priya", "Quentin", "Rosa", "Sam", "Tariq",
         "Uma", "Victor"]
LAST = ["Martin", "Smith", "Okafor", "Tanaka", "Muller", "Rossi", "Dubois", "Silva", "Khan",
        "Novak", "Garcia", "Lee", "Nguyen", "Jensen", "Kowalski", "Haddad"]
COMPANY_WORDS = ["Retail", "Partners", "Health", "Group", "Labs", "Systems", "Logistics",
                 "Capital", "Works", "Digital"]
PAGES = ["/pricing", "/product", "/security", "/customers", "/blog/email-deliverability",
         "/docs/getting-started", "/integrations", "/about"]
ASSETS = ["buyers-guide.pdf", "security-whitepaper.pdf", "roi-calculator.xlsx", "case-study.pdf"]
SERVICES = ["mail", "files", "calendar", "chat"]
# Planted effects on the log-odds of converting (scaled by `signal`).
INDUSTRY_EFFECT = {"financial-services": 0.6, "healthcare": 0.4, "retail": 0.2,
                   "public-sector": -0.4}
SENIORITY_EFFECT = {"c_level": 0.5, "vp": 0.5, "director": 0.4, "manager": 0.2}


@dataclass(frozen=True, slots=True)
class SyntheticContact:
    email: str
    first_name: str
    last_name: str
    company: str
    role: str
    industry: str
    company_size: int | None
    country: str
    timezone: str
    stage: str
    created_at: datetime  # the moment the contact became a lead


@dataclass(frozen=True, slots=True)
class SyntheticEvent:
    contact: int  # index into History.contacts
    type: str
    occurred_at: datetime
    properties: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class History:
    contacts: tuple[SyntheticContact, ...]
    events: tuple[SyntheticEvent, ...]
    seed: int
    signal: float


def _sigmoid(value: float) -> float:
    return 1 / (1 + math.exp(-value))


def _pick(rng: random.Random, weights: dict[Any, int]) -> Any:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def _poisson(rng: random.Random, mean: float) -> int:
    # Knuth's method: fine for the small means used here.
    limit, count, product = math.exp(-mean), 0, rng.random()
    while product > limit:
        count += 1
        product *= rng.random()
    return count


def _size_effect(size: int | None) -> float:
    if size is None or size < 50:
        return 0.0
    return 0.3 if size < 250 else 0.6 if size < 1000 else 0.4


def _profile(rng: random.Random, index: int, seed: int, now: datetime,
             span: timedelta) -> SyntheticContact:
    first, last = rng.choice(FIRST), rng.choice(LAST)
    company = f"{rng.choice(LAST)} {rng.choice(COMPANY_WORDS)}"
    (country, zone) = _pick(rng, PLACES)
    size = None if rng.random() < 0.05 else max(1, min(100_000, round(
        rng.lognormvariate(math.log(80), 1.4))))
    # Lead flow grows a little over the period: more leads in recent months.
    at = now - span + span * (rng.random() ** 0.85)
    at = at.replace(hour=rng.choice([8, 9, 10, 11, 13, 14, 15, 16, 17]),
                    minute=rng.randrange(60), second=rng.randrange(60), microsecond=0)
    if at.weekday() >= 5 and rng.random() < 0.7:  # B2B leads mostly arrive on weekdays
        at += (7 - at.weekday()) * DAY
    at = min(at, now - timedelta(hours=1))
    slug = company.lower().replace(" ", "-")
    return SyntheticContact(
        email=f"{first.lower()}.{last.lower()}.{seed}-{index}@{slug}.example",
        first_name=first, last_name=last, company=company, role=_pick(rng, ROLES),
        industry=_pick(rng, INDUSTRIES), company_size=size, country=country, timezone=zone,
        stage="learn", created_at=at)


class _Lead:
    """One lead's draws and events while it is being generated."""

    def __init__(self, rng: random.Random, index: int, person: SyntheticContact):
        self.rng, self.index, self.person = rng, index, person
        self.events: list[SyntheticEvent] = []
        self.interest = rng.gauss(0, 1)  # intent we never observe directly
        self.fit = (INDUSTRY_EFFECT.get(person.industry, 0.0) + _size_effect(person.company_size)
                    + SENIORITY_EFFECT.get(seniority(person.role), 0.0))
        self.activity = math.exp(0.9 * self.interest + 0.3 * self.fit - 0.3)
        self.decay_days = 20 * rng.lognormvariate(0, 0.5)
        self.apple_mail = rng.random() < 0.3  # privacy protection opens every email
        self.trial_start: datetime | None = None
        self.seats = 0

    def add(self, type_: str, at: datetime, **properties: Any) -> None:
        self.events.append(SyntheticEvent(self.index, type_, at, properties))

    def minutes(self, mean: float) -> timedelta:
        return timedelta(minutes=self.rng.expovariate(1 / mean))

    def browse(self, at: datetime, pages: int) -> None:
        for _ in range(pages):
            at += self.minutes(2)
            self.add("page.visited", at, path=self.rng.choice(PAGES))

    def engage(self) -> None:
        rng, lead_at = self.rng, self.person.created_at
        self.add("contact.created", lead_at)
        self.browse(lead_at - timedelta(minutes=5), 1 + _poisson(rng, 1.0))  # the signup visit
        sent = lead_at + timedelta(days=rng.uniform(0.5, 2))
        for number in range(1, rng.randint(6, 10) + 1):
            self.email(sent, number)
            sent += timedelta(days=rng.uniform(4, 9))
        for _ in range(_poisson(rng, 1.5 * self.activity)):
            start = lead_at + timedelta(days=rng.expovariate(1 / self.decay_days))
            self.browse(start, 1 + _poisson(rng, 1.5))
        if rng.random() < min(0.5, 0.08 * self.activity):
            day = lead_at + timedelta(days=rng.expovariate(1 / 25))
            self.add("webinar.attended", day.replace(hour=16, minute=0), webinar="monthly-demo")
        if rng.random() < _sigmoid(-3 + 0.8 * self.interest + 0.5 * self.fit):
            self.add("demo.requested", lead_at + timedelta(days=rng.expovariate(1 / 12)))
        if rng.random() < _sigmoid(-2 + 0.8 * self.interest + 0.4 * self.fit):
            self.trial(lead_at + timedelta(days=rng.gammavariate(1.5, 8)))

    def email(self, sent: datetime, number: int) -> None:
        rng = self.rng
        fade = math.exp(-(sent - self.person.created_at) / DAY / self.decay_days)
        self.add("email.sent", sent, template=f"nurture-{number}")
        if self.apple_mail:
            self.add("email.opened", sent + self.minutes(3), template=f"nurture-{number}",
                     machine=True, machine_reason="apple_privacy_protection")
        if rng.random() < 0.03:
            self.add("email.clicked", sent + timedelta(seconds=2), template=f"nurture-{number}",
                     machine=True, machine_reason="too_soon_after_delivery")
        if rng.random() >= min(0.85, 0.05 + 0.25 * self.activity * fade):
            return
        opened = sent + timedelta(hours=rng.lognormvariate(math.log(2), 1.0))
        self.add("email.opened", opened, template=f"nurture-{number}", machine=False)
        if rng.random() < min(0.6, 0.05 + 0.15 * math.sqrt(self.activity)):
            clicked = opened + self.minutes(2)
            self.add("email.clicked", clicked, template=f"nurture-{number}", machine=False)
            self.browse(clicked, 1 + _poisson(rng, 1.2))
            if rng.random() < 0.12:
                self.add("content.downloaded", clicked + self.minutes(5),
                         asset=rng.choice(ASSETS))

    def trial(self, start: datetime) -> None:
        rng, size = self.rng, self.person.company_size or 10
        self.trial_start = start
        self.seats = max(2, min(50, size // 20 + rng.randint(0, 5)))
        self.add("trial.started", start, seats=self.seats,
                 services=rng.sample(SERVICES, rng.randint(1, 3)))
        share = 0.3 + 0.4 * _sigmoid(self.interest)
        for seat in range(sum(rng.random() < share for _ in range(self.seats))):
            at = start + min(timedelta(days=rng.expovariate(1 / 3)), timedelta(days=29))
            self.add("trial.seat_activated", at, seat=f"user{seat}@{self.person.email[-30:]}")
            if rng.random() < 0.5:
                self.add("trial.service_used", at + self.minutes(30),
                         service=rng.choice(SERVICES))

    def early_engagement(self) -> float:
        """The planted engagement effect: what happened in the first 14 days."""
        end = self.person.created_at + 14 * DAY
        counts: dict[str, int] = {}
        for event in self.events:
            if event.occurred_at < end and not event.properties.get("machine"):
                counts[event.type] = counts.get(event.type, 0) + 1

        def log_count(name: str) -> float:
            return math.log1p(counts.get(name, 0))

        return (0.15 * log_count("email.opened") + 0.45 * log_count("email.clicked")
                + 0.3 * log_count("page.visited") + 0.5 * log_count("content.downloaded")
                + 0.4 * log_count("webinar.attended") + 1.0 * log_count("demo.requested")
                + 0.9 * log_count("trial.started") + 0.25 * log_count("trial.seat_activated"))

    def convert(self, at: datetime, now: datetime) -> None:
        rng = self.rng
        # Nurture email stops at conversion; conversions come after day 14, so this never
        # touches what the model sees.
        self.events = [e for e in self.events if not (e.type.startswith("email.")
                                                      and e.occurred_at > at)]
        seats = self.seats or max(1, min(500, (self.person.company_size or 10) // 10))
        currency = ("GBP" if self.person.country == "GB" else
                    "EUR" if self.person.country in EUROPE else "USD")
        if self.trial_start is not None and self.trial_start >= at:
            # Customers do not start trials: the trial that would have come is not had.
            self.events = [e for e in self.events if not e.type.startswith("trial.")]
            self.trial_start = None
        if self.trial_start is not None:
            self.add("trial.converted", at, seats=seats)
        amount = round(seats * 120 * rng.uniform(0.85, 1.15), 2)
        self.add("purchase.completed", at + self.minutes(10), amount=amount, currency=currency,
                 product="subscription")
        self.add("onboarding.completed", at + timedelta(days=rng.uniform(7, 30)))
        renewal = at + 365 * DAY
        while renewal < now and rng.random() < 0.85:
            amount = round(amount * rng.uniform(1.0, 1.15), 2)
            self.add("subscription.renewed", renewal)
            self.add("purchase.completed", renewal, amount=amount, currency=currency,
                     product="renewal")
            renewal += 365 * DAY
        if rng.random() < 0.35:
            for _ in range(rng.randint(1, 3)):
                self.add("purchase.completed", at + timedelta(days=rng.uniform(30, 400)),
                         amount=round(amount * rng.uniform(0.1, 0.4), 2), currency=currency,
                         product="expansion")

    def close_trial(self, converted_at: datetime | None) -> None:
        if self.trial_start is None:
            return
        end = self.trial_start + 30 * DAY
        if converted_at is None or converted_at > end:
            self.add("trial.expired", end)


def _intercept_for(scores: list[float], signal: float) -> float:
    """The intercept that makes the average conversion chance BASE_RATE (bisection)."""
    low, high = -30.0, 30.0
    for _ in range(60):
        middle = (low + high) / 2
        mean = sum(_sigmoid(middle + signal * s) for s in scores) / max(1, len(scores))
        low, high = (middle, high) if mean < BASE_RATE else (low, middle)
    return (low + high) / 2


def generate(leads: int, now: datetime, seed: int = 0, signal: float = 1.0,
             months: int = 18) -> History:
    """`leads` leads that arrived over `months` months before `now`, with their events."""
    rng = random.Random(seed)
    span = timedelta(days=round(months * 30.4))
    people = [_Lead(rng, i, _profile(rng, i, seed, now, span)) for i in range(leads)]
    for lead in people:
        lead.engage()
    # With signal 1 this puts the best achievable held-out AUC (the true scores) near 0.8.
    scores = [1.6 * (lead.fit + lead.early_engagement()) + 0.3 * lead.interest
              for lead in people]
    intercept = _intercept_for(scores, signal)
    contacts = []
    for lead, score in zip(people, scores, strict=True):
        # Drawn apart from anything the model sees, so that with signal 0 the outcome is
        # noise: the timing too (a conversion late in 90 days is a negative label).
        converted_at = lead.person.created_at + timedelta(days=15 + rng.gammavariate(2, 14))
        converted = rng.random() < _sigmoid(intercept + signal * score) and converted_at < now
        if converted:
            lead.convert(converted_at, now)
        lead.close_trial(converted_at if converted else None)
        stage = ("adopt" if converted else "try" if lead.trial_start is not None
                 and lead.trial_start + 30 * DAY > now else "learn")
        contacts.append(replace(lead.person, stage=stage))
    events = sorted((e for lead in people for e in lead.events if e.occurred_at < now),
                    key=lambda e: (e.occurred_at, e.contact))
    return History(tuple(contacts), tuple(events), seed, signal)


def model_input(history: History) -> tuple[list[Lead], list[Touch]]:
    """The history as the model's inputs, with contact ids = positions in `contacts`."""
    leads = [Lead(i, c.created_at, c.industry, c.company_size, c.role, c.country)
             for i, c in enumerate(history.contacts)]
    touches = [Touch(e.contact, e.type, e.occurred_at, is_machine(e.properties))
               for e in history.events]
    return leads, touches
