"""When to try a delivery again, when to give up, when to disable an endpoint. Pure: the
time is a parameter, the jitter a number the caller draws."""

from __future__ import annotations

from datetime import datetime, timedelta

FIRST_RETRY = timedelta(seconds=30)
LONGEST_WAIT = timedelta(hours=6)
GIVE_UP_AFTER = timedelta(days=3)  # a delivery is retried for up to 3 days, then failed
DISABLE_AFTER_FAILURES = 50  # failed attempts in a row, whatever their deliveries
DISABLE_AFTER_FAILING = timedelta(days=3)  # nothing got through for this long
JITTER = 0.2  # ±20 %: retries of one outage spread out instead of arriving together


def backoff(attempts: int, jitter: float = 0.5) -> timedelta:
    """The wait after the `attempts`-th failed try: 30 s doubling up to 6 h, scaled by a
    factor between 1 - JITTER and 1 + JITTER (`jitter` drawn in [0, 1))."""
    base = min(FIRST_RETRY * 2 ** max(attempts - 1, 0), LONGEST_WAIT)
    return base * (1 - JITTER + 2 * JITTER * jitter)


def next_try(created_at: datetime, attempts: int, now: datetime,
             jitter: float = 0.5) -> datetime | None:
    """When to try again after a failure; None once that would be past the 3 days."""
    due = now + backoff(attempts, jitter)
    return due if due <= created_at + GIVE_UP_AFTER else None


def disable_reason(failures: int, failing_since: datetime | None, now: datetime) -> str | None:
    """Why an endpoint with these consecutive failures is disabled now; None: it is not."""
    if failures >= DISABLE_AFTER_FAILURES:
        return f"{failures} deliveries in a row failed."
    if failing_since is not None and now - failing_since >= DISABLE_AFTER_FAILING:
        return f"Every delivery failed since {failing_since:%Y-%m-%d %H:%M} UTC (3 days)."
    return None
