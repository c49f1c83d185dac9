"""The one simulated run, behind `journeys.simulator` (one journey) and `journeys.ensemble`
(several): every journey's enrollments on shared synthetic contacts, one event heap, the
behaviour rules of `journeys.behavior`. Not pure (it keeps mutable state), but it does no
I/O and reads no clock."""

from __future__ import annotations

import heapq
import math
import random
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from journeys import behavior as b
from journeys import decisions as d
from journeys import definition as j
from journeys import entry
from journeys.behavior import Behavior
from journeys.conditions import history_types
from journeys.engine import State, advance
from journeys.facts import EventRecord, Facts, attribute_path
from journeys.schedule import Pacing
from journeys.simulation_report import SimulationReport
from nurture.events.effects import effects, merge_attributes
from nurture.moments import as_datetime

WAKE, ENTER, ARRIVE, EVENT = range(4)
DAY = timedelta(days=1)


@dataclass(frozen=True)
class Cohort:
    """Who the synthetic contacts are: their stage, the event they appear with (none: ""),
    over how many days they appear (None: the behaviour's `arrivals_days`), and the journey
    they are drawn for (its vertical, its trigger date; None: any vertical, no such date)."""

    stage: str
    event: str
    arrivals_days: float | None = None
    journey: j.Journey | None = None


class _Lane:
    """One journey of the run: what it listens to, and its own report."""

    def __init__(self, index: int, journey: j.Journey, report: SimulationReport):
        self.index, self.journey, self.report = index, journey, report
        trigger = journey.trigger
        self.goals = {g.event for g in journey.exit_goals}
        self.trigger_event = trigger.event if isinstance(trigger, j.EventTrigger) else ""
        self.condition = isinstance(trigger, j.ConditionTrigger)
        self.dated = isinstance(trigger, j.DateTrigger)
        self.relevant = history_types(journey) | self.goals | {self.trigger_event}
        self.sends = {s.id for s in journey.steps if isinstance(s, j.Send)}
        self.waits = {s.id: s.event for s in journey.steps if isinstance(s, j.WaitFor)}


class _Enrollment:
    __slots__ = ("active", "due", "gen", "history", "state")

    def __init__(self) -> None:
        self.active, self.gen, self.state = False, 0, State()
        self.due: datetime | None = None
        self.history: list[entry.PastEnrollment] = []


class _Contact:
    __slots__ = ("anchor", "anchors", "capped", "consent", "facts", "fired", "lanes",
                 "rule_gen", "sent")

    def __init__(self, facts: Facts, rules: int, lanes: int):
        self.facts, self.consent = facts, True
        self.lanes = [_Enrollment() for _ in range(lanes)]
        self.rule_gen, self.fired = [0] * rules, [0] * rules
        self.anchors: list[Any] = [None] * rules
        self.anchor: datetime | None = None  # when it appeared (for a customer: purchased)
        self.capped: list[tuple[datetime, int]] = []  # emails the cap counts, by lane
        self.sent: list[tuple[datetime, str, int]] = []  # every email: time, class, lane


