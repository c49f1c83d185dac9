"""A contact's time zone: the browser's when it is a real one, else the country's main zone.

The browser's (`Intl.DateTimeFormat().resolvedOptions().timeZone`) is checked against the
zoneinfo database; a country's main zone is the first tzdata lists for it in `zone.tab`
(Germany: Europe/Berlin; the United States: America/New_York), read from the same database
the zones come from. Sending uses the zone for quiet hours and morning sends.
"""

from __future__ import annotations

import zoneinfo
from functools import cache
from importlib import resources
from pathlib import Path

MAX_LENGTH = 64  # the column's length


@cache
def zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def is_zone(name: str) -> bool:
    return bool(name) and len(name) <= MAX_LENGTH and name in zones()


def _zone_tab() -> str:
    """tzdata's zone.tab, from the system's zoneinfo folders or the tzdata package."""
    for folder in zoneinfo.TZPATH:
        path = Path(folder) / "zone.tab"
        if path.is_file():
            return path.read_text(encoding="utf-8")
    try:
        return (resources.files("tzdata.zoneinfo") / "zone.tab").read_text(encoding="utf-8")
    except (ModuleNotFoundError, FileNotFoundError, OSError):
        return ""


@cache
def country_zones() -> dict[str, str]:
    """Each ISO 3166 country code's main zone: the first zone.tab lists for it."""
    found: dict[str, str] = {}
    for line in _zone_tab().splitlines():
        if line.startswith("#") or not line.strip():
            continue
        parts = line.split("\t")
        if len(parts) >= 3 and is_zone(parts[2]):
            found.setdefault(parts[0].upper(), parts[2])
    return found


def zone_for(browser: str, country: str) -> str:
    """The browser's zone when it is one; else the country's main zone; else ""."""
    browser = (browser or "").strip()
    if is_zone(browser):
        return browser
    return country_zones().get((country or "").strip().upper(), "")
