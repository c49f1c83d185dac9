"""Schedule arithmetic on plain values: waits, quiet hours in the contact's zone, the
frequency cap, and how the two combine."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from journeys.definition import DateTrigger, Wait
from journeys.schedule import (
    Pacing,
    cap_release,
    in_quiet_hours,
    next_send_time,
    wait_until,
    zone,
)

PARIS, NEW_YORK = ZoneInfo("Europe/Paris"), ZoneInfo("America/New_York")
TUESDAY = datetime(2026, 3, 3, 10, 0, tzinfo=UTC)
PACING = Pacing()  # 3 a week, quiet from 20:00 to 08:00


def test_a_wait_for_a_duration_ends_that_long_after_the_step_began():
    assert wait_until(Wait("w", duration=timedelta(hours=36)), TUESDAY, PARIS, {}) == \
        TUESDAY + timedelta(hours=36)


def test_a_wait_until_a_weekday_and_time_is_in_the_contacts_own_zone():
    monday_nine = Wait("w", weekday=0, at=(9, 0))
    # 09:00 on Monday 9 March in New York is 13:00 UTC (daylight saving starts the 8th).
    assert wait_until(monday_nine, TUESDAY, NEW_YORK, {}) == \
        datetime(2026, 3, 9, 13, 0, tzinfo=UTC)


def test_a_wait_until_a_time_already_past_today_ends_tomorrow():
    assert wait_until(Wait("w", at=(9, 0)), TUESDAY, PARIS, {}) == \
        datetime(2026, 3, 4, 8, 0, tzinfo=UTC)


def test_a_wait_until_a_contact_date_is_unknown_when_the_contact_has_no_such_date():
    renewal = Wait("w", until_date=DateTrigger("renews_at", -timedelta(days=30)))
    attributes = {"renews_at": "2026-06-01T00:00:00+00:00"}
    assert wait_until(renewal, TUESDAY, PARIS, attributes) == \
        datetime(2026, 5, 2, tzinfo=UTC)
    assert wait_until(renewal, TUESDAY, PARIS, {}) is None


def test_quiet_hours_run_across_midnight_and_end_at_the_local_morning():
    assert in_quiet_hours(datetime(2026, 3, 3, 12, 0, tzinfo=UTC), PARIS, PACING) is None
    after_midnight = datetime(2026, 3, 3, 23, 30, tzinfo=UTC)  # 00:30 in Paris
    assert in_quiet_hours(after_midnight, PARIS, PACING) == \
        datetime(2026, 3, 4, 7, 0, tzinfo=UTC)
    assert in_quiet_hours(after_midnight, NEW_YORK, PACING) is None  # 18:30 there


def test_equal_start_and_end_mean_no_quiet_hours():
    always = Pacing(quiet_start=time(0, 0), quiet_end=time(0, 0))
    assert in_quiet_hours(datetime(2026, 3, 3, 23, 30, tzinfo=UTC), PARIS, always) is None


def test_the_cap_counts_only_emails_inside_the_window():
    inside = [TUESDAY - timedelta(days=d) for d in (1, 2, 6)]
    assert cap_release(inside, TUESDAY, PACING) == TUESDAY + timedelta(days=1)
    older = [TUESDAY - timedelta(days=d) for d in (1, 2, 8)]
    assert cap_release(older, TUESDAY, PACING) is None


def test_an_email_the_cap_releases_into_quiet_hours_waits_for_the_morning_and_says_why():
    # The oldest of three leaves the window at 21:00 Paris time: quiet until 08:00.
    sends = [datetime(2026, 2, 24, 20, 0, tzinfo=UTC), TUESDAY - timedelta(hours=2),
             TUESDAY - timedelta(hours=1)]
    when, reason = next_send_time(TUESDAY, PARIS, sends, PACING)
    assert (when, reason) == (datetime(2026, 3, 4, 7, 0, tzinfo=UTC), "frequency_cap")


def test_a_contact_free_to_receive_mail_gets_it_now():
    assert next_send_time(TUESDAY, PARIS, [], PACING) == (TUESDAY, None)


def test_an_unknown_time_zone_falls_back_to_the_default_zone():
    assert zone("Mars/Olympus", "Europe/Paris") == PARIS
    assert zone(None) == ZoneInfo("UTC")
