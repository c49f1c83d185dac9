"""How synthetic contacts behave in the journey simulator, read from an optional YAML file.

Every key is optional; a file is laid over the defaults (`DEFAULT_BEHAVIOR` below), per key:

    arrivals_days: 7            # trigger events (or condition checks) arrive over these days
    initial_stage: learn        # where contacts start (default: fitted to the journey)
    email:                      # for every email sent
      open: 0.35                #   probability it is opened (a few hours later)
      click: 0.08               #   probability an opened email is clicked
      unsubscribe: 0.004        #   probability an opened marketing email ends in unsubscribing
    stages:                     # email overrides while the contact is in a stage
      try: {open: 0.45}
    steps:                      # email overrides for one step's sends (win over stages)
      tips: {click: 0.2}
    events:                     # other events contacts produce; `null` switches a default off
      trial.seat_activated: {per_day: 0.15, stages: [try], max: 10}
      trial.converted: {probability: 0.25, at: "trial.ends_at - 7d", within: 7d, stages: [try]}
      nps.answered: {probability: 0.3, after: nps-survey, within: 3d,   # template nps-survey
                     properties: {score: {6: 1, 8: 2, 10: 1}}}

An event rule either happens `per_day` (that probability each day, while the contact is in
one of `stages` — any stage when omitted — at most `max` times), or once with `probability`:
at a contact date (`at: "ATTRIBUTE ± DURATION"`, spread over `within`, drawn again when the
date changes); after a step (`after:` a step id, a send's template, or a step kind such as
`handoff`; for a send, once the email goes; within `within`, default 1d); or after the
contact enters one of `stages` (within `within`, default 7d). A rule with `stages` only
fires while the contact is still in one of them. `properties` are fixed values, or a mapping
of value → weight for a weighted choice (a `null` or empty value leaves the property out).

Each contact appears within `arrivals_days` (at the start for a date-triggered journey) with
its journey's trigger: the trigger event (a rule for that event type only supplies its
properties), a first condition check, or a synthesized trigger date inside the period.
Email events carry `journey`, `step` and `template` properties; an unsubscribed contact gets
no more marketing email (counted as suppressed).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from ruamel.yaml.comments import CommentedMap

from journeys.definition import DateTrigger, EventTrigger, Journey
from journeys.facts import ContactFacts
from journeys.reader import Reader
from nurture.contacts.stages import STAGES
from nurture.events.effects import effects
from nurture.yamlfile import line_of, parse_yaml

DEFAULT_BEHAVIOR = """
arrivals_days: 7
email: {open: 0.35, click: 0.08, unsubscribe: 0.004}
events:
  trial.started:
    per_day: 0.002
    stages: [learn]
    max: 1
    properties:
      seats: {1: 40, 2: 25, 3: 15, 5: 12, 10: 8}
      services: [mail, storage]
      technical_contact: {it@example.test: 60, "": 40}
  trial.seat_activated: {per_day: 0.15, stages: [try], max: 10}
  trial.converted: {probability: 0.25, at: "trial.ends_at - 7d", within: 7d, stages: [try]}
  trial.expired: {probability: 1.0, at: "trial.ends_at", stages: [try]}
  trial.data_deleted: {probability: 1.0, at: "trial.retention_until", stages: [learn]}
  content.downloaded: {per_day: 0.02, stages: [learn], max: 5}
  demo.requested: {per_day: 0.004, stages: [learn, try], max: 1}
  onboarding.completed: {probability: 0.8, within: 14d, stages: [onboard]}
  support.ticket_opened: {per_day: 0.01, stages: [onboard, adopt, renew, expand], max: 5}
  support.ticket_closed: {per_day: 0.3, stages: [onboard, adopt, renew, expand], max: 5}
  usage.dropped:
    {per_day: 0.003, stages: [adopt, renew, expand], max: 2,
     properties: {metric: logins, drop_percent: {15: 1, 35: 2, 60: 1}}}
  usage.grew:
    {per_day: 0.003, stages: [adopt, renew, expand], max: 2,
     properties: {metric: storage, growth_percent: {20: 2, 60: 1}}}
  usage.seats:
    {per_day: 0.01, stages: [onboard, adopt, renew, expand], max: 6,
     properties: {seats: {8: 3, 16: 1, 19: 1}, limit: 20}}
  nps.answered:
    {probability: 0.3, after: nps-survey, within: 3d, properties: {score: {
     0: 2, 1: 1, 2: 1, 3: 2, 4: 2, 5: 4, 6: 6, 7: 12, 8: 20, 9: 25, 10: 25}}}
  sales.accepted: {probability: 0.5, after: handoff, within: 5d}
  subscription.renewed:
    {probability: 0.85, at: "commitment.ends_at - 45d", within: 45d, stages: [adopt, renew]}
  subscription.cancelled:
    {probability: 1.0, at: "commitment.ends_at + 1d", stages: [onboard, adopt, renew]}
