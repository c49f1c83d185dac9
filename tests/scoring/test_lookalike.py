"""Lifetime value put to use, the pure part: a lead's predicted value from its own history
or its look-alikes', the inbox order within urgency, and the acquisition-cost ceiling."""

from __future__ import annotations

import pytest

from scoring.lookalike import (
    Profile,
    ceilings,
    estimate,
    inbox_order,
    size_band,
    urgency,
)

BOOK = {1: 1000.0, 2: 3000.0, 3: 500.0, 4: 800.0}
PROFILES = {1: Profile("retail", "1-9", "google"), 2: Profile("retail", "1-9", "event"),
            3: Profile("retail", "10-49", "google"), 4: Profile("healthcare", "1-9", "")}


def test_a_customer_with_a_history_is_valued_by_it():
    found = estimate(1234.0, Profile("retail", "1-9", "google"), BOOK, PROFILES)
    assert (found.clv, found.basis, found.label) == (
        1234.0, "customer", "predicted CLV of this customer")


@pytest.mark.parametrize(("profile", "clv", "peers", "alike"), [
    (Profile("retail", "1-9", "google"), 1000.0, 1, "vertical, size, source"),
    (Profile("retail", "1-9", "referral"), (1000.0 + 3000.0) / 2, 2, "vertical, size"),
    (Profile("retail", "250+", ""), (1000.0 + 3000.0 + 500.0) / 3, 3, "vertical"),
])
def test_a_lead_is_valued_by_its_closest_look_alikes(profile, clv, peers, alike):
    found = estimate(None, profile, BOOK, PROFILES)
    assert (found.clv, found.basis, found.peers, found.alike) == (clv, "look-alikes", peers,
                                                                   alike)
    assert found.label.startswith(f"average predicted CLV of {peers} look-alike")


def test_without_a_vertical_or_anyone_alike_the_value_is_unknown():
    assert estimate(None, Profile("", "1-9", "google"), BOOK, PROFILES) is None
    assert estimate(None, Profile("public-sector", "1-9", ""), BOOK, PROFILES) is None


def test_company_sizes_fall_into_bands():
    assert [size_band(n) for n in (None, 0, 1, 9, 10, 49, 50, 249, 250, 10000)] == [
        "", "", "1-9", "1-9", "10-49", "10-49", "50-249", "50-249", "250+", "250+"]


def test_the_inbox_sorts_by_urgency_then_value_then_priority():
    leads = {
        "late, cheap": (urgency("open", "score", overdue=True), 10.0, 100, 1.0),
        "hand-raiser, rich": (urgency("open", "hand_raiser", False), 9000.0, 1100, 2.0),
        "hand-raiser, poor": (urgency("open", "hand_raiser", False), 20.0, 1300, 3.0),
        "hand-raiser, unknown": (urgency("open", "hand_raiser", False), None, 1400, 4.0),
        "score, rich": (urgency("open", "score", False), 50000.0, 200, 5.0),
        "accepted, richest": (urgency("accepted", "hand_raiser", True), 90000.0, 1400, 6.0),
    }
    assert sorted(leads, key=lambda name: inbox_order(*leads[name])) == [
        "late, cheap", "hand-raiser, rich", "hand-raiser, poor", "hand-raiser, unknown",
        "score, rich", "accepted, richest"]


def test_the_ceiling_is_the_groups_average_value_times_the_margin():
    groups = {1: "google", 2: "event", 3: "google", 4: ""}
    rows = ceilings("source", BOOK, groups, 0.7)
    assert [(r.group, r.customers, r.average_clv) for r in rows] == [
        ("event", 1, 3000.0), ("google", 2, (1000.0 + 500.0) / 2)]
    assert [r.ceiling for r in rows] == pytest.approx([3000.0 * 0.7, 750.0 * 0.7])
