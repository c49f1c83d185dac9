"""Run a journey on synthetic contacts with a virtual clock: the real engine, no I/O.

    report = simulate(load_file("journeys/library/trial-nurture.yaml").journey,
                      contacts=1000, days=90, seed=1)
    print(report.format_text())

Contacts are drawn from `random.Random(seed)`, so one seed always gives the same report
(only `seconds` differs, and it is left out of comparisons). Each contact receives the
journey's trigger (an event, a condition check, or a synthesized contact date) and then
behaves as the behaviour file says (see `journeys.behavior`): it opens, clicks and
unsubscribes from the emails it is sent, and produces lifecycle events that move its stage
and attributes through `nurture.events.effects`, end the journey through its exit goals, and
wake steps waiting for them. The simulator keeps one enrollment per contact at a time.
"""

from __future__ import annotations

import heapq
import math
import random
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from journeys import behavior as b
from journeys import decisions as d
from journeys import definition as j
from journeys import entry
from journeys.behavior import Behavior, BehaviorError, load_behavior
from journeys.conditions import history_types
from journeys.engine import State, advance
from journeys.facts import EventRecord, Facts, attribute_path
from journeys.schedule import Pacing
from nurture.events.effects import effects, merge_attributes
from nurture.moments import as_datetime
from nurture.sending.classes import MARKETING, SERVICE, TRANSACTIONAL

__all__ = ["Behavior", "BehaviorError", "SimulationReport", "load_behavior", "simulate"]

START = datetime(2025, 1, 6, tzinfo=UTC)  # a Monday; fixed so that CI runs are repeatable
WAKE, ENTER, ARRIVE, EVENT = range(4)
STEP_COUNTS = ("entered", "completed", "sent", "recipients", "deferred")
KINDS = {j.Send: "send", j.Wait: "wait", j.WaitFor: "wait_for", j.Branch: "branch",
         j.Split: "split", j.SetFields: "set", j.Handoff: "handoff", j.Webhook: "webhook",
         j.Exit: "exit"}


class _Contact:
    __slots__ = ("active", "anchors", "consent", "due", "facts", "fired", "gen", "history",
                 "rule_gen", "state")

    def __init__(self, facts: Facts, rules: int):
        self.facts, self.state, self.active = facts, State(), False
        self.history: list[entry.PastEnrollment] = []
        self.gen, self.consent = 0, True
        self.due: datetime | None = None
        self.rule_gen, self.fired = [0] * rules, [0] * rules
        self.anchors: list[Any] = [None] * rules