"""

INDUSTRIES = ("retail", "financial-services", "healthcare", "public-sector", "manufacturing")
ZONES = (("Europe/Paris", "FR"), ("America/New_York", "US"), ("Asia/Tokyo", "JP"),
         ("UTC", "GB"), ("America/Los_Angeles", "US"), ("Europe/Berlin", "DE"))
SIZES = ((10, 30), (50, 30), (250, 20), (1000, 12), (5000, 8))
ROLES = ("marketing manager", "it director", "cto", "operations lead", "developer")
NAMES = ("Ada", "Ben", "Chloé", "Dev", "Emma", "Farid", "Gina", "Hiro", "Inès", "Jon")
# For contacts who start in a later stage: the event that got them there, up to N days ago.
PRIOR = {"try": ("trial.started", 25), "onboard": ("purchase.completed", 30),
         "adopt": ("purchase.completed", 330), "renew": ("purchase.completed", 350),
         "expand": ("purchase.completed", 330)}
EMAIL_KEYS = ("open", "click", "unsubscribe")
TOP_KEYS = ("arrivals_days", "initial_stage", "email", "stages", "steps", "events")
RULE_KEYS = ("per_day", "probability", "stages", "at", "after", "within", "max", "properties")


class BehaviorError(ValueError):
    """Raised when a behaviour file is not valid; the message names the file and line."""

    def __init__(self, violations: list[str]):
        super().__init__("\n".join(violations))
        self.violations = violations


@dataclass(frozen=True)
class EmailRates:
    open: float = 0.35
    click: float = 0.08
    unsubscribe: float = 0.004


@dataclass(frozen=True)
class EventRule:
    type: str
    per_day: float | None = None
    probability: float | None = None
    stages: tuple[str, ...] = ()
    at: DateTrigger | None = None
    after: str | None = None
    within: timedelta | None = None
    max: int | None = None
    # name → a fixed value, or a tuple of (value, weight) pairs for a weighted choice
    properties: dict[str, Any] = field(default_factory=dict)

    @property
    def happens(self) -> bool:
        return self.per_day is not None or self.probability is not None


@dataclass(frozen=True)
class Behavior:
    arrivals_days: float = 7.0
    initial_stage: str | None = None
    email: EmailRates = field(default_factory=EmailRates)
    stages: dict[str, dict[str, float]] = field(default_factory=dict)
    steps: dict[str, dict[str, float]] = field(default_factory=dict)
    events: dict[str, EventRule] = field(default_factory=dict)

    def rates(self, step_id: str, stage: str) -> EmailRates:
        """The email rates for a send from `step_id` to a contact in `stage`."""
        by_stage, by_step = self.stages.get(stage), self.steps.get(step_id)
        if not by_stage and not by_step:
            return self.email
        return replace(self.email, **{**(by_stage or {}), **(by_step or {})})


def load_behavior(path: str | Path) -> Behavior:
    """Read a behaviour file and lay it over the defaults; raises BehaviorError."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise BehaviorError([f"{path}:1: The behaviour file cannot be read: {exc}."]) from None
    return behavior_from_text(text, str(path))


def behavior_from_text(text: str, file: str = "<behavior>",
                       base: Behavior | None = None) -> Behavior:
    doc, errors = parse_yaml(text, file)
    if errors:
        raise BehaviorError([str(v) for v in errors])
    if doc is None:
        return base or default_behavior()
    reader = Reader(file, None)
    if not isinstance(doc, CommentedMap):
        reader.bad(1, "A behaviour file must be a mapping with keys such as email and events.")
        raise BehaviorError([str(v) for v in reader.violations])
    behavior = _Parser(reader).behavior(doc, base if base is not None else default_behavior())
    if reader.violations:
        raise BehaviorError([str(v) for v in sorted(set(reader.violations))])
    return behavior


_DEFAULT: list[Behavior] = []


def default_behavior() -> Behavior:
    if not _DEFAULT:
        _DEFAULT.append(behavior_from_text(DEFAULT_BEHAVIOR, "<default behaviour>", Behavior()))
    return _DEFAULT[0]


def initial_stage(journey: Journey, behavior: Behavior, start: datetime) -> str:
    """The behaviour's `initial_stage`; else the stage just before the journey's first one
    when the trigger event moves contacts into the journey; else the journey's first stage."""
    if behavior.initial_stage:
        return behavior.initial_stage
    first = journey.stages[0] if journey.stages else "learn"
    if isinstance(journey.trigger, EventTrigger):
        before = STAGES[max(STAGES.index(first) - 1, 0)]
        moved = effects(before, journey.trigger.event, {}, start).stage
        if moved is not None and (not journey.stages or moved in journey.stages):
            return before
    return first


