"""Reading `referral/rewards.yaml`: every violation with its line, like journey validation."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from ruamel.yaml.comments import CommentedMap, CommentedSeq

from journeys.durations import DurationError, parse_duration
from journeys.loader import parse_yaml
from journeys.reader import ID_PATTERN, FileReader, Violation, line_of
from referral.models import SOURCE_TYPES
from referral.rules import BENEFICIARIES, FraudLimits, Milestone, RewardRule, Rules

DEFAULT_FILE = Path(__file__).resolve().parent / "rewards.yaml"
TOP_KEYS = {"currency", "rewards", "milestones", "fraud", "share_window"}
REWARD_KEYS = {"id", "label", "to", "credit", "share", "cap", "sources"}
MILESTONE_KEYS = {"id", "label", "at", "bonus"}
FRAUD_KEYS = {"per_source_per_day", "per_ip_per_day"}
PERCENT = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*%\s*$")


@dataclass
class LoadedRewards:
    file: str
    rules: Rules | None = None
    violations: list[Violation] = field(default_factory=list)


class _Reader(FileReader):
    def cents(self, value: Any, line: int, what: str) -> int | None:
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            self.bad(line, f"The {what} must be an amount of zero or more, like 50 or 12.5.")
            return None
        return round(value * 100)

    def whole(self, value: Any, line: int, what: str) -> int | None:
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            self.bad(line, f"The {what} must be a whole number of 1 or more.")
            return None
        return value

    def items(self, doc: CommentedMap, key: str) -> list[tuple[int, Any]]:
        node = doc.get(key)
        if node is None:
            return []
        if not isinstance(node, CommentedSeq):
            self.bad(line_of(doc, key), f"'{key}' must be a list.")
            return []
        return [(line_of(node, i, line_of(doc, key)), item) for i, item in enumerate(node)]

    def rule_id(self, item: CommentedMap, line: int, seen: set[str]) -> str | None:
        rule_id = item.get("id")
        if not isinstance(rule_id, str) or not ID_PATTERN.match(rule_id):
            self.bad(line, "Every reward needs an 'id' of lower-case letters, digits, '-', "
                           "'_' or '.'.")
            return None
        if rule_id in seen:
            self.bad(line, f"The id '{rule_id}' is used twice; ids must be unique.")
        seen.add(rule_id)
        return rule_id


def load_rewards_text(text: str, file: str = "<rewards>") -> LoadedRewards:
    loaded = LoadedRewards(file)
    doc, errors = parse_yaml(text, file)
    if errors:
        loaded.violations = errors
        return loaded
    if not isinstance(doc, CommentedMap):
        loaded.violations = [Violation(file, 1, "A rewards file must be a mapping with "
                                                "currency, rewards and milestones.")]
        return loaded
    r = _Reader(file)
    r.unknown_keys(doc, TOP_KEYS, 1, "The rewards file")
    currency = doc.get("currency", "EUR")
    if not isinstance(currency, str) or not re.fullmatch(r"[A-Z]{3}", currency):
        r.bad(line_of(doc, "currency"), "The currency must be a three-letter ISO code, "
                                        "like EUR.")
    window = timedelta(days=365)
    if "share_window" in doc:
        try:
            window = parse_duration(doc["share_window"])
        except DurationError as exc:
            r.bad(line_of(doc, "share_window"), f"The share window is not valid: {exc}")
    seen: set[str] = set()
    rewards = _rewards(r, doc, seen)
    milestones = _milestones(r, doc, seen)
    limits = _fraud(r, doc)
    loaded.violations = sorted(set(r.violations))
    if not loaded.violations:
        loaded.rules = Rules(str(currency), tuple(rewards), tuple(milestones), window, limits)
    return loaded


def load_rewards_file(path: str | Path = DEFAULT_FILE) -> LoadedRewards:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        return LoadedRewards(str(path), None, [Violation(str(path), 1,
                             f"The rewards file cannot be read: {exc.strerror or exc}.")])
    return load_rewards_text(text, str(path))


def _rewards(r: _Reader, doc: CommentedMap, seen: set[str]) -> list[RewardRule]:
    out = []
    for line, item in r.items(doc, "rewards"):
        if not isinstance(item, CommentedMap):
            r.bad(line, "A reward must be a mapping with id, to and credit or share.")
            continue
        r.unknown_keys(item, REWARD_KEYS, line, "A reward")
        rule_id = r.rule_id(item, line, seen)
        to = item.get("to")
        if to not in BENEFICIARIES:
            r.bad(line_of(item, "to", line), "A reward goes 'to' the referrer or the friend.")
        sources = item.get("sources") or []
        if not isinstance(sources, list) or not set(sources) <= set(SOURCE_TYPES):
            r.bad(line_of(item, "sources", line), "The sources of a reward must be a list of "
                  f"{', '.join(SOURCE_TYPES)}.")
            sources = []
        label = str(item.get("label") or "")
        if ("credit" in item) == ("share" in item):
            r.bad(line, "A reward needs either 'credit' (a fixed amount) or 'share' (a "
                        "percentage of first-year revenue), not both.")
            continue
        if "credit" in item:
            amount = r.cents(item["credit"], line_of(item, "credit", line), "credit")
            if "cap" in item:
                r.bad(line_of(item, "cap", line), "Only a share has a cap.")
            if rule_id and amount is not None and to in BENEFICIARIES:
                out.append(RewardRule(rule_id, to, "credit", amount_cents=amount,
                                      sources=tuple(sources), label=label))
            continue
        match = PERCENT.match(str(item["share"]))
        percent = float(match.group(1)) if match else None
        if percent is None or not 0 < percent <= 100:
            r.bad(line_of(item, "share", line), "A share must be a percentage from 0% to "
                                                "100%, like 10%.")
        cap = r.cents(item["cap"], line_of(item, "cap", line), "cap") if "cap" in item \
            else None
        if rule_id and percent and to in BENEFICIARIES:
            out.append(RewardRule(rule_id, to, "share", percent=percent, cap_cents=cap,
                                  sources=tuple(sources), label=label))
    return out


def _milestones(r: _Reader, doc: CommentedMap, seen: set[str]) -> list[Milestone]:
    out = []
    for line, item in r.items(doc, "milestones"):
        if not isinstance(item, CommentedMap):
            r.bad(line, "A milestone must be a mapping with id, at and bonus.")
            continue
        r.unknown_keys(item, MILESTONE_KEYS, line, "A milestone")
        rule_id = r.rule_id(item, line, seen)
        at = r.whole(item.get("at"), line_of(item, "at", line), "milestone's 'at'")
        bonus = r.cents(item.get("bonus"), line_of(item, "bonus", line), "bonus")
        if rule_id and at and bonus is not None:
            out.append(Milestone(rule_id, at, bonus, str(item.get("label") or "")))
    ats = [m.at for m in out]
    if len(ats) != len(set(ats)):
        r.bad(line_of(doc, "milestones"), "Two milestones are at the same number of "
                                          "conversions.")
    return sorted(out, key=lambda m: m.at)


def _fraud(r: _Reader, doc: CommentedMap) -> FraudLimits:
    node = doc.get("fraud")
    if node is None:
        return FraudLimits()
    if not isinstance(node, CommentedMap):
        r.bad(line_of(doc, "fraud"), "'fraud' must be a mapping of limits.")
        return FraudLimits()
    r.unknown_keys(node, FRAUD_KEYS, line_of(doc, "fraud"), "The fraud limits")
    values = {}
    for key in FRAUD_KEYS & set(node):
        value = r.whole(node[key], line_of(node, key), f"limit {key}")
        if value:
            values[key] = value
    return FraudLimits(**values)
