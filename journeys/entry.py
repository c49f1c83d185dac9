"""Who may enter a journey, and when: triggers, audience and the re-entry policy. Pure."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from journeys.conditions import compiled
from journeys.definition import ConditionTrigger, DateTrigger, EventTrigger, Journey
from journeys.facts import Facts, attribute_path
from nurture.moments import as_datetime


@dataclass(frozen=True)
class PastEnrollment:
    entered_at: datetime
    active: bool


def in_audience(journey: Journey, facts: Facts) -> bool:
    """The journey's stages and vertical, when it names them, must match the contact."""
    contact = facts.contact
    if journey.stages and contact.stage not in journey.stages:
        return False
    return not journey.vertical or (contact.industry or "").lower() == journey.vertical.lower()


def may_reenter(journey: Journey, history: Sequence[PastEnrollment], now: datetime) -> bool:
    policy = journey.reentry
    if not history:
        return True
    if policy.mode == "always":
        return True
    if policy.mode == "once" or any(p.active for p in history):
        return False
    last = max(p.entered_at for p in history)
    return policy.after is not None and now - last >= policy.after


def held_back(event_type: str, source: str, properties: Mapping[str, Any]) -> bool:
    """Whether an event enters no journey: a contact created by an import, unless the
    marketer chose at import that journeys start (no welcome to a million by surprise)."""
    return (event_type == "contact.created" and source == "import"
            and not properties.get("start_journeys"))


def event_triggers(journey: Journey, event_type: str, properties: Mapping[str, Any],
                   facts: Facts, now: datetime) -> bool:
    trigger = journey.trigger
    if not isinstance(trigger, EventTrigger) or trigger.event != event_type:
        return False
    if not in_audience(journey, facts):
        return False
    payload = {"type": event_type, "properties": dict(properties)}
    return trigger.where is None or compiled(trigger.where).evaluate(facts, now, payload)


def condition_holds(journey: Journey, facts: Facts, now: datetime) -> bool:
    trigger = journey.trigger
    return (
        isinstance(trigger, ConditionTrigger)
        and in_audience(journey, facts)
        and compiled(trigger.when).evaluate(facts, now)
    )


def date_due(journey: Journey, facts: Facts) -> datetime | None:
    """For a date-triggered journey, when this contact is due to enter (None: no date)."""
    trigger = journey.trigger
    if not isinstance(trigger, DateTrigger) or not in_audience(journey, facts):
        return None
    base = as_datetime(attribute_path(facts.contact.attributes, trigger.attribute))
    return None if base is None else base + trigger.offset


def goal_reached(journey: Journey, event_type: str, properties: Mapping[str, Any],
                 facts: Facts, now: datetime) -> bool:
    payload = {"type": event_type, "properties": dict(properties)}
    return any(
        goal.event == event_type
        and (goal.where is None or compiled(goal.where).evaluate(facts, now, payload))
        for goal in journey.exit_goals
    )
