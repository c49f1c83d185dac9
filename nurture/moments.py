"""Moments as contacts and events give them: ISO text or datetimes, made timezone-aware."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any


def as_datetime(value: Any) -> datetime | None:
    """A contact date attribute as an aware datetime (ISO text or datetime), else None."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            return None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return None
