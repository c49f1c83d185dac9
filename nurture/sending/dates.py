"""Dates written for people, in the language of the email they read.

`{{ trial.ends_at | long_date }}` gives "5 January 2027", "5. Januar 2027" or "5 janvier
2027": the long form of the translation the message is written in (Babel's CLDR data),
on the day it is in the reader's time zone. A value that is not a date is printed as it is,
never an error that stops a send.
"""

from __future__ import annotations

import contextlib
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import jinja2
from babel import Locale, UnknownLocaleError
from babel.dates import format_date

# A bare "en" reads the day first, as the product's pages do; "en-US" gets its own form.
DEFAULT_LOCALE = "en_GB"


def _locale(tag: str) -> Locale:
    if not tag or tag.lower() == "en":
        return Locale.parse(DEFAULT_LOCALE)
    try:
        return Locale.parse(tag.replace("_", "-"), sep="-")
    except (UnknownLocaleError, ValueError):
        return Locale.parse(DEFAULT_LOCALE)


def _day(value: Any, zone: str) -> date | None:
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            return None
    if isinstance(value, datetime):
        if value.tzinfo is not None and zone:
            with contextlib.suppress(ZoneInfoNotFoundError, ValueError):
                value = value.astimezone(ZoneInfo(zone))
        return value.date()
    return value if isinstance(value, date) else None


def long_date(value: Any, language: str = "", zone: str = "") -> str:
    """`value` (a date, a datetime or ISO text) as a reader of `language` writes it."""
    day = _day(value, zone)
    if day is None:
        return "" if value is None else str(value)
    return format_date(day, format="long", locale=_locale(language))


@jinja2.pass_context
def long_date_filter(context: Any, value: Any) -> str:
    """The `long_date` filter: the message's language (`date_language`, set by the
    template being rendered) and the contact's time zone come from the context."""
    contact = context.get("contact") or {}
    zone = contact.get("timezone", "") if isinstance(contact, dict) else ""
    return long_date(value, str(context.get("date_language") or ""), str(zone or ""))
