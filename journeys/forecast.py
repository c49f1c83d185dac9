"""Forecast a draft on real history: each sampled contact's recorded events over a period
replayed, in order, through the real engine, on a copy of the contact. Pure: the caller
loads the histories; nothing here is sent, stored or changed.

The sends live journeys really made in the period count toward the frequency cap, so a
send of the draft that the cap would hold because of them is a collision with the live
journeys. A contact is replayed with its profile as it is now (the database keeps no
profile as of the start of the period), and enters the draft at most once.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from journeys import decisions as d
from journeys import entry
from journeys.conditions import compiled
from journeys.definition import ConditionTrigger, DateTrigger, EventTrigger, Journey, WaitFor
from journeys.engine import State, advance
from journeys.facts import ContactFacts, EventRecord, Facts
from journeys.schedule import Pacing

WEEK = timedelta(days=7)
SAMPLE_NAMES = 5  # who reaches a step: this many named, the rest counted


@dataclass(frozen=True)
class History:
    """One contact as recorded: its profile, its events in the period (sorted) and the
    times of the capped emails live journeys sent it in the period and the window before."""

    contact: ContactFacts
    events: tuple[EventRecord, ...]
    live_sends: tuple[datetime, ...] = ()


@dataclass
class Forecast:
    """What the draft would have done: per week, per step, and the cap's collisions."""

    journey: str
    start: datetime
    days: int
    contacts: int
    entered: int = 0
    sends_per_week: list[int] = field(default_factory=list)
    reached: dict[str, int] = field(default_factory=dict)
    reached_by: dict[str, list[str]] = field(default_factory=dict)
    collisions: int = 0  # sends the cap held because of live journeys' sends
    deferrals: dict[str, int] = field(default_factory=dict)
    exits: dict[str, int] = field(default_factory=dict)

    @property
    def weeks(self) -> list[dict[str, object]]:
        return [{"week": i + 1, "from": (self.start + i * WEEK).date().isoformat(),
                 "sends": n} for i, n in enumerate(self.sends_per_week)]


def forecast(journey: Journey, histories: list[History], start: datetime, days: int,
             pacing: Pacing) -> Forecast:
    end = start + timedelta(days=days)
    result = Forecast(journey.id, start, days, len(histories),
                      sends_per_week=[0] * max(1, -(-days // 7)),
                      reached={s.id: 0 for s in journey.steps},
                      reached_by={s.id: [] for s in journey.steps})
    for history in histories:
        _Replay(journey, history, start, end, pacing, result).run()
    return result


class _Replay:
    """One contact's period, event by event, on a copy of its facts."""

    def __init__(self, journey: Journey, history: History, start: datetime, end: datetime,
                 pacing: Pacing, out: Forecast):
        self.journey, self.start, self.end, self.pacing, self.out = (
            journey, start, end, pacing, out)
        self.history = history
        self.facts = Facts(copy.deepcopy(history.contact),
                           capped_sends=sorted(history.live_sends))
        self.live = set(history.live_sends)
        self.state: State | None = None  # None: not in the draft
        self.due: datetime | None = None
        self.done = False

    def run(self) -> None:
        if isinstance(self.journey.trigger, DateTrigger) and \
                entry.date_due(self.journey, self.facts) is not None:
            self._enter(self.start)
        for event in self.history.events:
            self._until(event.occurred_at)
            self.facts.events.append(event)
            if self.state is not None:
                if self._goal(event):
                    self._finish("goal")
                elif self._waiting_for_events():
                    self._step(event.occurred_at)  # it may be the one awaited
            elif not self.done and self._triggers(event):
                self._enter(event.occurred_at)
        self._until(self.end)

    def _waiting_for_events(self) -> bool:
        # Only a wait_for wakes on an event: advancing any other step early would repeat
        # its decisions (a deferral counted twice).
        step_id = self.state.step_id if self.state is not None else None
        return step_id is not None and isinstance(self.journey.step(step_id), WaitFor)

    def _goal(self, event: EventRecord) -> bool:
        payload = {"type": event.type, "properties": dict(event.properties)}
        return any(g.event == event.type and (
            g.where is None or compiled(g.where).evaluate(self.facts, event.occurred_at,
                                                          payload))
            for g in self.journey.exit_goals)

    def _triggers(self, event: EventRecord) -> bool:
        trigger, now = self.journey.trigger, event.occurred_at
        if isinstance(trigger, EventTrigger):
            return entry.event_triggers(self.journey, event.type, event.properties,
                                        self.facts, now)
        return isinstance(trigger, ConditionTrigger) and \
            entry.condition_holds(self.journey, self.facts, now)

    def _enter(self, now: datetime) -> None:
        self.state, self.out.entered = State(), self.out.entered + 1
        self._step(now)

    def _until(self, moment: datetime) -> None:
        while self.state is not None and self.due is not None and self.due <= moment:
            self._step(self.due)

    def _step(self, now: datetime) -> None:
        if self.state is None or now > self.end:
            return
        result = advance(self.journey, self.state, self.facts, now, self.pacing)
        for decision in result.decisions:
            self._apply(decision, now)
        self.state, self.due = result.state, result.next_run_at
        if result.finished is not None:
            self._finish(result.finished)

    def _apply(self, decision: d.Decision, now: datetime) -> None:
        out = self.out
        if isinstance(decision, d.StepEntered):
            out.reached[decision.step_id] += 1
            names = out.reached_by[decision.step_id]
            email = self.facts.contact.email
            if len(names) < SAMPLE_NAMES and email not in names:
                names.append(email)
        elif isinstance(decision, d.SendEmail):
            week = min(int((now - self.start) / WEEK), len(out.sends_per_week) - 1)
            out.sends_per_week[week] += 1
        elif isinstance(decision, d.Deferred):
            out.deferrals[decision.reason] = out.deferrals.get(decision.reason, 0) + 1
            window = now - self.pacing.window
            if decision.reason == "frequency_cap" and any(
                    window < t <= now for t in self.live):
                out.collisions += 1

    def _finish(self, reason: str) -> None:
        self.out.exits[reason] = self.out.exits.get(reason, 0) + 1
        self.state, self.due, self.done = None, None, True