@dataclass
class SimulationReport:
    """What happened. Equal for equal inputs, apart from `seconds` (left out of comparisons)."""

    journey: str
    contacts: int
    days: int
    seed: int
    start: datetime
    cap: int
    window_days: float
    steps: dict[str, dict[str, int]]
    marketing: list[int]  # marketing emails sent per day
    transactional: list[int]
    service: list[int]  # service email (onboarding, renewal, notices), sent without consent
    enrolled: int = 0
    active_at_end: int = 0
    exits: dict[str, int] = field(default_factory=dict)
    deferrals: dict[str, int] = field(
        default_factory=lambda: {"frequency_cap": 0, "quiet_hours": 0})
    suppressed: int = 0  # marketing emails not sent: the contact had unsubscribed
    recipients: int = 0
    events: dict[str, int] = field(default_factory=dict)  # generated, by type
    handoffs: int = 0
    webhooks: int = 0
    max_marketing_in_window: int = 0  # most marketing emails one contact got in one window
    seconds: float = field(default=0.0, compare=False)

    @classmethod
    def empty(cls, journey: j.Journey, contacts: int, days: int, seed: int, start: datetime,
              pacing: Pacing) -> SimulationReport:
        steps = {s.id: dict.fromkeys(STEP_COUNTS, 0) for s in journey.steps}
        return cls(journey.id, contacts, days, seed, start, pacing.cap,
                   pacing.window.total_seconds() / 86400, steps, [0] * days, [0] * days,
                   [0] * days)

    @property
    def totals(self) -> dict[str, int]:
        marketing, transactional = sum(self.marketing), sum(self.transactional)
        service = sum(self.service)
        return {
            "contacts": self.contacts, "enrolled": self.enrolled,
            "active_at_end": self.active_at_end, "emails": marketing + service + transactional,
            "marketing": marketing, "service": service, "transactional": transactional,
            "suppressed": self.suppressed, "recipients": self.recipients,
            "events": sum(self.events.values()), "handoffs": self.handoffs,
            "webhooks": self.webhooks}

    def sends_per_day(self) -> list[dict[str, Any]]:
        return [{"day": i + 1, "date": (self.start + timedelta(days=i)).date().isoformat(),
                 "marketing": m, "service": s, "transactional": t}
                for i, (m, s, t) in enumerate(zip(self.marketing, self.service,
                                                  self.transactional, strict=True))]

    def to_json(self) -> dict[str, Any]:
        return {
            "journey": self.journey, "contacts": self.contacts, "days": self.days,
            "seed": self.seed, "start": self.start.isoformat(),
            "steps": {k: dict(v) for k, v in self.steps.items()},
            "exits": dict(sorted(self.exits.items(), key=lambda kv: (-kv[1], kv[0]))),
            "sends_per_day": self.sends_per_day(), "deferrals": dict(self.deferrals),
            "totals": self.totals, "events": dict(sorted(self.events.items())),
            "pacing": {"cap": self.cap, "window_days": self.window_days,
                       "max_marketing_in_window": self.max_marketing_in_window},
            "seconds": self.seconds,
        }

    def format_text(self) -> str:
        totals, width = self.totals, max([len(s) for s in self.steps] + [20])
        lines = [
            f"Simulated {self.journey}: {self.contacts} contacts over {self.days} days from "
            f"{self.start.date().isoformat()} (seed {self.seed}) in {self.seconds:.1f} s.",
            f"Enrolled {totals['enrolled']}; {totals['active_at_end']} still in the journey "
            "at the end.", "",
            f"{'step':<{width}} " + " ".join(f"{c:>10}" for c in STEP_COUNTS),
        ]
        for step_id, counts in self.steps.items():
            lines.append(f"{step_id:<{width}} "
                         + " ".join(f"{counts[c]:>10}" for c in STEP_COUNTS))
        lines += ["", "Exits:"] + [f"  {reason:<{width}} {count:>10}" for reason, count
                                   in self.to_json()["exits"].items()]
        lines += [
            "", f"Emails: {totals['marketing']} marketing, {totals['service']} service, "
            f"{totals['transactional']} transactional, {totals['recipients']} recipients, "
            f"{totals['suppressed']} suppressed after unsubscribing.",
            f"Deferrals: {self.deferrals.get('frequency_cap', 0)} by the frequency cap, "
            f"{self.deferrals.get('quiet_hours', 0)} by quiet hours; at most "
            f"{self.max_marketing_in_window} marketing emails to one contact in "
            f"{self.window_days:g} days (cap {self.cap}).",
            f"Handoffs: {self.handoffs}; webhooks: {self.webhooks}.", "", "Sends per day:",
            f"  {'day':>5}  {'date':<10}  {'marketing':>10}  {'service':>8}  "
            f"{'transactional':>13}",
        ]
        lines += [f"  {row['day']:>5}  {row['date']}  {row['marketing']:>10}  "
                  f"{row['service']:>8}  {row['transactional']:>13}"
                  for row in self.sends_per_day()
                  if row["marketing"] or row["service"] or row["transactional"]]
        lines += ["", "Events generated:"] + [f"  {name:<{width}} {count:>10}"
                                              for name, count in sorted(self.events.items())]
        return "\n".join(lines)


def simulate(journey: j.Journey, contacts: int, days: int, seed: int,
             behavior: Behavior | None = None, start: datetime | None = None,
             pacing: Pacing | None = None) -> SimulationReport:
    """Run `journey` for `contacts` synthetic contacts over `days` days of virtual time."""
    began = time.perf_counter()
    sim = _Simulation(journey, contacts, days, seed, behavior or b.default_behavior(),
                      start or START, pacing or Pacing())
    sim.run()
    sim.report.seconds = round(time.perf_counter() - began, 3)
    return sim.report


