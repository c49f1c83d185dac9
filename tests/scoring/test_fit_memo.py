"""Fit for a batch (an import's): each rule's condition tested once per value gives the
points that testing every rule on every contact gives."""

from __future__ import annotations

from datetime import UTC, datetime

from scoring.engine import FitMemo, ScoreState, refit
from scoring.rules import fit_facts
from scoring.scorer import rules_from

NOW = datetime(2026, 3, 1, tzinfo=UTC)
PEOPLE = [
    {"email": "ann@shop.example", "industry": "retail", "company_size": 200, "role": "CTO",
     "country": "DE"},
    {"email": "bob@gmail.com", "industry": "Retail ", "company_size": 5000,
     "role": "Head of IT", "country": "FR"},
    {"email": "cid@hubspot.com", "industry": "mining", "company_size": None, "role": "",
     "country": "US"},
    {"email": "dee@x.example", "industry": "", "company_size": 1, "role": "developer",
     "country": "JP"},
    {"email": "eve", "industry": "healthcare", "company_size": 1000, "role": "VP Sales",
     "country": "ES"},
]


def test_a_batch_memo_gives_each_contact_the_points_of_its_own_fields():
    rules = rules_from()
    memo = FitMemo(rules)
    for person in PEOPLE * 2:  # the second round comes from the memo
        facts = fit_facts(person)
        alone, batched = ScoreState(), ScoreState()
        assert refit(rules, 1, batched, facts, NOW, memo) == refit(rules, 1, alone, facts, NOW)
        assert batched.fit_points == alone.fit_points and batched.fixed == alone.fixed


def test_contacts_holding_the_same_rules_share_their_points_and_replace_them():
    rules = rules_from()
    memo = FitMemo(rules)
    ann, bob = ScoreState(), ScoreState()
    refit(rules, 1, ann, fit_facts(PEOPLE[0]), NOW, memo)
    refit(rules, 2, bob, fit_facts({**PEOPLE[0], "email": "bob@other.example"}), NOW, memo)
    assert ann.fit_points is bob.fit_points  # converted once by the bulk writer
    refit(rules, 1, ann, fit_facts(PEOPLE[2]), NOW, memo)
    assert bob.fit_points == {"target-vertical": 15, "mid-market": 10, "decision-maker": 10,
                              "served-country": 5}
