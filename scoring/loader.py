"""Reading the scoring rules file: every violation with its line, like journey validation."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Any

from ruamel.yaml.comments import CommentedMap

from journeys.durations import parse_duration
from nurture.events.catalog import is_known
from nurture.yamlfile import Kind, Listed, RulesLoaded, YamlReader, line_of, load_file, load_text
from scoring.rules import (
    FIT_FIELDS,
    PERIODS,
    Cap,
    EngagementRule,
    FitRule,
    HandoffPolicy,
    Matcher,
    Rules,
)

DEFAULT_FILE = Path(__file__).resolve().parent / "rules.yaml"
TOP_KEYS = frozenset({"half_life", "grades", "fit", "engagement", "handoff"})
FIT_KEYS = frozenset({"id", "label", "points", "when"})
ENGAGEMENT_KEYS = frozenset({"id", "label", "event", "where", "unless", "points", "cap", "decays"})
HANDOFF_KEYS = {"threshold", "min_grade", "velocity", "hand_raisers", "cooldown", "sla",
                "stages"}
FIT = Listed("fit", "a list of rules", "A fit rule", "id, points and when", FIT_KEYS,
             "Every rule", "The rule id")
ENGAGEMENT = Listed("engagement", "a list of rules", "An engagement rule", "id, event and points",
                    ENGAGEMENT_KEYS, "Every rule", "The rule id")
RULES_FILE = Kind("The rules file", "A scoring rules file must be a mapping with fit, engagement "
                  "and handoff.", TOP_KEYS)
STAGES = ("learn", "try", "buy", "onboard", "adopt", "renew", "churned", "deprovisioned")


LoadedRules = RulesLoaded[Rules]


class _Reader(YamlReader):
    def number(self, value: Any, line: int, what: str) -> float | None:
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.bad(line, f"The {what} must be a number.")
            return None
        return float(value)

    def matcher(self, value: Any, line: int, what: str) -> Matcher | None:
        if isinstance(value, str | int | float):  # a bool too: `machine: true`
            value = [value]
        if isinstance(value, list):
            if not value:
                self.bad(line, f"The list for {what} is empty.")
                return None
            return Matcher(one_of=tuple(str(v).strip().lower() for v in value))
        if not isinstance(value, dict):
            self.bad(line, f"The condition on {what} must be a value, a list, or a mapping "
                           "with min, max or matches.")
            return None
        self.unknown_keys(value, {"min", "max", "matches"}, line, f"The condition on {what}")
        low = self.number(value["min"], line, f"minimum for {what}") if "min" in value else None
        high = self.number(value["max"], line, f"maximum for {what}") if "max" in value else None
        pattern = None
        if "matches" in value:
            try:
                pattern = re.compile(str(value["matches"]), re.IGNORECASE)
            except re.error as exc:
                self.bad(line, f"The pattern for {what} is not a valid regular expression: "
                               f"{exc}.")
        if low is not None and high is not None and low > high:
            self.bad(line, f"The minimum for {what} is above its maximum.")
        if low is None and high is None and pattern is None:
            self.bad(line, f"The condition on {what} needs min, max or matches.")
            return None
        return Matcher(minimum=low, maximum=high, pattern=pattern)

    def conditions(self, node: Any, line: int, what: str, fields: tuple[str, ...] | None
                   ) -> dict[str, Matcher]:
        if not isinstance(node, dict) or not node:
            self.bad(line, f"'{what}' must be a mapping of field to condition.")
            return {}
        out = {}
        for key, value in node.items():
            at = line_of(node, key, line)
            if fields is not None and key not in fields:
                self.bad(at, f"'{key}' is not a contact field a fit rule can use; use "
                             f"{', '.join(FIT_FIELDS)}.")
                continue
            matcher = self.matcher(value, at, f"'{key}'")
            if matcher is not None:
                out[str(key)] = matcher
        return out


def _rules(r: _Reader, doc: CommentedMap) -> Rules:
    half_life = r.optional(doc, "half_life", parse_duration, "half-life", timedelta(days=30))
    seen: set[str] = set()
    fit = _fit_rules(r, doc, seen)
    engagement = _engagement_rules(r, doc, seen)
    grades = _grades(r, doc)
    policy = _handoff(r, doc)
    return Rules(tuple(fit), tuple(engagement), half_life, grades, policy)


def _fit_rules(r: _Reader, doc: CommentedMap, seen: set[str]) -> list[FitRule]:
    rules = []
    for line, item, rule_id in r.listed(doc, FIT, seen):
        points = r.number(item.get("points"), line_of(item, "points", line), "rule's points")
        when = r.conditions(item.get("when"), line_of(item, "when", line), "when", FIT_FIELDS)
        if rule_id and points is not None and when:
            rules.append(FitRule(rule_id, points, when, str(item.get("label") or "")))
    return rules


def _engagement_rules(r: _Reader, doc: CommentedMap, seen: set[str]) -> list[EngagementRule]:
    rules = []
    for line, item, rule_id in r.listed(doc, ENGAGEMENT, seen):
        event = item.get("event")
        if not isinstance(event, str) or not is_known(event):
            r.bad(line_of(item, "event", line), f"The event type {event!r} is not in the "
                  "catalogue; use a known type or prefix your own with 'custom.'.")
        points = r.number(item.get("points"), line_of(item, "points", line), "rule's points")
        where, unless = {}, {}
        if "where" in item:
            where = r.conditions(item["where"], line_of(item, "where", line), "where", None)
        if "unless" in item:
            unless = r.conditions(item["unless"], line_of(item, "unless", line), "unless", None)
        cap = _cap(r, item, line)
        decays = item.get("decays", True)
        if not isinstance(decays, bool):
            r.bad(line_of(item, "decays", line), "'decays' must be true or false.")
        if rule_id and points is not None and isinstance(event, str):
            rules.append(EngagementRule(rule_id, event, points, where, unless, cap,
                                        decays is not False, str(item.get("label") or "")))
    return rules


def _cap(r: _Reader, item: CommentedMap, line: int) -> Cap | None:
    if "cap" not in item:
        return None
    node, at = item["cap"], line_of(item, "cap", line)
    if not isinstance(node, dict) or set(node) != {"points", "per"}:
        r.bad(at, "A cap must be a mapping with 'points' and 'per' (day, week or month).")
        return None
    points = r.number(node["points"], at, "cap's points")
    if node["per"] not in PERIODS:
        r.bad(at, f"A cap's period must be day, week or month, not {node['per']!r}.")
        return None
    if points is not None and points <= 0:
        r.bad(at, "A cap's points must be above zero.")
        return None
    return Cap(points, node["per"]) if points is not None else None


def _grades(r: _Reader, doc: CommentedMap) -> tuple[tuple[str, float], ...]:
    node = doc.get("grades")
    if node is None:
        return Rules().grades
    line = line_of(doc, "grades")
    if not isinstance(node, dict) or not set(node) <= {"A", "B", "C"} or not node:
        r.bad(line, "'grades' must map A, B and C to the fit points each needs (below C is D).")
        return Rules().grades
    out = []
    for letter in ("A", "B", "C"):
        if letter in node:
            value = r.number(node[letter], line_of(node, letter, line), f"grade {letter}")
            if value is not None:
                out.append((letter, value))
    if [v for _, v in out] != sorted((v for _, v in out), reverse=True):
        r.bad(line, "Grades must need fewer points from A to C.")
    return tuple(out)


def _handoff(r: _Reader, doc: CommentedMap) -> HandoffPolicy:
    node = doc.get("handoff")
    default = HandoffPolicy()
    if node is None:
        return default
    line = line_of(doc, "handoff")
    if not isinstance(node, CommentedMap):
        r.bad(line, "'handoff' must be a mapping.")
        return default
    r.unknown_keys(node, HANDOFF_KEYS, line, "The hand-off policy")

    def at(key: str) -> int:
        return line_of(node, key, line)

    values: dict[str, Any] = {}
    if "threshold" in node:
        values["threshold"] = r.number(node["threshold"], at("threshold"), "threshold")
    if "min_grade" in node:
        if node["min_grade"] not in ("A", "B", "C", "D"):
            r.bad(at("min_grade"), "'min_grade' must be A, B, C or D.")
        else:
            values["min_grade"] = node["min_grade"]
    if "velocity" in node:
        velocity = node["velocity"]
        if (not isinstance(velocity, dict) or set(velocity) != {"events", "days"}
                or not all(isinstance(velocity[k], int) and velocity[k] >= 0
                           for k in ("events", "days"))):
            r.bad(at("velocity"), "'velocity' must be a mapping with whole numbers 'events' "
                                  "and 'days', e.g. {events: 3, days: 14}.")
        else:
            values["velocity_events"], values["velocity_days"] = (velocity["events"],
                                                                  velocity["days"])
    if "hand_raisers" in node:
        raisers = node["hand_raisers"]
        if not isinstance(raisers, list) or not all(isinstance(t, str) for t in raisers):
            r.bad(at("hand_raisers"), "'hand_raisers' must be a list of event types.")
        else:
            for event in raisers:
                if not is_known(event):
                    r.bad(at("hand_raisers"), f"The hand-raiser {event!r} is not a known "
                                              "event type.")
            values["hand_raisers"] = tuple(raisers)
    for key in ("cooldown", "sla"):
        if key in node:
            values[key] = r.checked(parse_duration, node[key], at(key), key)
    if "stages" in node:
        stages = node["stages"]
        if not isinstance(stages, list) or not stages or not set(stages) <= set(STAGES):
            r.bad(at("stages"), f"'stages' must be a list of stages among {', '.join(STAGES)}.")
        else:
            values["stages"] = tuple(stages)
    values = {k: v for k, v in values.items() if v is not None}
    return HandoffPolicy(**{**default.__dict__, **values})


def load_rules_text(text: str, file: str = "<rules>") -> LoadedRules:
    return load_text(_Reader(file), text, RULES_FILE, _rules, LoadedRules)


def load_rules_file(path: str | Path = DEFAULT_FILE) -> LoadedRules:
    return load_file(path, RULES_FILE, load_rules_text, LoadedRules)