class _Simulation:
    def __init__(self, journey: j.Journey, contacts: int, days: int, seed: int,
                 behavior: Behavior, start: datetime, pacing: Pacing):
        self.journey, self.behavior, self.pacing = journey, behavior, pacing
        self.start, self.end = start, start + timedelta(days=days)
        self.rng = random.Random(seed)
        self.heap: list[tuple[datetime, int, int, int, Any]] = []
        self.seq = 0
        trigger, self.goals = journey.trigger, {g.event for g in journey.exit_goals}
        self.trigger_event = trigger.event if isinstance(trigger, j.EventTrigger) else ""
        self.relevant = history_types(journey) | self.goals | {self.trigger_event}
        self.sends = {s.id for s in journey.steps if isinstance(s, j.Send)}
        self.waits = {s.id: s.event for s in journey.steps if isinstance(s, j.WaitFor)}
        # A rule for the trigger's own event only supplies the arrivals' properties.
        self.rules = [r for r in behavior.events.values()
                      if r.happens and r.type != self.trigger_event]
        self.staged = [i for i, r in enumerate(self.rules) if r.stages and not r.after]
        self.dated = [i for i, r in enumerate(self.rules) if r.at is not None]
        self.always = [i for i, r in enumerate(self.rules) if not (r.stages or r.after or r.at)]
        self.after = {s.id: [i for i, r in enumerate(self.rules) if r.after in _names(s)]
                      for s in journey.steps}
        stage = b.initial_stage(journey, behavior, start)
        self.report = SimulationReport.empty(journey, contacts, days, seed, start, pacing)
        self.contacts = [
            _Contact(Facts(b.synthetic_contact(self.rng, i, stage, journey, start, self.end)),
                     len(self.rules))
            for i in range(contacts)]

    def _arrivals(self) -> None:
        """Each contact appears (its behaviour starts) with the trigger event or the first
        condition check, within `arrivals_days` (or the period); for a date trigger, at once."""
        dated = isinstance(self.journey.trigger, j.DateTrigger)
        days = (self.end - self.start).days
        span = timedelta(days=0 if dated else min(self.behavior.arrivals_days, days))
        for index in range(len(self.contacts)):
            self._push(self.start + span * self.rng.random(), ARRIVE, index, None)

    def _arrive(self, c: _Contact, index: int, now: datetime) -> None:
        for r in self.always:
            self._arm(c, index, r, now)
        self._stage_changed(c, index, None, now)
        if isinstance(self.journey.trigger, j.EventTrigger):
            rule = self.behavior.events.get(self.trigger_event)
            props = b.draw_properties(self.rng, rule) if rule else {}
            self._event(c, index, self.trigger_event, props, now)
        else:
            self._changed(c, index, now)

    def _push(self, when: datetime, kind: int, index: int, payload: Any) -> None:
        if when < self.end:
            self.seq += 1
            heapq.heappush(self.heap, (when, self.seq, kind, index, payload))

    def run(self) -> None:
        self._arrivals()
        heap, contacts = self.heap, self.contacts
        while heap:
            now, _, kind, index, payload = heapq.heappop(heap)
            c = contacts[index]
            if kind == WAKE:
                if c.active and payload == c.gen:
                    self._run(c, index, now)
            elif kind == EVENT:
                self._fire(c, index, payload, now)
            elif kind == ARRIVE:
                self._arrive(c, index, now)
            elif not c.active and c.due == payload and self._may_enter(c, now):
                self._enroll(c, index, now)
        self.report.active_at_end = sum(1 for c in contacts if c.active)

    # -- enrollments ---------------------------------------------------------------------

    def _may_enter(self, c: _Contact, now: datetime) -> bool:
        return not c.active and entry.may_reenter(self.journey, c.history, now)

    def _enroll(self, c: _Contact, index: int, now: datetime) -> None:
        c.history.append(entry.PastEnrollment(now, True))
        c.active, c.state = True, State()
        self.report.enrolled += 1
        self._run(c, index, now)

    def _finish(self, c: _Contact, reason: str) -> None:
        c.active, c.gen = False, c.gen + 1
        c.history[-1] = entry.PastEnrollment(c.history[-1].entered_at, False)
        self.report.exits[reason] = self.report.exits.get(reason, 0) + 1

    def _run(self, c: _Contact, index: int, now: datetime) -> None:
        facts, cutoff = c.facts, now - self.pacing.window
        if facts.capped_sends and facts.capped_sends[0] <= cutoff:
            facts.capped_sends = [t for t in facts.capped_sends if t > cutoff]
        stage, attributes = facts.contact.stage, facts.contact.attributes
        result = advance(self.journey, c.state, facts, now, self.pacing)
        c.state, report = result.state, self.report
        for decision in result.decisions:
            if isinstance(decision, d.StepEntered):
                report.steps[decision.step_id]["entered"] += 1
                if decision.step_id not in self.sends:  # sends: once the email goes
                    for r in self.after[decision.step_id]:
                        self._arm(c, index, r, now)
            elif isinstance(decision, d.StepCompleted):
                report.steps[decision.step_id]["completed"] += 1
            elif isinstance(decision, d.SendEmail):
                self._sent(c, index, decision, now)
            elif isinstance(decision, d.Deferred):
                report.steps[decision.step_id]["deferred"] += 1
                report.deferrals[decision.reason] = report.deferrals.get(decision.reason, 0) + 1
            elif isinstance(decision, d.HandOff):
                report.handoffs += 1
                props = {"journey": self.journey.id, "step": decision.step_id,
                         "reason": decision.reason}
                self._push(now, EVENT, index, ("sales.handoff", props, -1, 0))
            elif isinstance(decision, d.CallWebhook):
                report.webhooks += 1
        if result.finished:
            self._finish(c, result.finished)
        elif result.next_run_at is not None:
            c.gen += 1
            self._push(result.next_run_at, WAKE, index, c.gen)
        if facts.contact.stage != stage:
            self._stage_changed(c, index, stage, now)
        elif facts.contact.attributes is not attributes:
            self._dates_changed(c, index, now)

    def _sent(self, c: _Contact, index: int, send: d.SendEmail, now: datetime) -> None:
        report, rng, sends = self.report, self.rng, c.facts.capped_sends
        day = int((now - self.start).total_seconds() // 86400)
        if send.message_class == TRANSACTIONAL:
            report.transactional[day] += 1
        elif send.message_class == SERVICE:  # on the contract: no consent needed
            report.service[day] += 1
        elif not c.consent:  # the sending layer drops marketing mail to the unsubscribed
            report.suppressed += 1
            sends.remove(now)
            return
        else:
            report.marketing[day] += 1
            cutoff = now - self.pacing.window
            in_window = sum(1 for t in sends if t > cutoff)
            report.max_marketing_in_window = max(report.max_marketing_in_window, in_window)
        attributes = c.facts.contact.attributes
        recipients = sum(1 for role in send.to
                         if role == "contact" or attribute_path(attributes, role))
        step = report.steps[send.step_id]
        step["sent"] += 1
        step["recipients"] += recipients
        report.recipients += recipients
        for r in self.after[send.step_id]:
            self._arm(c, index, r, now)
        rates = self.behavior.rates(send.step_id, c.facts.contact.stage)
        if rng.random() >= rates.open:
            return
        props = {"journey": self.journey.id, "step": send.step_id, "template": send.template}
        opened = now + timedelta(seconds=rng.expovariate(1 / 10800))
        self._push(opened, EVENT, index, ("email.opened", props, -1, 0))
        if rng.random() < rates.click:
            clicked = opened + timedelta(seconds=rng.expovariate(1 / 1200))
            self._push(clicked, EVENT, index, ("email.clicked", props, -1, 0))
        if send.message_class == MARKETING and rng.random() < rates.unsubscribe:
            gone = opened + timedelta(seconds=rng.expovariate(1 / 600))
            self._push(gone, EVENT, index, ("email.unsubscribed", props, -1, 0))

    # -- behaviour -----------------------------------------------------------------------

    def _arm(self, c: _Contact, index: int, r: int, now: datetime) -> None:
        """Start a rule for a contact: the next per-day occurrence, or a one-off draw."""
        rule, rng = self.rules[r], self.rng
        if rule.per_day is not None:
            if rule.per_day <= 0 or (rule.max is not None and c.fired[r] >= rule.max):
                return
            days = 0 if rule.per_day >= 1 else int(math.log(1.0 - rng.random())
                                                    / math.log1p(-rule.per_day))
            when = now + timedelta(days=days + rng.random())  # on the first day it comes up
        else:
            if rng.random() >= (rule.probability or 0):
                return
            when = now + (rule.within or timedelta(days=1 if rule.after else 7)) * rng.random()
        self._push(when, EVENT, index, (rule.type, None, r, c.rule_gen[r]))

    def _stage_changed(self, c: _Contact, index: int, old: str | None, now: datetime) -> None:
        new = c.facts.contact.stage
        for r in self.staged:
            stages = self.rules[r].stages
            if old in stages and new not in stages:
                c.rule_gen[r] += 1
            elif new in stages and old not in stages and self.rules[r].at is None:
                self._arm(c, index, r, now)
        self._dates_changed(c, index, now)

    def _dates_changed(self, c: _Contact, index: int, now: datetime) -> None:
        """Draw date-anchored rules whose contact date appeared or moved; follow the trigger
        date of a date-triggered journey."""
        contact = c.facts.contact
        for r in self.dated:
            rule = self.rules[r]
            at = rule.at
            if at is None or (rule.stages and contact.stage not in rule.stages):
                continue
            raw = attribute_path(contact.attributes, at.attribute)
            base = as_datetime(raw)
            if base is None or c.anchors[r] == raw:
                continue
            c.anchors[r] = raw
            when = base + at.offset + (rule.within or timedelta()) * self.rng.random()
            if when >= now and self.rng.random() < (rule.probability or 0):
                self._push(when, EVENT, index, (rule.type, None, r, raw))
        if isinstance(self.journey.trigger, j.DateTrigger) and not c.active:
            due = entry.date_due(self.journey, c.facts)
            if due is not None and due != c.due and due >= now:
                c.due = due
                self._push(due, ENTER, index, due)

    def _fire(self, c: _Contact, index: int, payload: tuple, now: datetime) -> None:
        event_type, props, r, token = payload
        if r >= 0:
            rule, contact = self.rules[r], c.facts.contact
            if rule.stages and contact.stage not in rule.stages:
                return
            if rule.at is not None:
                if attribute_path(contact.attributes, rule.at.attribute) != token:
                    return
            elif token != c.rule_gen[r]:
                return
            c.fired[r] += 1
            props = b.draw_properties(self.rng, rule)
            if rule.per_day is not None:
                self._arm(c, index, r, now)
        self._event(c, index, event_type, props, now)

    def _event(self, c: _Contact, index: int, event_type: str, props: dict,
               now: datetime) -> None:
        """Record an event and apply its effects; then, as the live system does, end or
        wake the enrollment, or enter the journey."""
        report, facts, contact = self.report, c.facts, c.facts.contact
        report.events[event_type] = report.events.get(event_type, 0) + 1
        if event_type in self.relevant:
            facts.events.append(EventRecord(event_type, now, props))
        change = effects(contact.stage, event_type, props, now)
        old = contact.stage
        if change:
            contact.stage = change.stage or contact.stage
            for name, value in change.fields.items():
                if name == "consent_marketing":
                    c.consent = bool(value)
                elif hasattr(contact, name):
                    setattr(contact, name, value)
            if change.attributes:
                contact.attributes = merge_attributes(contact.attributes, change.attributes)
            if contact.stage != old:
                self._stage_changed(c, index, old, now)
            elif change.attributes:
                self._dates_changed(c, index, now)
        if c.active:
            if event_type in self.goals and entry.goal_reached(self.journey, event_type,
                                                               props, facts, now):
                self._finish(c, f"goal:{event_type}")
            elif self.waits.get(c.state.step_id or "") == event_type:
                self._run(c, index, now)
        elif event_type == self.trigger_event and self._may_enter(c, now) and \
                entry.event_triggers(self.journey, event_type, props, facts, now):
            self._enroll(c, index, now)
        if change:
            self._changed(c, index, now)

    def _changed(self, c: _Contact, index: int, now: datetime) -> None:
        """A condition-triggered journey is checked whenever the contact changes."""
        journey = self.journey
        if isinstance(journey.trigger, j.ConditionTrigger) and self._may_enter(c, now) and \
                entry.condition_holds(journey, c.facts, now):
            self._enroll(c, index, now)


def _names(step: j.Step) -> set[str]:
    """What a behaviour rule's `after` may call a step: its id, kind or templates."""
    names = {step.id, KINDS[type(step)]}
    if isinstance(step, j.Send):
        names |= {step.template, *(v.template for v in step.variants)}
    return names