def synthetic_contact(rng: random.Random, index: int, stage: str, journey: Journey,
                      start: datetime, end: datetime) -> ContactFacts:
    """A plausible contact in `stage`, with the dates its stage implies and, for a
    date-triggered journey, a trigger date that falls between `start` and `end`."""
    tz, country = rng.choice(ZONES)
    contact = ContactFacts(
        id=index + 1, email=f"contact{index + 1}@example.test", stage=stage,
        score=rng.randint(0, 100), first_name=rng.choice(NAMES),
        company=f"Company {index // 3 + 1}", role=rng.choice(ROLES),
        industry=journey.vertical or rng.choice(INDUSTRIES), company_size=weighted(rng, SIZES),
        country=country, timezone=tz)
    prior = PRIOR.get(stage)
    if prior is not None:
        when = start - timedelta(days=rng.uniform(1, prior[1]))
        before = "learn" if prior[0] == "trial.started" else "try"
        contact.attributes = effects(before, prior[0], {}, when).attributes
    trigger = journey.trigger
    if isinstance(trigger, DateTrigger):
        due = start + (end - start) * rng.random()
        set_path(contact.attributes, trigger.attribute, (due - trigger.offset).isoformat())
    return contact


def draw_properties(rng: random.Random, rule: EventRule) -> dict[str, Any]:
    """An event's properties: fixed values and weighted choices (empty ones left out)."""
    out: dict[str, Any] = {}
    for name, value in rule.properties.items():
        if isinstance(value, tuple):
            value = weighted(rng, value)
        if value is not None and value != "":
            out[name] = value
    if rule.type == "nps.answered" and isinstance(out.get("score"), int):
        score = out["score"]
        out.setdefault("category", "promoter" if score >= 9 else
                       "passive" if score >= 7 else "detractor")
    return out


def weighted(rng: random.Random, choices: tuple | list) -> Any:
    point = rng.random() * sum(w for _, w in choices)
    for value, weight in choices:
        point -= weight
        if point < 0:
            return value
    return choices[-1][0]


def set_path(attributes: dict[str, Any], path: str, value: Any) -> None:
    """Set `a.b.c` in nested attributes, creating the mappings on the way."""
    node = attributes
    *parents, last = path.split(".")
    for part in parents:
        child = node.get(part)
        if not isinstance(child, dict):
            child = node[part] = {}
        node = child
    node[last] = value