class Run:
    """Several journeys on the same contacts; `run()` fills the lanes' reports and the
    counters that `journeys.ensemble` turns into a report."""

    def __init__(self, journeys: list[j.Journey], contacts: int, days: int, seed: int,
                 behavior: Behavior, start: datetime, pacing: Pacing, cohort: Cohort):
        self.behavior, self.pacing, self.cohort = behavior, pacing, cohort
        self.start, self.end, self.days, self.seed = start, start + timedelta(days=days), days, seed
        self.rng = random.Random(seed)
        self.heap: list[tuple[datetime, int, int, int, Any]] = []
        self.seq = 0
        self.lanes = [_Lane(i, jn, SimulationReport.empty(jn, contacts, days, seed, start,
                                                          pacing))
                      for i, jn in enumerate(journeys)]
        self.relevant = set().union(*(lane.relevant for lane in self.lanes))
        self.events: dict[str, int] = {}
        self.held: dict[tuple[int, int], int] = {}
        self.same_day: dict[tuple[int, int], int] = {}
        self.by_class: dict[tuple[int, str], int] = {}  # emails sent, by lane and class
        self.max_in_window = 0
        # A rule for the cohort's own event only supplies the arrivals' properties.
        self.rules = [r for r in behavior.events.values()
                      if r.happens and r.type != cohort.event]
        self.staged = [i for i, r in enumerate(self.rules) if r.stages and not r.after]
        self.dated = [i for i, r in enumerate(self.rules) if r.at is not None]
        self.always = [i for i, r in enumerate(self.rules) if not (r.stages or r.after or r.at)]
        self.after = {(lane.index, s.id): [i for i, r in enumerate(self.rules)
                                           if r.after in j.step_names(s)]
                      for lane in self.lanes for s in lane.journey.steps}
        # Unless drawn for one journey: contacts of every vertical, and no synthesized
        # trigger date (dates come from events).
        like = cohort.journey or replace(journeys[0], vertical=None,
                                         trigger=j.ConditionTrigger("false"))
        stage = behavior.initial_stage or cohort.stage
        self.contacts = [
            _Contact(Facts(b.synthetic_contact(self.rng, i, stage, like, start, self.end)),
                     len(self.rules), len(self.lanes))
            for i in range(contacts)]

    def _push(self, when: datetime, kind: int, index: int, payload: Any) -> None:
        if when < self.end:
            self.seq += 1
            heapq.heappush(self.heap, (when, self.seq, kind, index, payload))

    def run(self) -> None:
        arrivals = self.cohort.arrivals_days
        span = timedelta(days=min(self.days, self.behavior.arrivals_days if arrivals is None
                                  else arrivals))
        for index in range(len(self.contacts)):
            self._push(self.start + span * self.rng.random(), ARRIVE, index, None)
        heap, contacts = self.heap, self.contacts
        while heap:
            now, _, kind, index, payload = heapq.heappop(heap)
            c = contacts[index]
            if kind == WAKE:
                lane_index, gen = payload
                e = c.lanes[lane_index]
                if e.active and gen == e.gen:
                    self._run(c, index, self.lanes[lane_index], now)
            elif kind == EVENT:
                self._fire(c, index, payload, now)
            elif kind == ARRIVE:
                self._arrive(c, index, now)
            else:
                lane_index, due = payload
                e, lane = c.lanes[lane_index], self.lanes[lane_index]
                if not e.active and e.due == due and self._may_enter(c, lane, now):
                    self._enroll(c, index, lane, now)
        for lane in self.lanes:
            lane.report.active_at_end = sum(1 for c in contacts if c.lanes[lane.index].active)

    def _arrive(self, c: _Contact, index: int, now: datetime) -> None:
        for r in self.always:
            self._arm(c, index, r, now)
        self._stage_changed(c, index, None, now)
        c.anchor = now
        if self.cohort.event:
            rule = self.behavior.events.get(self.cohort.event)
            props = b.draw_properties(self.rng, rule) if rule else {}
            self._event(c, index, self.cohort.event, props, now)
        self._changed(c, index, now)

    # -- enrollments ---------------------------------------------------------------------

    def _may_enter(self, c: _Contact, lane: _Lane, now: datetime) -> bool:
        e = c.lanes[lane.index]
        return not e.active and entry.may_reenter(lane.journey, e.history, now)

    def _enroll(self, c: _Contact, index: int, lane: _Lane, now: datetime) -> None:
        e = c.lanes[lane.index]
        e.history.append(entry.PastEnrollment(now, True))
        e.active, e.state = True, State()
        lane.report.enrolled += 1
        self._run(c, index, lane, now)

    def _finish(self, c: _Contact, lane: _Lane, reason: str) -> None:
        e = c.lanes[lane.index]
        e.active, e.gen = False, e.gen + 1
        e.history[-1] = entry.PastEnrollment(e.history[-1].entered_at, False)
        lane.report.exits[reason] = lane.report.exits.get(reason, 0) + 1

    def _run(self, c: _Contact, index: int, lane: _Lane, now: datetime) -> None:
        e, facts, cutoff = c.lanes[lane.index], c.facts, now - self.pacing.window
        if facts.capped_sends and facts.capped_sends[0] <= cutoff:
            facts.capped_sends = [t for t in facts.capped_sends if t > cutoff]
        stage, attributes = facts.contact.stage, facts.contact.attributes
        counted = len(facts.capped_sends)
        result = advance(lane.journey, e.state, facts, now, self.pacing)
        # The emails the engine counted towards the cap, whatever their class.
        c.capped += [(t, lane.index) for t in facts.capped_sends[counted:]]
        e.state, report = result.state, lane.report
        for decision in result.decisions:
            if isinstance(decision, d.StepEntered):
                report.steps[decision.step_id]["entered"] += 1
                if decision.step_id not in lane.sends:  # sends: once the email goes
                    for r in self.after[(lane.index, decision.step_id)]:
                        self._arm(c, index, r, now)
            elif isinstance(decision, d.StepCompleted):
                report.steps[decision.step_id]["completed"] += 1
            elif isinstance(decision, d.SendEmail):
                self._sent(c, index, lane, decision, now)
            elif isinstance(decision, d.Deferred):
                report.steps[decision.step_id]["deferred"] += 1
                report.deferrals[decision.reason] = report.deferrals.get(decision.reason, 0) + 1
                if decision.reason == "frequency_cap":
                    self._held(c, lane, now)
            elif isinstance(decision, d.HandOff):
                report.handoffs += 1
                props = {"journey": lane.journey.id, "step": decision.step_id,
                         "reason": decision.reason}
                self._push(now, EVENT, index, ("sales.handoff", props, -1, 0))
            elif isinstance(decision, d.CallWebhook):
                report.webhooks += 1
        if result.finished:
            self._finish(c, lane, result.finished)
        elif result.next_run_at is not None:
            e.gen += 1
            self._push(result.next_run_at, WAKE, index, (lane.index, e.gen))
        if facts.contact.stage != stage:
            self._stage_changed(c, index, stage, now)
            self._changed(c, index, now)
        elif facts.contact.attributes is not attributes:
            self._dates_changed(c, index, now)
            self._changed(c, index, now)

    def _held(self, c: _Contact, lane: _Lane, now: datetime) -> None:
        """A send held by the cap: charge it to the journeys whose emails fill the window."""
        cutoff = now - self.pacing.window
        c.capped = [(t, k) for t, k in c.capped if t > cutoff]
        others = {k for t, k in c.capped if t <= now and k != lane.index} or {lane.index}
        for other in others:
            key = (lane.index, other)
            self.held[key] = self.held.get(key, 0) + 1

    def _sent(self, c: _Contact, index: int, lane: _Lane, send: d.SendEmail,
              now: datetime) -> None:
        report, rng, facts = lane.report, self.rng, c.facts
        day, cls = int((now - self.start).total_seconds() // 86400), send.message_class
        if cls == "transactional":
            report.transactional[day] += 1
        elif cls == "service":  # on the contract: no consent needed
            report.service[day] += 1
            self._same_day(c, lane, now)
        elif not c.consent:  # dropped by the sending layer
            report.suppressed += 1
            if now in facts.capped_sends:
                facts.capped_sends.remove(now)
                c.capped.remove((now, lane.index))
            return
        else:
            report.marketing[day] += 1
            cutoff = now - self.pacing.window
            in_window = sum(1 for t in facts.capped_sends if t > cutoff)
            report.max_marketing_in_window = max(report.max_marketing_in_window, in_window)
            self.max_in_window = max(self.max_in_window, in_window)
            self._same_day(c, lane, now)
        c.sent.append((now, cls, lane.index))
        self.by_class[(lane.index, cls)] = self.by_class.get((lane.index, cls), 0) + 1
        attributes = facts.contact.attributes
        recipients = sum(1 for role in send.to
                         if role == "contact" or attribute_path(attributes, role))
        step = report.steps[send.step_id]
        step["sent"] += 1
        step["recipients"] += recipients
        report.recipients += recipients
        for r in self.after[(lane.index, send.step_id)]:
            self._arm(c, index, r, now)
        rates = self.behavior.rates(send.step_id, facts.contact.stage)
        if rng.random() >= rates.open:
            return
        props = {"journey": lane.journey.id, "step": send.step_id, "template": send.template}
        opened = now + timedelta(seconds=rng.expovariate(1 / 10800))
        self._push(opened, EVENT, index, ("email.opened", props, -1, 0))
        if rng.random() < rates.click:
            clicked = opened + timedelta(seconds=rng.expovariate(1 / 1200))
            self._push(clicked, EVENT, index, ("email.clicked", props, -1, 0))
        if cls == "marketing" and rng.random() < rates.unsubscribe:
            gone = opened + timedelta(seconds=rng.expovariate(1 / 600))
            self._push(gone, EVENT, index, ("email.unsubscribed", props, -1, 0))

    def _same_day(self, c: _Contact, lane: _Lane, now: datetime) -> None:
        """Count each other journey that emailed this contact in the last 24 hours."""
        others = set()
        for t, cls, other in reversed(c.sent):
            if t <= now - DAY:
                break
            if other != lane.index and cls != "transactional":
                others.add(other)
        for other in others:
            key = (lane.index, other)
            self.same_day[key] = self.same_day.get(key, 0) + 1

    # -- behaviour (the rules of journeys.behavior, for every journey at once) ------------

    def _arm(self, c: _Contact, index: int, r: int, now: datetime) -> None:
        """Start a rule for a contact: the next per-day occurrence, or a one-off draw."""
        rule, rng = self.rules[r], self.rng
        if rule.per_day is not None:
            if rule.per_day <= 0 or (rule.max is not None and c.fired[r] >= rule.max):
                return
            days = 0 if rule.per_day >= 1 else int(math.log(1.0 - rng.random())
                                                    / math.log1p(-rule.per_day))
            when = now + timedelta(days=days + rng.random())
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
        """Draw date-anchored rules whose contact date appeared or moved; follow the
        trigger dates of the date-triggered journeys."""
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
        for lane in self.lanes:
            e = c.lanes[lane.index]
            if lane.dated and not e.active:
                due = entry.date_due(lane.journey, c.facts)
                if due is not None and due != e.due and due >= now:
                    e.due = due
                    self._push(due, ENTER, index, (lane.index, due))

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
        """Record an event and apply its effects; then, for every journey, end or wake its
        enrollment, or enter it."""
        facts, contact = c.facts, c.facts.contact
        self.events[event_type] = self.events.get(event_type, 0) + 1
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
        for lane in self.lanes:
            e = c.lanes[lane.index]
            if e.active:
                if event_type in lane.goals and entry.goal_reached(lane.journey, event_type,
                                                                   props, facts, now):
                    self._finish(c, lane, f"goal:{event_type}")
                elif lane.waits.get(e.state.step_id or "") == event_type:
                    self._run(c, index, lane, now)
            elif event_type == lane.trigger_event and self._may_enter(c, lane, now) and \
                    entry.event_triggers(lane.journey, event_type, props, facts, now):
                self._enroll(c, index, lane, now)
        if change:
            self._changed(c, index, now)

    def _changed(self, c: _Contact, index: int, now: datetime) -> None:
        """Condition-triggered journeys are checked whenever the contact changes."""
        for lane in self.lanes:
            if lane.condition and self._may_enter(c, lane, now) and \
                    entry.condition_holds(lane.journey, c.facts, now):
                self._enroll(c, index, lane, now)

