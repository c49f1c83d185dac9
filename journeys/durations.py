"""Durations as marketers write them: `30m`, `2h`, `5d`, `2w`, `1d12h`."""

from __future__ import annotations

import re
from datetime import timedelta

_PART = re.compile(r"(\d+)\s*([wdhms])")
_WHOLE = re.compile(r"^\s*(?:\d+\s*[wdhms]\s*)+$")
_UNITS = {"w": "weeks", "d": "days", "h": "hours", "m": "minutes", "s": "seconds"}


class DurationError(ValueError):
    """Raised when a duration is not written as numbers with the units w, d, h, m or s."""


def parse_duration(text: object) -> timedelta:
    if isinstance(text, int) and not isinstance(text, bool):
        raise DurationError(f"The duration {text!r} needs a unit, for example '{text}d'.")
    if not isinstance(text, str) or not _WHOLE.match(text):
        raise DurationError(
            f"The duration {text!r} is not valid; write it like '30m', '2h', '5d' or '2w'."
        )
    total = timedelta()
    try:
        for amount, unit in _PART.findall(text):
            total += timedelta(**{_UNITS[unit]: int(amount)})
    except OverflowError:  # timedelta stops below 1,000,000,000 days
        raise DurationError(f"The duration {text!r} is too long; keep it under a billion "
                            "days.") from None
    if total <= timedelta():
        raise DurationError(f"The duration {text!r} must be longer than zero.")
    return total


def format_duration(value: timedelta) -> str:
    """The shortest way to write a duration back, e.g. `1d12h`."""
    seconds = int(value.total_seconds())
    parts = []
    for unit, size in (("w", 604800), ("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if unit == "w" and seconds % size:
            continue  # `10d` reads better than `1w3d`
        amount, seconds = divmod(seconds, size)
        if amount:
            parts.append(f"{amount}{unit}")
    return "".join(parts) or "0s"
