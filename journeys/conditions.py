"""Compiled conditions, cached by source text, and what a journey needs to know."""

from __future__ import annotations

from functools import lru_cache

from journeys.definition import Branch, ConditionTrigger, EventTrigger, Journey, WaitFor
from journeys.expressions import Expression, compile_expression


@lru_cache(maxsize=4096)
def compiled(source: str) -> Expression:
    return compile_expression(source)


def conditions_of(journey: Journey) -> list[str]:
    """Every condition text in a journey (entry, exit goals, wait_for filters, branches)."""
    out: list[str] = []
    trigger = journey.trigger
    if isinstance(trigger, EventTrigger) and trigger.where:
        out.append(trigger.where)
    if isinstance(trigger, ConditionTrigger):
        out.append(trigger.when)
    out += [g.where for g in journey.exit_goals if g.where]
    for step in journey.steps:
        if isinstance(step, Branch):
            out += [c.when for c in step.cases]
        if isinstance(step, WaitFor) and step.where:
            out.append(step.where)
    return out


def history_types(journey: Journey) -> frozenset[str]:
    """Event types whose history the engine needs to decide for this journey."""
    types: set[str] = set()
    for source in conditions_of(journey):
        expression = compiled(source)
        types |= expression.event_types
        if "nps" in expression.names:
            types.add("nps.answered")
    types |= {s.event for s in journey.steps if isinstance(s, WaitFor)}
    return frozenset(types)