class _Parser:
    def __init__(self, reader: Reader):
        self.r = reader

    def behavior(self, doc: CommentedMap, base: Behavior) -> Behavior:
        for key in doc:
            if key not in TOP_KEYS:
                self.r.bad(line_of(doc, key), f"The key '{key}' is not part of a behaviour "
                                              f"file; expected one of {', '.join(TOP_KEYS)}.")
        arrivals = base.arrivals_days
        if "arrivals_days" in doc:
            value = doc["arrivals_days"]
            if _number(value) and value > 0:
                arrivals = float(value)
            else:
                self.r.bad(line_of(doc, "arrivals_days"),
                           f"'arrivals_days' must be a number of days above zero; it is "
                           f"{value!r}.")
        initial = base.initial_stage
        if "initial_stage" in doc:
            initial = self._stage(doc["initial_stage"], line_of(doc, "initial_stage"))
        email = replace(base.email, **self._rates(doc, "email"))
        stages = {**base.stages, **self._overrides(doc, "stages", stage_keys=True)}
        steps = {**base.steps, **self._overrides(doc, "steps")}
        events = dict(base.events)
        raw = doc.get("events")
        if raw is not None and not isinstance(raw, CommentedMap):
            self.r.bad(line_of(doc, "events"), "'events' must map event types to rules.")
        elif raw is not None:
            for event_type, spec in raw.items():
                line = line_of(raw, event_type)
                if self.r.event_type(event_type, line) is None:
                    continue
                if spec is None:
                    events.pop(event_type, None)
                    continue
                rule = self._rule(event_type, spec, line)
                if rule is not None:
                    events[event_type] = rule
        return Behavior(arrivals, initial, email, stages, steps, events)

    def _stage(self, value: Any, line: int) -> str | None:
        if value in STAGES:
            return value
        self.r.bad(line, f"The stage {value!r} is unknown; stages are {', '.join(STAGES)}.")
        return None

    def _probability(self, node: CommentedMap, key: str, what: str) -> float | None:
        value = node[key]
        if _number(value) and 0 <= value <= 1:
            return float(value)
        self.r.bad(line_of(node, key), f"The {what} '{key}' must be a probability from 0 to 1; "
                                       f"it is {value!r}.")
        return None

    def _rates(self, node: CommentedMap, key: str) -> dict[str, float]:
        rates = node.get(key)
        if rates is None:
            return {}
        if not isinstance(rates, CommentedMap):
            self.r.bad(line_of(node, key), f"'{key}' must be a mapping of open, click and "
                                           "unsubscribe probabilities.")
            return {}
        out = {}
        for name in rates:
            if name not in EMAIL_KEYS:
                self.r.bad(line_of(rates, name), f"The key '{name}' is not an email rate; "
                                                 f"expected one of {', '.join(EMAIL_KEYS)}.")
                continue
            value = self._probability(rates, name, "email rate")
            if value is not None:
                out[name] = value
        return out

    def _overrides(self, doc: CommentedMap, key: str,
                   stage_keys: bool = False) -> dict[str, dict[str, float]]:
        node = doc.get(key)
        if node is None:
            return {}
        if not isinstance(node, CommentedMap):
            self.r.bad(line_of(doc, key), f"'{key}' must map names to email rates.")
            return {}
        if stage_keys:
            for name in node:
                self._stage(name, line_of(node, name))
        return {str(name): self._rates(node, name) for name in node}

    def _rule(self, event_type: str, spec: Any, line: int) -> EventRule | None:
        if not isinstance(spec, CommentedMap):
            self.r.bad(line, f"The rule for {event_type} must be a mapping such as "
                             "{per_day: 0.1} or {probability: 0.2, within: 7d}.")
            return None
        before = len(self.r.violations)
        for key in spec:
            if key not in RULE_KEYS:
                self.r.bad(line_of(spec, key, line), f"The key '{key}' is not part of an event "
                                                     f"rule; expected one of "
                                                     f"{', '.join(RULE_KEYS)}.")
        values: dict[str, Any] = {}
        for key in ("per_day", "probability"):
            if key in spec:
                values[key] = self._probability(spec, key, f"{event_type} rule value")
        if "per_day" in spec and "probability" in spec:
            self.r.bad(line, f"The rule for {event_type} needs either 'per_day' or "
                             "'probability', not both.")
        if "at" in spec and "after" in spec:
            self.r.bad(line, f"The rule for {event_type} needs either 'at' or 'after', not both.")
        if ("at" in spec or "after" in spec) and "probability" not in spec:
            self.r.bad(line, f"The rule for {event_type} uses 'at' or 'after' and so needs a "
                             "'probability'.")
        if "stages" in spec:
            raw = spec["stages"]
            raw = list(raw) if isinstance(raw, list) else [raw]
            values["stages"] = tuple(s for s in raw if self._stage(s, line_of(spec, "stages")))
        if "at" in spec:
            values["at"] = self.r.date_offset(spec["at"], line_of(spec, "at", line),
                                              f"date of the {event_type} rule")
        if "after" in spec:
            values["after"] = str(spec["after"])
        if "within" in spec:
            values["within"] = self.r.duration(spec["within"], line_of(spec, "within", line),
                                               f"'within' period of the {event_type} rule")
        if "max" in spec:
            cap = spec["max"]
            if isinstance(cap, int) and not isinstance(cap, bool) and cap > 0:
                values["max"] = cap
            else:
                self.r.bad(line_of(spec, "max", line), f"'max' in the {event_type} rule must "
                                                       f"be a whole number above zero.")
        values["properties"] = self._properties(event_type, spec, line)
        if len(self.r.violations) > before:
            return None
        return EventRule(event_type, **values)

    def _properties(self, event_type: str, spec: CommentedMap, line: int) -> dict[str, Any]:
        raw = spec.get("properties")
        if raw is None:
            return {}
        if not isinstance(raw, CommentedMap):
            self.r.bad(line_of(spec, "properties", line),
                       f"'properties' of the {event_type} rule must be a mapping.")
            return {}
        out: dict[str, Any] = {}
        for name, value in raw.items():
            if not isinstance(value, CommentedMap):
                out[str(name)] = _plain(value)
                continue
            weights = list(value.values())
            if not weights or not all(_number(w) and w >= 0 for w in weights) or not sum(weights):
                self.r.bad(line_of(raw, name, line),
                           f"The choices for property '{name}' of the {event_type} rule need "
                           "weights that are numbers of zero or more, not all zero.")
                continue
            out[str(name)] = tuple((_plain(v), float(w)) for v, w in value.items())
        return out


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _plain(value: Any) -> Any:
    """ruamel's round-trip containers and scalars as plain Python values."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    for kind in (bool, int, float, str):
        if isinstance(value, kind):
            return kind(value)
    return value
