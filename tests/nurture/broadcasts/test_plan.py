"""The broadcast's plan, pure: the form checked with every reason at once, the due time in
each zone (daylight saving included), the sample's arithmetic, and the deferral rule."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest

from journeys.schedule import Pacing
from nurture.broadcasts import plan
from nurture.broadcasts.errors import BroadcastInvalid

NOW = datetime(2026, 3, 28, 12, 0, tzinfo=UTC)  # the day before Europe's clocks go forward
KNOWN = {"news", "offer"}


def _check(**changes):
    form = {"name": "News", "audience": "list", "audience_ref": "Readers",
            "templates": ["news"], "topic": "", "timing": "now", "known_templates": KNOWN,
            "now": NOW}
    return plan.check(**{**form, **changes})


def test_a_bad_form_lists_every_reason():
    with pytest.raises(BroadcastInvalid) as refused:
        _check(name=" ", audience="everyone", templates=["news", "news", "nope"],
               topic="Big News!", timing="at", send_at="yesterday", window_hours="0",
               metric="revenue")
    fields = {v.field for v in refused.value.violations}
    assert fields == {"name", "audience", "template", "topic", "send_at", "window_hours",
                      "metric"}


def test_two_templates_make_a_test_with_the_default_sample():
    checked = _check(templates=["news", "offer"])
    assert checked.tested and checked.sample_percent == 20
    assert checked.window == timedelta(hours=4)
    assert not _check().tested


def test_a_moment_past_is_refused_and_one_to_come_is_kept():
    with pytest.raises(BroadcastInvalid, match="The moment has passed"):
        _check(timing="at", send_at="2026-03-28 11:00")
    assert _check(timing="at", send_at="2026-03-29 09:30").send_at == datetime(
        2026, 3, 29, 9, 30, tzinfo=UTC)


def test_ten_oclock_local_follows_each_zone_and_daylight_saving():
    ten = time(10, 0)
    # Berlin is UTC+1 today and UTC+2 tomorrow, after the clocks go forward.
    assert plan.due(plan.LOCAL, NOW, None, ten, "Europe/Berlin") == datetime(
        2026, 3, 29, 8, 0, tzinfo=UTC)
    assert plan.due(plan.LOCAL, NOW, None, ten, "America/Los_Angeles") == datetime(
        2026, 3, 28, 17, 0, tzinfo=UTC)
    assert plan.due(plan.LOCAL, NOW, None, ten, "Not/AZone", "Asia/Tokyo") == datetime(
        2026, 3, 29, 1, 0, tzinfo=UTC)
    assert plan.due(plan.NOW, NOW, None, None, "Europe/Berlin") == NOW


def test_the_sample_takes_the_percent_asked_and_splits_it_evenly():
    buckets = [plan.bucket(contact_id, seed=417) for contact_id in range(1, 10_001)]
    sampled = [b for b in buckets if plan.in_sample(b, 20)]
    assert len(sampled) == 2000
    assert sum(plan.arm(b, 2) == 0 for b in sampled) == 1000


def test_a_send_over_the_cap_waits_for_the_oldest_to_leave_the_window():
    pacing = Pacing(cap=2, window=timedelta(days=7))
    recent = [NOW - timedelta(days=6), NOW - timedelta(days=1)]
    assert plan.later(NOW, "UTC", recent, pacing) == (
        NOW + timedelta(days=1), "deferred: frequency_cap")
    assert plan.later(NOW, "UTC", recent[1:], pacing) is None
    night = datetime(2026, 3, 28, 22, 0, tzinfo=UTC)
    assert plan.later(night, "UTC", [], pacing) == (
        datetime(2026, 3, 29, 8, 0, tzinfo=UTC), "deferred: quiet_hours")
