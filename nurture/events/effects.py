"""How recorded events move a contact: stage changes and attribute updates. Pure.

The numbers come from the domain (a 30-day trial, a 12-month commitment) and are defaults a
marketer can change in `Lifecycle`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from nurture.contacts.language import standard_tag
from nurture.moments import as_datetime

CONTACT_FIELDS = ("first_name", "last_name", "company", "role", "industry", "company_size",
                  "country", "timezone", "phone", "language")


@dataclass(frozen=True)
class Lifecycle:
    trial_days: int = 30
    max_trial_seats: int = 20
    retention_days: int = 30
    commitment_days: int = 365


@dataclass
class Change:
    stage: str | None = None
    fields: dict[str, Any] = field(default_factory=dict)
    attributes: dict[str, Any] = field(default_factory=dict)  # merged one level deep

    def __bool__(self) -> bool:
        return bool(self.stage or self.fields or self.attributes)


def _iso(moment: datetime) -> str:
    return moment.isoformat()


def effects(stage: str, event_type: str, properties: Mapping[str, Any], occurred_at: datetime,
            lifecycle: Lifecycle = Lifecycle()) -> Change:
    """What an event does to a contact in `stage`; an empty Change for most events."""
    p = properties
    change = Change()
    if event_type == "contact.updated":
        change.fields = {k: p[k] for k in CONTACT_FIELDS if k in p}
        if "language" in change.fields:  # checked when recorded; None or "" clears it
            change.fields["language"] = standard_tag(change.fields["language"]) or ""
        if isinstance(p.get("attributes"), Mapping):
            change.attributes = dict(p["attributes"])
    elif event_type == "trial.started":
        days = int(p.get("days") or lifecycle.trial_days)
        change.stage = "try"
        change.attributes["trial"] = {
            "started_at": _iso(occurred_at),
            "ends_at": _iso(occurred_at + timedelta(days=days)),
            "seats": min(int(p.get("seats") or 1), lifecycle.max_trial_seats),
            "services": list(p.get("services") or []),
        }
        if p.get("technical_contact"):
            change.attributes["technical_contact"] = str(p["technical_contact"])
    elif event_type == "trial.requested":  # a customer's request: for the owner's alert
        change.attributes["trial_request"] = {
            "services": list(p.get("services") or []), "seats": p.get("seats"),
            "at": _iso(occurred_at)}
    elif event_type in ("trial.converted", "purchase.completed"):
        if event_type == "trial.converted":
            change.attributes["trial"] = {"outcome": "converted",
                                          "converted_at": _iso(occurred_at),
                                          "keep_data": bool(p.get("keep_data", True))}
            if p.get("retention_until"):  # a clean start: the trial data goes on this date
                change.attributes["trial"]["retention_until"] = str(p["retention_until"])
        if stage in ("learn", "try", "buy"):
            change.stage = "onboard"
            ends = as_datetime(p.get("commitment_ends_at")) or occurred_at + timedelta(
                days=lifecycle.commitment_days)
            change.attributes["customer"] = {"since": _iso(occurred_at)}
            change.attributes["commitment"] = {"ends_at": _iso(ends)}
    elif event_type == "trial.expired":
        change.stage = "learn"
        retention = int(p.get("retention_days") or lifecycle.retention_days)
        change.attributes["trial"] = {
            "outcome": "expired", "expired_at": _iso(occurred_at),
            "retention_until": _iso(occurred_at + timedelta(days=retention)),
        }
    elif event_type == "trial.data_deleted":
        change.attributes["trial"] = {"data_deleted_at": _iso(occurred_at)}
    elif event_type == "onboarding.completed" and stage == "onboard":
        change.stage = "adopt"
    elif event_type == "subscription.renewed":
        change.stage = "adopt"
        ends = as_datetime(p.get("commitment_ends_at")) or occurred_at + timedelta(
            days=lifecycle.commitment_days)
        change.attributes["commitment"] = {"ends_at": _iso(ends)}
    elif event_type == "subscription.cancelled":
        change.stage = "churned"
    elif event_type == "account.deprovisioned":
        change.stage = "deprovisioned"
    elif event_type in ("consent.withdrawn", "email.unsubscribed"):
        change.fields["consent_marketing"] = False
    elif event_type == "consent.given":
        change.fields["consent_marketing"] = True
    if change.stage == stage:
        change.stage = None
    return change


def merge_attributes(current: Mapping[str, Any], update: Mapping[str, Any]) -> dict[str, Any]:
    """Merge `update` into `current`: nested mappings merge, other values replace."""
    merged = dict(current)
    for key, value in update.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = merge_attributes(merged[key], value)
        else:
            merged[key] = value
    return merged
