"""NPS arithmetic: the score, the adjusted-Wald margin, and reports by period and segment.
Expected values are worked by hand in nurture/nps/stats.py's docstring."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from nurture.nps.stats import (
    ALL,
    INTERVAL,
    TOO_FEW,
    AnswerRow,
    as_dict,
    by_period_and_segment,
    by_segment,
    category,
    distribution,
    enough,
    nps,
    period_of,
)


def test_categories_follow_the_seed_boundaries():
    assert [category(s) for s in range(11)] == ["detractor"] * 7 + ["passive"] * 2 + [
        "promoter"] * 2
    for bad in (-1, 11, 7.5, True, "9"):
        with pytest.raises(ValueError, match="whole number from 0 to 10"):
            category(bad)


def test_score_and_margin_match_the_worked_example():
    # n' = 103, p' = 50.75/103, d' = 20.75/103, NPS' = 0.29126,
    # var = 0.69417 - 0.08483 = 0.60934, MoE = 1.96 * sqrt(0.60934 / 103) = 0.15075
    result = nps(promoters=50, passives=30, detractors=20)
    assert result.n == 100
    assert result.score == pytest.approx(30.0)
    assert result.margin == pytest.approx(15.075, abs=0.001)
    assert result.low == pytest.approx(29.126 - 15.075, abs=0.001)
    assert result.high == pytest.approx(29.126 + 15.075, abs=0.001)


def test_no_answers_give_no_score():
    result = nps(0, 0, 0)
    assert (result.score, result.margin, result.low, result.high, result.n) == (
        None, None, None, None, 0)


def test_all_promoters_score_100_and_the_interval_stays_inside_the_scale():
    # n' = 13, p' = 10.75/13, d' = 0.75/13, NPS' = 0.76923, var = 0.88462 - 0.59172,
    # MoE = 1.96 * sqrt(0.29290 / 13) = 0.29420: 47.5 to 106.3, clipped to 100.
    result = nps(10, 0, 0)
    assert result.score == 100.0
    assert result.margin == pytest.approx(29.420, abs=0.001)
    assert result.low == pytest.approx(47.504, abs=0.001)
    assert result.high == 100.0


def test_a_single_answer_has_a_wide_interval_pulled_towards_zero():
    result = nps(0, 0, 1)
    assert result.score == -100.0
    assert result.low == pytest.approx(-98.50, abs=0.01)
    assert result.high == pytest.approx(48.50, abs=0.01)


def test_balanced_answers_score_zero_with_a_symmetric_interval():
    result = nps(20, 10, 20)
    assert result.score == 0.0
    assert result.low == pytest.approx(-result.high)


def test_negative_counts_are_refused():
    with pytest.raises(ValueError):
        nps(-1, 0, 0)


def _row(month: int, score: int, vertical: str = "", stage: str = "adopt",
         day: int = 5) -> AnswerRow:
    return AnswerRow(datetime(2026, month, day, 12, tzinfo=UTC), score, vertical, stage)


def test_periods_are_calendar_months_or_quarters():
    at = datetime(2026, 5, 31, 23, 59, tzinfo=UTC)
    assert (period_of(at, "month"), period_of(at, "quarter")) == ("2026-05", "2026-Q2")
    with pytest.raises(ValueError, match="month, quarter"):
        period_of(at, "week")


def test_report_by_month_and_vertical_counts_each_group():
    rows = [_row(1, 10, "retail"), _row(1, 9, "retail"), _row(1, 3, "retail"),
            _row(1, 8, "healthcare"), _row(2, 0, "retail"), _row(2, 7, "")]
    report = by_period_and_segment(rows, "month", "vertical")
    assert [(r.period, r.segment, r.promoters, r.passives, r.detractors) for r in report] == [
        ("2026-01", "healthcare", 0, 1, 0),
        ("2026-01", "retail", 2, 0, 1),
        ("2026-02", "retail", 0, 0, 1),
        ("2026-02", "unknown", 0, 1, 0),
    ]
    retail = report[1].result
    assert retail.n == 3 and retail.score == pytest.approx(100 * (2 - 1) / 3)


def test_report_by_quarter_without_segment_pools_everyone():
    rows = [_row(1, 10), _row(2, 2, stage="renew"), _row(3, 9), _row(4, 9)]
    report = by_period_and_segment(rows, "quarter")
    assert [(r.period, r.segment, r.result.n) for r in report] == [
        ("2026-Q1", "all", 3), ("2026-Q2", "all", 1)]
    assert report[0].result.score == pytest.approx(100 / 3)


def test_report_by_stage_and_bad_arguments():
    rows = [_row(1, 10, stage="adopt"), _row(1, 1, stage="renew")]
    assert [r.segment for r in by_period_and_segment(rows, "month", "stage")] == [
        "adopt", "renew"]
    with pytest.raises(ValueError, match="period"):
        by_period_and_segment(rows, "year")
    with pytest.raises(ValueError, match="segment"):
        by_period_and_segment(rows, "month", "country")
    assert by_period_and_segment([], "month") == []


def test_report_lines_round_for_reading():
    [line] = by_period_and_segment([_row(1, 10)] * 50 + [_row(1, 8)] * 30
                                   + [_row(1, 4)] * 20)
    assert as_dict(line) == {
        "period": "2026-01", "segment": "all", "n": 100, "promoters": 50, "passives": 30,
        "detractors": 20, "nps": 30.0, "margin": 15.1, "low": 14.1, "high": 44.2,
        "enough": True}


def test_few_answers_are_too_few_to_judge():
    [one] = by_period_and_segment([_row(3, 10)])
    line = as_dict(one)
    # The score a reader sees is outside its own interval: the page and the command must
    # not present it as a judgement.
    assert line["nps"] == 100.0 and line["high"] < 100.0 and line["enough"] is False
    assert not enough(TOO_FEW - 1) and enough(TOO_FEW)
    [thirty] = by_period_and_segment([_row(3, 10)] * 15 + [_row(3, 2)] * 15)
    assert as_dict(thirty)["enough"] is True and thirty.result.margin < 36
    assert "adjusted-Wald" in INTERVAL and len(INTERVAL.split(". ")) <= 3


def test_distribution_counts_each_score_and_refuses_others():
    assert distribution([0, 10, 10, 7]) == [1, 0, 0, 0, 0, 0, 0, 1, 0, 0, 2]
    assert distribution([]) == [0] * 11
    with pytest.raises(ValueError, match="0 to 10"):
        distribution([11])


def test_by_segment_pools_every_period():
    rows = [_row(1, 10, vertical="retail"), _row(3, 0, vertical="retail"),
            _row(2, 9, vertical=""), _row(2, 9, vertical="healthcare")]
    lines = {line.segment: line for line in by_segment(rows, "vertical")}
    assert sorted(lines) == ["healthcare", "retail", "unknown"]
    assert lines["retail"].result.score == 0.0 and lines["retail"].result.n == 2
    assert {line.period for line in lines.values()} == {ALL}
    with pytest.raises(ValueError):
        by_segment(rows, "country")
