"""What the predictive model sees about a lead: fit attributes and engagement counts, as of a
point in time, and the training set built from a history of leads and their events.

Definitions (the same for training and for the live score):

- A contact *becomes a lead* at its `created_at`: that is when marketing first knows it.
- It *converts* with a `trial.converted` or `purchase.completed` event; the label is "converted
  within 90 days of becoming a lead". Only leads whose 90 days have ended by `now` are labelled.
- For training, engagement is counted over the lead's first 14 days and the lead is scored as
  of day 14: what we would have known then. Leads that converted before day 14 are left out,
  since they were customers, not leads, by the time the score would be asked for.
- For the live score, engagement is counted over the 14 days before `now`: the same window
  length, so counts mean the same, on the most recent activity.

Machine hits (mail-privacy proxies, link scanners; see `nurture/sending/tracking.py`) are not
engagement and are not counted.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

HORIZON = timedelta(days=90)
WINDOW = timedelta(days=14)
COUNT_CAP = 30  # a few very busy leads should not set the slope for everybody

CONVERSION_TYPES = frozenset({"trial.converted", "purchase.completed"})
# Event type -> the feature that counts it.
COUNTED = {
    "email.opened": "opens",
    "email.clicked": "clicks",
    "page.visited": "page_visits",
    "content.downloaded": "downloads",
    "webinar.attended": "webinars",
    "demo.requested": "demo_requests",
    "trial.started": "trial_started",
    "trial.seat_activated": "seats_activated",
}
ENGAGEMENT_TYPES = frozenset(COUNTED) | {"trial.service_used"}
VERTICALS = ("retail", "financial-services", "healthcare", "public-sector")
EUROPE = frozenset({
    "AT", "BE", "BG", "CH", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GB", "GR", "HR",
    "HU", "IE", "IS", "IT", "LT", "LU", "LV", "MT", "NL", "NO", "PL", "PT", "RO", "SE", "SI",
    "SK"})
NORTH_AMERICA = frozenset({"US", "CA"})

# (name, readable label), in the order of the model's feature vector. Baselines, which have no
# column of their own: another industry, fewer than 50 employees (or unknown), no seniority
# found in the role, a country outside Europe and North America.
FEATURES: tuple[tuple[str, str], ...] = (
    ("industry_retail", "Industry: retail"),
    ("industry_financial_services", "Industry: financial services"),
    ("industry_healthcare", "Industry: healthcare"),
    ("industry_public_sector", "Industry: public sector"),
    ("size_50_249", "Company size: 50-249 employees"),
    ("size_250_999", "Company size: 250-999 employees"),
    ("size_1000_plus", "Company size: 1,000+ employees"),
    ("seniority_c_level", "Role: C-level"),
    ("seniority_vp", "Role: vice president"),
    ("seniority_director", "Role: director"),
    ("seniority_manager", "Role: manager or lead"),
    ("region_europe", "Country: Europe"),
    ("region_north_america", "Country: North America"),
    ("opens", "Email opens in 14 days"),
    ("clicks", "Email clicks in 14 days"),
    ("page_visits", "Page visits in 14 days"),
    ("downloads", "Content downloads in 14 days"),
    ("webinars", "Webinars attended in 14 days"),
    ("demo_requests", "Demo requests in 14 days"),
    ("trial_started", "Trials started in 14 days"),
    ("seats_activated", "Trial seats activated in 14 days"),
    ("days_since_engagement", "Days since last engagement"),
)
FEATURE_NAMES: tuple[str, ...] = tuple(name for name, _ in FEATURES)
LABELS: dict[str, str] = dict(FEATURES)


@dataclass(frozen=True, slots=True)
class Lead:
    """A contact's fit attributes and the moment it became a lead."""

    contact_id: int
    lead_at: datetime
    industry: str = ""
    company_size: int | None = None
    role: str = ""
    country: str = ""


@dataclass(frozen=True, slots=True)
class Touch:
    """One event that matters to the model; `machine` marks automated opens and clicks."""

    contact_id: int
    type: str
    at: datetime
    machine: bool = False


@dataclass(frozen=True)
class TrainingSet:
    """One row per labelled lead: feature values, the label and the lead time."""

    contact_ids: tuple[int, ...]
    rows: tuple[tuple[float, ...], ...]
    labels: tuple[int, ...]
    lead_times: tuple[datetime, ...]
    converted_early: int  # leads left out because they converted inside the feature window


