"""The journey engine: a pure function from (definition, state, facts, now) to decisions.

No I/O happens here. The live worker, the tests and the simulator all call `advance` and
apply what it returns in their own way (rows, or counters on a virtual clock).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from journeys import decisions as d
from journeys.conditions import compiled
from journeys.definition import (
    Branch,
    DateTrigger,
    Exit,
    Handoff,
    Journey,
    Send,
    SetFields,
    Split,
    Wait,
    WaitFor,
    Webhook,
)
from journeys.facts import Facts, attribute_path
from journeys.schedule import Pacing, next_send_time, wait_until, zone
from nurture.moments import as_datetime
from nurture.sending.classes import MARKETING

MAX_HOPS = 200
DEFAULT_PACING = Pacing()


@dataclass(frozen=True)
class State:
    """Where an enrollment is. `seq` counts steps entered and makes send keys unique."""

    step_id: str | None = None
    seq: int = 0
    step_started_at: datetime | None = None
    resume_at: datetime | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "step_id": self.step_id, "seq": self.seq,
            "step_started_at": self.step_started_at.isoformat() if self.step_started_at else None,
            "resume_at": self.resume_at.isoformat() if self.resume_at else None,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> State:
        data = data or {}
        return cls(
            step_id=data.get("step_id"), seq=int(data.get("seq", 0)),
            step_started_at=as_datetime(data.get("step_started_at")),
            resume_at=as_datetime(data.get("resume_at")),
        )


@dataclass
class Advance:
    """The outcome of one call: the new state, what to do, and when to look again."""

    state: State
    decisions: list[d.Decision] = field(default_factory=list)
    next_run_at: datetime | None = None
    finished: str | None = None  # exit reason once the enrollment is over


def bucket(*parts: object) -> float:
    """A stable number in [0, 1) for sticky assignment (same contact, same answer)."""
    digest = hashlib.sha256("|".join(map(str, parts)).encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def pick_weighted(weights: list[int], point: float) -> int:
    total = sum(weights)
    cumulative = 0.0
    for index, weight in enumerate(weights):
        cumulative += weight / total
        if point < cumulative:
            return index
    return max(i for i, weight in enumerate(weights) if weight > 0)  # never an ended arm


def advance(journey: Journey, state: State, facts: Facts, now: datetime,
            pacing: Pacing = DEFAULT_PACING) -> Advance:
    """Run the enrollment forward as far as it can go at `now`."""
    return _Runner(journey, facts, now, pacing).run(state)


class _Runner:
    def __init__(self, journey: Journey, facts: Facts, now: datetime, pacing: Pacing):
        self.journey, self.facts, self.now, self.pacing = journey, facts, now, pacing
        self.tz = zone(facts.contact.timezone, pacing.default_tz)
        self.out: list[d.Decision] = []

    def run(self, state: State) -> Advance:
        if state.step_id is None:
            start = self._start_time()
            if start is None:
                return self._finish(state, "date_removed")
            if start > self.now:
                return Advance(replace(state, resume_at=start), self.out, start)
            state = self._enter(state, self.journey.first_step)
        for _ in range(MAX_HOPS):
            result = self._step(state)
            if isinstance(result, Advance):
                return result
            if result is None:
                return self._finish(state, "completed", completed_step=True)
            self.out.append(d.StepCompleted(state.step_id or "", state.seq))
            state = self._enter(state, result)
        return self._finish(state, "loop_without_wait")

    def _start_time(self) -> datetime | None:
        trigger = self.journey.trigger
        if not isinstance(trigger, DateTrigger):
            return self.now
        base = as_datetime(attribute_path(self.facts.contact.attributes, trigger.attribute))
        return None if base is None else base + trigger.offset

    def _enter(self, state: State, step_id: str) -> State:
        new = State(step_id=step_id, seq=state.seq + 1, step_started_at=self.now)
        self.out.append(d.StepEntered(step_id, new.seq))
        return new

    def _finish(self, state: State, reason: str, completed_step: bool = False) -> Advance:
        if completed_step and state.step_id:
            self.out.append(d.StepCompleted(state.step_id, state.seq))
        self.out.append(d.Finished(reason))
        return Advance(replace(state, resume_at=None), self.out, None, reason)

    def _wait(self, state: State, until: datetime) -> Advance:
        return Advance(replace(state, resume_at=until), self.out, until)

    def _step(self, state: State) -> str | Advance | None:
        """Execute the current step; return the next step id, None at the end, or a pause."""
        step = self.journey.step(state.step_id or "")
        started = state.step_started_at or self.now
        match step:
            case Wait():
                until = state.resume_at or wait_until(step, started, self.tz,
                                                      self.facts.contact.attributes)
                if until is None:
                    return self._finish(state, "date_unknown")
                if until > self.now:
                    return self._wait(state, until)
            case WaitFor():
                if self._event_arrived(step, started):
                    return step.on_event
                deadline = started + step.timeout
                if deadline > self.now:
                    return self._wait(state, deadline)
                return step.on_timeout
            case Send():
                paused = self._pace(step, state)
                if paused is not None:
                    return paused
                self._send(step, state)
            case Branch():
                for case in step.cases:
                    if compiled(case.when).evaluate(self.facts, self.now):
                        return case.goto
                return step.default
            case Split():
                point = bucket(self.facts.contact.id, self.journey.id, step.id)
                return step.paths[pick_weighted([p.weight for p in step.paths], point)].goto
            case SetFields():
                self._set(step)
            case Handoff():
                self.out.append(d.HandOff(step.id, state.seq, step.reason))
            case Webhook():
                self.out.append(d.CallWebhook(step.id, state.seq, step.url, step.event))
            case Exit():
                return self._finish(state, step.reason)
        return self.journey.next_of(step.id)

    def _event_arrived(self, step: WaitFor, since: datetime) -> bool:
        condition = compiled(step.where) if step.where else None
        for event in self.facts.events_of(step.event):
            if not since <= event.occurred_at <= self.now:
                continue
            payload = {"type": event.type, "properties": dict(event.properties)}
            if condition is None or condition.evaluate(self.facts, self.now, payload):
                return True
        return False

    def _pace(self, step: Send, state: State) -> Advance | None:
        """Marketing and service email wait for the frequency cap across journeys and for
        quiet hours: a reader is overwhelmed by any mail they did not just ask for, and an
        email that waits is never dropped. Transactional mail (log-in instructions) goes at
        once."""
        if not step.capped:
            return None
        when, reason = next_send_time(self.now, self.tz, self.facts.capped_sends, self.pacing)
        if when <= self.now:
            return None
        self.out.append(d.Deferred(step.id, state.seq, when, reason or "paced"))
        return self._wait(state, when)

    def _send(self, step: Send, state: State) -> None:
        template, variant = step.template, ""
        if step.variants:
            point = bucket(self.facts.contact.id, self.journey.id, step.id, "variant")
            chosen = step.variants[pick_weighted([v.weight for v in step.variants], point)]
            template, variant = chosen.template, chosen.template
        self.out.append(d.SendEmail(step.id, state.seq, template, variant, step.to,
                                    step.message_class or MARKETING, self.journey.topic))
        if step.capped:
            self.facts.capped_sends.append(self.now)

    def _set(self, step: SetFields) -> None:
        contact = self.facts.contact
        if step.stage and step.stage != contact.stage:
            self.out.append(d.SetStage(step.id, contact.stage, step.stage))
            contact.stage = step.stage
        if step.attributes:
            values = dict(step.attributes)
            self.out.append(d.SetAttributes(step.id, values))
            contact.attributes = {**contact.attributes, **values}
