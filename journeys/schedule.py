"""Schedule arithmetic, all pure: waits, quiet hours in the contact's zone, frequency caps."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from journeys.definition import Wait
from journeys.facts import attribute_path
from nurture.moments import as_datetime


@dataclass(frozen=True)
class Pacing:
    """How often and when marketing email may reach one contact, across all journeys."""

    cap: int = 3
    window: timedelta = timedelta(days=7)
    quiet_start: time = time(20, 0)
    quiet_end: time = time(8, 0)
    default_tz: str = "UTC"


def zone(name: str | None, default: str = "UTC") -> ZoneInfo:
    for candidate in (name, default, "UTC"):
        if candidate:
            try:
                return ZoneInfo(candidate)
            except (ZoneInfoNotFoundError, ValueError):
                continue
    return ZoneInfo("UTC")


def _local(naive: datetime, tz: ZoneInfo) -> datetime:
    return naive.replace(tzinfo=tz).astimezone(UTC)


def next_local_time(after: datetime, tz: ZoneInfo, at: time,
                    weekday: int | None = None) -> datetime:
    """The first moment strictly after `after` that is `at` local time (on `weekday`, if set)."""
    local = after.astimezone(tz)
    day = local.date()
    for offset in range(0, 9):
        candidate_day = day + timedelta(days=offset)
        if weekday is not None and candidate_day.weekday() != weekday:
            continue
        candidate = _local(datetime.combine(candidate_day, at), tz)
        if candidate > after:
            return candidate
    raise AssertionError("unreachable: a week always holds the weekday")


def wait_until(step: Wait, entered_at: datetime, tz: ZoneInfo,
               attributes: dict[str, Any]) -> datetime | None:
    """When a wait step that began at `entered_at` is over; None if its date is unknown."""
    if step.duration is not None:
        return entered_at + step.duration
    if step.until_date is not None:
        base = as_datetime(attribute_path(attributes, step.until_date.attribute))
        return None if base is None else base + step.until_date.offset
    hour, minute = step.at or (9, 0)
    return next_local_time(entered_at, tz, time(hour, minute), step.weekday)


def in_quiet_hours(moment: datetime, tz: ZoneInfo, pacing: Pacing) -> datetime | None:
    """If `moment` falls in the quiet hours, when they end; otherwise None."""
    start, end = pacing.quiet_start, pacing.quiet_end
    if start == end:
        return None
    local = moment.astimezone(tz).time().replace(tzinfo=None)
    quiet = (start <= local or local < end) if start > end else (start <= local < end)
    if not quiet:
        return None
    return next_local_time(moment - timedelta(microseconds=1), tz, end)


def cap_release(sends: list[datetime], moment: datetime, pacing: Pacing) -> datetime | None:
    """If `pacing.cap` marketing emails already fall in the window before `moment`, when the
    oldest of them leaves the window (the earliest time another may go); otherwise None."""
    recent = sorted(t for t in sends if moment - pacing.window < t <= moment)
    if len(recent) < pacing.cap:
        return None
    return recent[len(recent) - pacing.cap] + pacing.window


def next_send_time(now: datetime, tz: ZoneInfo, sends: list[datetime],
                   pacing: Pacing) -> tuple[datetime, str | None]:
    """The earliest time a marketing email may go, and why it is later than `now` (if it is).

    Caps only loosen as time passes and quiet hours end, so alternating the two settles.
    """
    moment, reason = now, None
    for _ in range(16):
        released = cap_release(sends, moment, pacing)
        if released is not None:
            moment, reason = released, reason or "frequency_cap"
            continue
        quiet_end = in_quiet_hours(moment, tz, pacing)
        if quiet_end is not None:
            moment, reason = quiet_end, reason or "quiet_hours"
            continue
        return moment, reason
    return moment, reason
