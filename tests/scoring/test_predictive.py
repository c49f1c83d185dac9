"""The predictive score's pure core: features as of a moment, the regression, its measures,
and the synthetic history it is checked on (a planted signal is found; noise is not)."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from scoring import predictive, synthetic
from scoring.features import (
    FEATURE_NAMES,
    Lead,
    Touch,
    feature_row,
    live_row,
    seniority,
    training_set,
)
from scoring.predictive import (
    TrainingError,
    explain,
    fit,
    lift_in_top_decile,
    logits,
    predict_proba,
    roc_auc,
    time_split,
    train_and_evaluate,
)

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
DAY = timedelta(days=1)


@pytest.fixture(scope="module")
def planted() -> synthetic.History:
    return synthetic.generate(5000, NOW, seed=11, signal=1.0)


@pytest.fixture(scope="module")
def noise() -> synthetic.History:
    return synthetic.generate(5000, NOW, seed=11, signal=0.0)


def _evaluate(history: synthetic.History) -> predictive.Evaluation:
    leads, touches = synthetic.model_input(history)
    return train_and_evaluate(training_set(leads, touches, NOW))


def test_auc_counts_pairs_a_positive_wins_and_ties_as_half():
    assert roc_auc([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1]) == pytest.approx(0.75)
    assert roc_auc([0.1, 0.2, 0.9, 0.8], [0, 0, 1, 1]) == 1.0
    assert roc_auc([0.9, 0.8, 0.1, 0.2], [0, 0, 1, 1]) == 0.0
    assert roc_auc([0.5, 0.5, 0.5], [0, 1, 1]) == 0.5
    # pairs: (0.3 vs 0.3) tie, (0.3 vs 0.1) win, (0.7 vs 0.3) win, (0.7 vs 0.1) win -> 3.5 / 4
    assert roc_auc([0.3, 0.7, 0.3, 0.1], [1, 1, 0, 0]) == pytest.approx(0.875)


def test_auc_is_undefined_with_one_class_only():
    assert roc_auc([0.2, 0.4], [0, 0]) is None
    assert roc_auc([0.2, 0.4], [1, 1]) is None


def test_lift_compares_the_top_tenth_with_the_overall_rate():
    scores = list(range(20))  # the top decile is the two highest scores
    assert lift_in_top_decile(scores, [0] * 18 + [1, 1]) == pytest.approx(10.0)
    assert lift_in_top_decile(scores, [1, 1] + [0] * 18) == 0.0
    assert lift_in_top_decile(scores, [1] * 20) == 1.0
    assert lift_in_top_decile(scores, [0] * 20) is None


def test_time_split_trains_on_earlier_leads_and_tests_on_later_ones():
    times = [NOW + i * DAY for i in range(100)]
    split = time_split(times)
    assert split.cutoff == times[75]
    assert split.train == tuple(range(75)) and split.test == tuple(range(75, 100))
    gapped = time_split(times, gap=10 * DAY)
    assert gapped.train == tuple(range(66)) and gapped.test == split.test
    with pytest.raises(TrainingError, match="leaves 0 leads to train on"):
        time_split(times, cutoff=times[0])


def test_fit_finds_the_direction_and_size_of_known_coefficients():
    rng = np.random.default_rng(5)
    x = rng.normal(size=(4000, 3))
    y = (rng.random(4000) < 1 / (1 + np.exp(-(-1.0 + 1.5 * x[:, 0] - 0.8 * x[:, 1])))).astype(int)
    model = fit(x, y, ["a", "b", "c"], l2=0.1)
    a, b, c = np.asarray(model.coefficients) / np.asarray(model.scales)
    assert a == pytest.approx(1.5, abs=0.15) and b == pytest.approx(-0.8, abs=0.15)
    assert abs(c) < 0.15
    shrunk = fit(x, y, ["a", "b", "c"], l2=2000.0)
    assert abs(shrunk.coefficients[0]) < abs(model.coefficients[0]) / 2


def test_fit_refuses_leads_that_all_share_one_outcome():
    with pytest.raises(TrainingError, match="both converted and unconverted"):
        fit([[1.0], [2.0]], [0, 0], ["a"])


def test_contributions_plus_the_intercept_give_the_logit_largest_first():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(300, 3))
    y = (x[:, 0] + rng.normal(size=300) > 0.5).astype(int)
    model = fit(x, y, ["a", "b", "c"])
    row = [1.2, -0.3, 0.7]
    parts = explain(model, row, {"a": "Feature A"})
    assert sum(p.contribution for p in parts) + model.intercept == pytest.approx(
        logits(model, [row])[0])
    assert [abs(p.contribution) for p in parts] == sorted(
        (abs(p.contribution) for p in parts), reverse=True)
    assert parts[0].feature == "a" and parts[0].label == "Feature A" and parts[0].value == 1.2
    assert predict_proba(model, [row])[0] == pytest.approx(
        1 / (1 + np.exp(-logits(model, [row])[0])))


def test_seniority_is_read_from_free_role_text():
    assert [seniority(r) for r in ("CEO", "Chief Data Officer", "VP Engineering",
                                   "Vice President, Sales", "IT Director", "Head of IT",
                                   "Office manager", "Operations lead", "Developer", "")] == [
        "c_level", "c_level", "vp", "vp", "director", "director", "manager", "manager",
        "other", "other"]


def test_machine_opens_and_events_outside_the_window_are_not_engagement():
    lead = Lead(1, NOW - 20 * DAY, "healthcare", 300, "CTO", "FR")
    touches = [Touch(1, "email.opened", NOW - 2 * DAY),
               Touch(1, "email.opened", NOW - 2 * DAY, machine=True),
               Touch(1, "email.clicked", NOW - 3 * DAY),
               Touch(1, "page.visited", NOW - 15 * DAY),  # before the 14 days
               Touch(1, "trial.started", NOW - 5 * DAY),
               Touch(1, "email.sent", NOW - DAY)]  # not engagement
    values = dict(zip(FEATURE_NAMES, live_row(lead, touches, NOW), strict=True))
    assert values["opens"] == 1 and values["clicks"] == 1 and values["page_visits"] == 0
    assert values["trial_started"] == 1 and values["days_since_engagement"] == 2
    assert values["industry_healthcare"] == 1 and values["size_250_999"] == 1
    assert values["seniority_c_level"] == 1 and values["region_europe"] == 1
    idle = dict(zip(FEATURE_NAMES, feature_row(lead, [], NOW - 14 * DAY, NOW), strict=True))
    assert idle["days_since_engagement"] == 14 and idle["opens"] == 0


def test_labels_cover_ninety_days_and_only_leads_whose_window_has_ended():
    leads = [Lead(1, NOW - 200 * DAY), Lead(2, NOW - 200 * DAY), Lead(3, NOW - 200 * DAY),
             Lead(4, NOW - 200 * DAY), Lead(5, NOW - 60 * DAY)]
    touches = [Touch(1, "purchase.completed", NOW - 130 * DAY),  # day 70: converted
               Touch(2, "trial.converted", NOW - 100 * DAY),  # day 100: too late
               Touch(3, "purchase.completed", NOW - 195 * DAY),  # day 5: already a customer
               Touch(5, "purchase.completed", NOW - 30 * DAY)]  # window still open
    data = training_set(leads, touches, NOW)
    assert data.contact_ids == (1, 2, 4)
    assert data.labels == (1, 0, 0)
    assert data.converted_early == 1


def test_synthetic_history_is_reproducible_and_has_revenue_to_work_with(planted):
    again = synthetic.generate(300, NOW, seed=11, signal=1.0)
    assert again == synthetic.generate(300, NOW, seed=11, signal=1.0)
    assert all(c.created_at < NOW for c in planted.contacts)
    assert all(e.occurred_at < NOW for e in planted.events)
    purchases = [e for e in planted.events if e.type == "purchase.completed"]
    assert all(e.properties["amount"] > 0 and e.properties["currency"] for e in purchases)
    buyers = Counter(e.contact for e in purchases)
    assert sum(1 for n in buyers.values() if n > 1) > 50, "some customers buy again"
    assert 0.08 < len(buyers) / len(planted.contacts) < 0.16
    types = Counter(e.type for e in planted.events)
    for kind in ("email.opened", "email.clicked", "page.visited", "trial.started",
                 "trial.seat_activated", "trial.converted", "demo.requested"):
        assert types[kind] > 0, kind
    assert any(e.properties.get("machine") for e in planted.events if e.type == "email.opened")


def test_a_model_trained_on_a_planted_signal_beats_chance_clearly(planted):
    result = _evaluate(planted)
    assert result.n_test > 1000 and result.positives_test > 80
    assert result.auc > 0.7
    assert result.lift_top_decile > 2.0
    weights = dict(zip(result.model.features, result.model.coefficients, strict=True))
    assert weights["demo_requests"] > 0 and weights["industry_financial_services"] > 0


def test_a_model_trained_on_noise_does_no_better_than_chance(noise):
    result = _evaluate(noise)
    assert result.n_test > 1000 and result.positives_test > 80
    assert abs(result.auc - 0.5) < 0.07