def is_machine(properties: Mapping[str, Any] | None) -> bool:
    """Whether tracking flagged an open or click as automated."""
    props = properties or {}
    return bool(props.get("machine")) or bool(props.get("machine_reason"))


_C_LEVEL = re.compile(r"\bC[A-Z]{1,2}O\b")
_C_LEVEL_WORDS = re.compile(r"\b(chief|founder|co-founder|owner|president|managing director)\b",
                            re.IGNORECASE)
_VP = re.compile(r"\b(vp|svp|evp|vice[- ]president)\b", re.IGNORECASE)
_DIRECTOR = re.compile(r"\b(director|head of)\b", re.IGNORECASE)
_MANAGER = re.compile(r"\b(manager|lead|supervisor|team leader)\b", re.IGNORECASE)


def seniority(role: str) -> str:
    """c_level, vp, director, manager or other, read from free role text ("IT manager")."""
    # Vice presidents first: "Vice President" also matches "president".
    if _VP.search(role):
        return "vp"
    if _C_LEVEL.search(role) or _C_LEVEL_WORDS.search(role):
        return "c_level"
    if _DIRECTOR.search(role):
        return "director"
    if _MANAGER.search(role):
        return "manager"
    return "other"


def fit_values(lead: Lead) -> list[float]:
    """The fit part of the feature vector (one-hot columns)."""
    industry = (lead.industry or "").strip().lower()
    size = lead.company_size or 0
    level = seniority(lead.role or "")
    country = (lead.country or "").upper()
    return [
        *(float(industry == vertical) for vertical in VERTICALS),
        float(50 <= size < 250), float(250 <= size < 1000), float(size >= 1000),
        *(float(level == name) for name in ("c_level", "vp", "director", "manager")),
        float(country in EUROPE), float(country in NORTH_AMERICA),
    ]


def engagement_values(touches: Iterable[Touch], start: datetime, end: datetime) -> list[float]:
    """The engagement part: counts in [start, end) and days from the last engagement to `end`
    (the window length when there was none)."""
    counts = dict.fromkeys(COUNTED.values(), 0)
    last: datetime | None = None
    for touch in touches:
        if not (start <= touch.at < end) or touch.machine or touch.type not in ENGAGEMENT_TYPES:
            continue
        if touch.type in COUNTED:
            counts[COUNTED[touch.type]] += 1
        last = touch.at if last is None or touch.at > last else last
    window_days = (end - start).total_seconds() / 86400
    since = window_days if last is None else (end - last).total_seconds() / 86400
    return [*(float(min(counts[name], COUNT_CAP)) for name in COUNTED.values()),
            round(since, 3)]


def feature_row(lead: Lead, touches: Iterable[Touch], start: datetime,
                end: datetime) -> tuple[float, ...]:
    """The whole feature vector, in `FEATURE_NAMES` order."""
    return (*fit_values(lead), *engagement_values(touches, start, end))


def live_row(lead: Lead, touches: Iterable[Touch], now: datetime) -> tuple[float, ...]:
    """Features for the live score: engagement over the 14 days before `now`."""
    return feature_row(lead, touches, now - WINDOW, now)


def by_contact(touches: Iterable[Touch]) -> dict[int, list[Touch]]:
    grouped: dict[int, list[Touch]] = defaultdict(list)
    for touch in touches:
        grouped[touch.contact_id].append(touch)
    return grouped


def training_set(leads: Sequence[Lead], touches: Iterable[Touch], now: datetime) -> TrainingSet:
    """Label every lead whose 90 days have ended by `now`, with features as of its day 14."""
    grouped = by_contact(touches)
    ids: list[int] = []
    rows: list[tuple[float, ...]] = []
    labels: list[int] = []
    times: list[datetime] = []
    early = 0
    for lead in sorted(leads, key=lambda item: (item.lead_at, item.contact_id)):
        if lead.lead_at + HORIZON > now:
            continue
        own = grouped.get(lead.contact_id, [])
        converted = [t.at for t in own if t.type in CONVERSION_TYPES and t.at >= lead.lead_at]
        first = min(converted, default=None)
        if first is not None and first < lead.lead_at + WINDOW:
            early += 1
            continue
        ids.append(lead.contact_id)
        rows.append(feature_row(lead, own, lead.lead_at, lead.lead_at + WINDOW))
        labels.append(int(first is not None and first <= lead.lead_at + HORIZON))
        times.append(lead.lead_at)
    return TrainingSet(tuple(ids), tuple(rows), tuple(labels), tuple(times), early)

