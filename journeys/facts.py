"""What the engine may know about a contact: plain values gathered before a decision."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class EventRecord:
    type: str
    occurred_at: datetime
    properties: Mapping[str, Any] = field(default_factory=dict)


@dataclass
class ContactFacts:
    id: int
    email: str
    stage: str = "learn"
    score: int = 0
    first_name: str = ""
    last_name: str = ""
    company: str = ""
    role: str = ""
    industry: str = ""
    company_size: int | None = None
    country: str = ""
    timezone: str = "UTC"
    language: str = ""  # a BCP 47 tag such as "fr-CH"; "" reads the default text
    attributes: dict[str, Any] = field(default_factory=dict)


@dataclass
class Facts:
    """A contact with the slice of its history that the journey's conditions reference.

    `events` are sorted by time; `capped_sends` are the times of the emails the frequency
    cap counts (marketing and service, not transactional) already queued or sent inside
    the frequency window, across all journeys.
    """

    contact: ContactFacts
    events: list[EventRecord] = field(default_factory=list)
    capped_sends: list[datetime] = field(default_factory=list)
    # What segments may ask beyond the contact row (nurture.audiences.facts loads them):
    # the score grade, the sales rep who owns the lead, the latest trial's and the
    # contact's own referral's status, and the names of the lists it is on.
    grade: str | None = None
    owner: str | None = None
    trial: dict[str, Any] = field(default_factory=dict)
    referral: dict[str, Any] = field(default_factory=dict)
    lists: frozenset[str] = frozenset()

    def events_of(self, event_type: str) -> list[EventRecord]:
        return [e for e in self.events if e.type == event_type]

    def human_events_of(self, event_type: str) -> list[EventRecord]:
        """Opens and clicks by people: those flagged `machine` (image proxies, scanners) are
        left out."""
        return [e for e in self.events_of(event_type) if not e.properties.get("machine")]

    @property
    def nps(self) -> dict[str, Any]:
        answers = self.events_of("nps.answered")
        if not answers:
            return {"category": None, "score": None}
        last = answers[-1].properties
        return {"category": last.get("category"), "score": last.get("score")}


def attribute_path(attributes: Mapping[str, Any], path: str) -> Any:
    """Look up `a.b.c` in nested attributes; a flat key `a.b` also works. Missing → None."""
    if path in attributes:
        return attributes[path]
    value: Any = attributes
    for part in path.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return None
        value = value[part]
    return value
