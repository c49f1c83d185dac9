"""Reading `referral/rewards.yaml`: every violation with its line, like journey validation."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Any

from ruamel.yaml.comments import CommentedMap

from journeys.durations import parse_duration
from nurture.yamlfile import Kind, Listed, RulesLoaded, YamlReader, line_of, load_file, load_text
from referral.models import SOURCE_TYPES
from referral.rules import (
    BENEFICIARIES,
    FEATURES,
    FraudLimits,
    Milestone,
    RewardRule,
    Rules,
    When,
)

DEFAULT_FILE = Path(__file__).resolve().parent / "rewards.yaml"
TOP_KEYS = frozenset({"currency", "rewards", "milestones", "fraud", "share_window"})
# What a reward gives: exactly one of these keys (the yaml spelling of each kind).
GIVES = {"credit": "credit", "share": "share", "thanks": "thanks", "refer_back": "refer-back",
         "feature": "feature", "gift": "gift"}
REWARD_KEYS = frozenset({"id", "label", "to", "cap", "sources", "value", "when", *GIVES})
WHEN_KEYS = frozenset({"clv_at_least"})
MILESTONE_KEYS = frozenset({"id", "label", "at", "bonus"})
FRAUD_KEYS = {"per_source_per_day", "per_ip_per_day"}
REWARDS = Listed("rewards", "a list", "A reward",
                 "id, to and one of credit, share, thanks, refer_back, feature or gift",
                 REWARD_KEYS, "Every reward", "The id")
MILESTONES = Listed("milestones", "a list", "A milestone", "id, at and bonus",
                    MILESTONE_KEYS, "Every reward", "The id")
REWARDS_FILE = Kind("The rewards file", "A rewards file must be a mapping with currency, "
                    "rewards and milestones.", TOP_KEYS)
PERCENT = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*%\s*$")


LoadedRewards = RulesLoaded[Rules]


class _Reader(YamlReader):
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


def _rules(r: _Reader, doc: CommentedMap) -> Rules:
    currency = doc.get("currency", "EUR")
    if not isinstance(currency, str) or not re.fullmatch(r"[A-Z]{3}", currency):
        r.bad(line_of(doc, "currency"), "The currency must be a three-letter ISO code, "
                                        "like EUR.")
    window = r.optional(doc, "share_window", parse_duration, "share window",
                        timedelta(days=365))
    seen: set[str] = set()
    rewards = _rewards(r, doc, seen)
    milestones = _milestones(r, doc, seen)
    limits = _fraud(r, doc)
    return Rules(str(currency), tuple(rewards), tuple(milestones), window, limits)


def _rewards(r: _Reader, doc: CommentedMap, seen: set[str]) -> list[RewardRule]:
    out = []
    for line, item, rule_id in r.listed(doc, REWARDS, seen):
        to = item.get("to")
        if to not in BENEFICIARIES:
            r.bad(line_of(item, "to", line), "A reward goes 'to' the referrer or the friend.")
        sources = item.get("sources") or []
        if not isinstance(sources, list) or not set(sources) <= set(SOURCE_TYPES):
            r.bad(line_of(item, "sources", line), "The sources of a reward must be a list of "
                  f"{', '.join(SOURCE_TYPES)}.")
            sources = []
        label = str(item.get("label") or "")
        gives = [key for key in GIVES if key in item]
        if len(gives) != 1:
            r.bad(line, "A reward gives exactly one thing: 'credit' (a fixed amount), "
                        "'share' (a percentage of first-year revenue), 'thanks', "
                        "'refer_back', 'feature' or 'gift'.")
            continue
        when = _when(r, item, line)
        if gives[0] not in ("credit", "share"):
            found = _fulfilled(r, item, line, gives[0])
            if rule_id and found is not None and to in BENEFICIARIES:
                out.append(RewardRule(rule_id, to, GIVES[gives[0]], amount_cents=found[1],
                                      sources=tuple(sources), label=label, detail=found[0],
                                      when=when))
            continue
        if "value" in item:
            r.bad(line_of(item, "value", line), "Only a gift has a value; a credit is its "
                                                "amount.")
        if "credit" in item:
            amount = r.cents(item["credit"], line_of(item, "credit", line), "credit")
            if "cap" in item:
                r.bad(line_of(item, "cap", line), "Only a share has a cap.")
            if rule_id and amount is not None and to in BENEFICIARIES:
                out.append(RewardRule(rule_id, to, "credit", amount_cents=amount,
                                      sources=tuple(sources), label=label, when=when))
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
                                  sources=tuple(sources), label=label, when=when))
    return out


def _fulfilled(r: _Reader, item: CommentedMap, line: int, key: str
               ) -> tuple[str, int] | None:
    """A thank-you, a referral back, a feature or a gift: what it is (and a gift's value),
    or None after saying what is wrong."""
    value, at = item[key], line_of(item, key, line)
    if "cap" in item:
        r.bad(line_of(item, "cap", line), "Only a share has a cap.")
    if key != "gift" and "value" in item:
        r.bad(line_of(item, "value", line), "Only a gift has a value.")
    if key == "feature":
        if value not in FEATURES:
            r.bad(at, "A feature is a 'case-study' or a 'spotlight'.")
            return None
        return str(value), 0
    if not isinstance(value, str) or not value.strip():
        what = {"thanks": "A thank-you needs its words, like 'thanks: A note from the "
                          "founder'.",
                "refer_back": "A referral back says what to pass on, like 'refer_back: A "
                              "lead in their market'.",
                "gift": "A gift says what it is, like 'gift: A hamper of local food'."}[key]
        r.bad(at, what)
        return None
    cents = 0
    if key == "gift":
        if "value" not in item:
            r.bad(line, "A gift needs its 'value', the amount it costs, like 40.")
            return None
        found = r.cents(item["value"], line_of(item, "value", line), "gift's value")
        if found is None:
            return None
        cents = found
    return " ".join(value.split()), cents


def _when(r: _Reader, item: CommentedMap, line: int) -> When:
    """The condition on the friend (`when: {clv_at_least: 5000}`); none when absent."""
    node = item.get("when")
    if node is None:
        return When()
    at = line_of(item, "when", line)
    if not isinstance(node, CommentedMap) or not node:
        r.bad(at, "'when' must be a mapping of conditions, like {clv_at_least: 5000}.")
        return When()
    r.unknown_keys(node, WHEN_KEYS, at, "The conditions of a reward")
    if "clv_at_least" not in node:
        return When()
    cents = r.cents(node["clv_at_least"], line_of(node, "clv_at_least", at),
                    "lifetime value in 'clv_at_least'")
    return When(cents)


def _milestones(r: _Reader, doc: CommentedMap, seen: set[str]) -> list[Milestone]:
    out = []
    for line, item, rule_id in r.listed(doc, MILESTONES, seen):
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


def load_rewards_text(text: str, file: str = "<rewards>") -> LoadedRewards:
    return load_text(_Reader(file), text, REWARDS_FILE, _rules, LoadedRewards)


def load_rewards_file(path: str | Path = DEFAULT_FILE) -> LoadedRewards:
    return load_file(path, REWARDS_FILE, load_rewards_text, LoadedRewards)
