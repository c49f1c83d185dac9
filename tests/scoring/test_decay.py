"""Score arithmetic on plain values: engagement halving per half-life, rounding, the
periodic decay's choice of which scores to write, and the hand-off decision."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np

from scoring.decay import Parts, moved
from scoring.engine import (
    HandoffCase,
    ScoreState,
    decay_scores,
    handoff_reason,
    rounded,
    score_from_ledger,
)
from scoring.rules import HandoffPolicy

NOW = datetime(2026, 3, 3, 10, 0, tzinfo=UTC)
MONTH = timedelta(days=30)
DAY = 86400.0


def test_engagement_halves_every_half_life_and_fixed_points_stay():
    scores = decay_scores(np.array([10.0, 10.0, -5.0]), np.array([40.0, 40.0, 0.0]),
                          np.array([0.0, 30 * DAY, 60 * DAY]), MONTH)
    assert scores.tolist() == [50, 30, -5]


def test_scores_round_half_away_from_zero_like_a_person_would():
    assert decay_scores(np.array([49.5, -49.5, 0.4]), np.zeros(3), np.zeros(3),
                        MONTH).tolist() == [50, -50, 0]
    assert (rounded(49.5), rounded(-49.5), rounded(50.4)) == (50, -50, 50)


def test_the_periodic_decay_writes_only_the_scores_that_moved():
    parts = Parts(ids=np.array([1, 2, 3]), fixed=np.array([10.0, 10.0, 0.0]),
                  engagement=np.array([40.0, 0.4, 0.0]),
                  since=np.array([30 * DAY, 30 * DAY, 0.0]), current=np.array([50, 10, 0]))
    ids, scores = moved(parts, MONTH)
    assert (ids.tolist(), scores.tolist()) == ([1], [30])


def test_engagement_folded_in_out_of_order_equals_the_score_from_the_ledger():
    ledger = [("engagement", 8.0, NOW - timedelta(days=20)),
              ("engagement", 5.0, NOW - timedelta(days=2)),
              ("engagement", 3.0, NOW - timedelta(days=45)),  # arrives late
              ("fit", 15.0, NOW - timedelta(days=60))]
    state = ScoreState(fixed=15.0)
    for _, points, at in ledger[:3]:
        state.add_engagement(points, at, MONTH)
    assert abs(state.total(NOW, MONTH) - score_from_ledger(ledger, NOW, MONTH)) < 1e-9
    assert score_from_ledger(ledger, NOW - timedelta(days=100), MONTH) == 0.0


def test_a_lead_over_the_threshold_with_enough_recent_activity_goes_to_sales():
    policy = HandoffPolicy(threshold=50, velocity_events=3)
    ready = HandoffCase(score=62, grade="B", stage="try", recent_engagements=4)
    trigger, reason = handoff_reason(policy, ready, NOW)
    assert trigger == "score"
    assert reason.startswith("Score 62 reached the threshold of 50 with 4 engagements")


def test_a_high_score_without_recent_activity_or_inside_the_cooldown_stays_in_nurture():
    policy = HandoffPolicy(threshold=50, velocity_events=3, cooldown=timedelta(days=30))
    quiet = HandoffCase(score=80, grade="A", stage="learn", recent_engagements=1)
    assert handoff_reason(policy, quiet, NOW) is None
    recent = HandoffCase(score=80, grade="A", stage="learn", recent_engagements=5,
                         last_handoff_at=NOW - timedelta(days=10))
    assert handoff_reason(policy, recent, NOW) is None
    assert handoff_reason(policy, recent, NOW + timedelta(days=21)) is not None


def test_a_hand_raiser_goes_to_sales_whatever_the_score():
    raised = HandoffCase(score=0, grade="D", stage="learn", recent_engagements=0,
                         hand_raiser="demo.requested")
    assert handoff_reason(HandoffPolicy(), raised, NOW) == (
        "hand_raiser", "Raised a hand: demo.requested.")
