"""Commitment arithmetic, pure: a subscription renews a whole number of months after it
starts (seed 002: 12 months, billed monthly)."""

from __future__ import annotations

import calendar
from datetime import datetime


def add_months(start: datetime, months: int) -> datetime:
    """`start` moved on by `months` calendar months; the 31st of a shorter month is its
    last day (a commitment from 31 January 2026 for one month ends on 28 February)."""
    index = start.month - 1 + months
    year, month = start.year + index // 12, index % 12 + 1
    day = min(start.day, calendar.monthrange(year, month)[1])
    return start.replace(year=year, month=month, day=day)
