"""Retry waits, giving up after 3 days, disabling an endpoint: pure arithmetic."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from nurture.webhooks import schedule

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def test_waits_double_from_30_seconds_to_6_hours_within_the_jitter():
    middle = [schedule.backoff(n).total_seconds() for n in range(1, 12)]
    assert middle[:4] == [30, 60, 120, 240] and middle[-1] == 6 * 3600
    assert schedule.backoff(1, jitter=0.0) == timedelta(seconds=24)
    assert schedule.backoff(1, jitter=0.999) < timedelta(seconds=36)


def test_no_try_is_planned_past_three_days():
    assert schedule.next_try(T0, 3, T0 + timedelta(hours=1)) is not None
    assert schedule.next_try(T0, 20, T0 + timedelta(days=2, hours=23)) is None


def test_an_endpoint_is_disabled_after_a_long_run_of_failures_or_three_failing_days():
    assert schedule.disable_reason(3, T0, T0 + timedelta(days=1)) is None
    assert schedule.disable_reason(50, T0, T0) == "50 deliveries in a row failed."
    assert "since 2026-03-02 10:00" in schedule.disable_reason(4, T0, T0 + timedelta(days=3))
