"""Transactions for lifetime value: read from a CSV file or from Nurture's own purchase events,
and summed up per customer (repeat frequency, recency, age, mean repeat spend) for
`scoring.clv`.

Reading and summing are pure; the two database readers at the end are the only place that
touches SQLAlchemy, and they import it when called.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, tzinfo
from pathlib import Path
from typing import Any, TextIO

from sqlalchemy import select
from sqlalchemy.orm import Session

from nurture.contacts.models import Contact
from nurture.events.models import Event
from nurture.text import row_problem
from scoring.clv import CustomerSummary
from scoring.errors import CLVError

UNIT_DAYS = {"days": 1, "weeks": 7}
# Purchases with a value. Nurture's own trial conversion records no amount, so a conversion
# only counts when whoever recorded it gave one, and no valued purchase on the same day
# records the same sale (a billing system often sends both).
PURCHASE_TYPES = ("purchase.completed", "trial.converted")
CONVERSION = "trial.converted"


@dataclass(frozen=True)
class Transaction:
    customer_id: str
    day: date
    amount: float


@dataclass(frozen=True)
class Columns:
    """The names of the CSV columns to read."""

    customer: str = "customer_id"
    date: str = "date"
    amount: str = "amount"


def periods_per_year(unit: str) -> float:
    return 365.25 / _unit_days(unit)


# --- Reading a CSV file -------------------------------------------------------------------


def read_transactions(source: str | Path | TextIO, columns: Columns = Columns(),
                      date_format: str | None = None) -> list[Transaction]:
    """The transactions in a CSV file (a path, or an open text file) with a header line.

    Dates are ISO (1997-01-31, or a date and time such as 1997-01-31 14:05:00+02:00, whose
    date is taken as written) unless `date_format` (strptime) says otherwise. Amounts are
    plain numbers with a decimal point. Raises CLVError naming the line of the first bad row."""
    if not isinstance(source, str | Path):
        return _read(source, columns, date_format)
    path = Path(source)
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            return _read(handle, columns, date_format)
    except FileNotFoundError:
        raise CLVError(f"There is no file {path}.") from None
    except UnicodeDecodeError:
        raise CLVError(f"The file {path} is not UTF-8 text.") from None
    except OSError as exc:
        raise CLVError(f"The file {path} could not be read: {exc.strerror}.") from None


def _read(handle: TextIO, columns: Columns, date_format: str | None) -> list[Transaction]:
    reader = csv.DictReader(handle)
    try:
        header = reader.fieldnames
        if not header:
            raise CLVError("The transactions file is empty; its first line should name the "
                           f"columns, such as {columns.customer},{columns.date},"
                           f"{columns.amount}.")
        reader.fieldnames = [name.strip() for name in header]
        for name in (columns.customer, columns.date, columns.amount):
            if name not in reader.fieldnames:
                raise CLVError(f"Line 1 names no column {name!r}; the columns are "
                               f"{', '.join(reader.fieldnames)}.")
        return [_transaction(row, reader.line_num, columns, date_format) for row in reader]
    except csv.Error as exc:
        raise CLVError(f"Line {reader.line_num} is not valid CSV: {exc}.") from None


def _transaction(row: Mapping[str | None, Any], line: int, columns: Columns,
                 date_format: str | None) -> Transaction:
    if (problem := row_problem(row, line)) is not None:
        raise CLVError(problem)
    if None in row:  # DictReader files surplus fields under None
        raise CLVError(f"Line {line} has more fields than the header names; quote values that "
                       "contain commas, and write amounts with a decimal point.")

    def value(name: str) -> str:
        text = (row.get(name) or "").strip()
        if not text:
            raise CLVError(f"Line {line} has no value in the column {name!r}.")
        return text

    return Transaction(value(columns.customer),
                       parse_day(value(columns.date), line, date_format),
                       parse_amount(value(columns.amount), line))


def parse_day(text: str, line: int, date_format: str | None = None) -> date:
    try:
        if date_format:
            return datetime.strptime(text, date_format).date()
        return datetime.fromisoformat(text).date()
    except ValueError:
        expected = (f"in the format {date_format!r}" if date_format
                    else "like 1997-01-31 or 1997-01-31 14:05:00")
        raise CLVError(f"Line {line} has the date {text!r}, which is not a date "
                       f"{expected}.") from None


def parse_amount(text: str, line: int) -> float:
    try:
        amount = float(text)
    except ValueError:
        raise CLVError(f"Line {line} has the amount {text!r}, which is not a number; write "
                       "amounts with a decimal point and no currency sign, like 29.95.") from None
    if not math.isfinite(amount):
        raise CLVError(f"Line {line} has the amount {text!r}, which is not a finite number.")
    if amount < 0:
        raise CLVError(f"Line {line} has the negative amount {text}; the models value "
                       "purchases, so leave refunds out or net them against their purchase.")
    return amount


# --- Summing up per customer --------------------------------------------------------------


def summarize(transactions: Iterable[Transaction], observation_end: date,
              unit: str = "weeks") -> list[CustomerSummary]:
    """Each customer's summary at `observation_end`, in days or weeks, in the order customers
    first appear. Purchases on one day are one purchase (amounts summed), as the models count
    purchase occasions; purchases after `observation_end` are left out."""
    length = _unit_days(unit)
    days: dict[str, dict[date, float]] = {}
    for item in transactions:
        if item.day > observation_end:
            continue
        per_day = days.setdefault(item.customer_id, {})
        per_day[item.day] = per_day.get(item.day, 0.0) + item.amount
    summaries = []
    for customer_id, per_day in days.items():
        ordered = sorted(per_day)
        first = ordered[0]
        # The first purchase is left out of the mean: it often differs from what follows
        # (Fader & Hardie), and the spend model describes repeat purchases.
        repeat = [per_day[day] for day in ordered[1:]]
        summaries.append(CustomerSummary(
            customer_id=customer_id, frequency=len(repeat),
            recency=(ordered[-1] - first).days / length,
            age=(observation_end - first).days / length,
            monetary=math.fsum(repeat) / len(repeat) if repeat else 0.0))
    return summaries


def _unit_days(unit: str) -> int:
    if unit not in UNIT_DAYS:
        raise CLVError(f"The time unit must be days or weeks, not {unit!r}.")
    return UNIT_DAYS[unit]


# --- Nurture's own purchases ----------------------------------------------------------------


def transaction_from_event(contact_id: int, properties: Mapping[str, Any],
                           occurred_at: datetime, tz: tzinfo = UTC) -> Transaction | None:
    """The purchase an event records, or None when it has no usable amount (missing, not a
    number, or negative): such an event cannot be valued, so it is left out."""
    amount = properties.get("amount") if isinstance(properties, Mapping) else None
    if isinstance(amount, bool) or not isinstance(amount, int | float | str):
        return None
    try:
        value = float(amount)
    except ValueError:
        return None
    if not math.isfinite(value) or value < 0:
        return None
    return Transaction(str(contact_id), occurred_at.astimezone(tz).date(), value)


def transactions_from_events(session: Session, types: Sequence[str] = PURCHASE_TYPES,
                             tz: tzinfo = UTC) -> list[Transaction]:
    """Nurture's own customers' purchases, from the event log: one transaction per event of
    `types` with an amount, the customer being the contact and the day taken in `tz`. A
    valued conversion is left out on a day with a valued purchase: they are one sale."""
    rows = session.execute(
        select(Event.type, Event.contact_id, Event.properties, Event.occurred_at)
        .where(Event.type.in_(list(types)))
        .order_by(Event.contact_id, Event.occurred_at, Event.id))
    found = [(type_, transaction_from_event(contact_id, properties or {}, occurred_at, tz))
             for type_, contact_id, properties, occurred_at in rows]
    purchased = {(item.customer_id, item.day) for type_, item in found
                 if item is not None and type_ != CONVERSION}
    return [item for type_, item in found if item is not None and not (
        type_ == CONVERSION and (item.customer_id, item.day) in purchased)]


def contact_emails(session: Session, customer_ids: Iterable[str]) -> dict[str, str]:
    """The email address of each customer id that is a contact id, to show who they are."""
    ids = [int(item) for item in customer_ids if item.isdigit()]
    rows = session.execute(select(Contact.id, Contact.email).where(Contact.id.in_(ids)))
    return {str(contact_id): email for contact_id, email in rows}
