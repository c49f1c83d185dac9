"""The contact list: filters, a search and a sort over every contact, a page at a time.

Filters are written in the segment language (`stage == 'try' and grade == 'A' and
in_list('VIP')`) and compiled to SQL by the same compiler as segments, so a filter and the
segment saved from it select the same contacts. Pages are keyset-paginated: the next page
starts after the last row's (sort value, id), never at an OFFSET that a million rows make
slow. "Newest" sorts by id, which grows with creation and has the primary key's index.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, or_, select, tuple_
from sqlalchemy.orm import Session

from nurture.audiences import services
from nurture.audiences.errors import SegmentInvalid
from nurture.contacts import lists
from nurture.contacts.models import Contact, ContactList
from nurture.contacts.services import email_key
from nurture.db import Database
from nurture.errors import Invalid, NotFound, NurtureError
from nurture.paging import Key, after, split
from nurture.violations import Violation

PAGE = 50
MAX_SEARCH = 200
# Column a page can be sorted by -> the contacts' column it reads.
SORTS: dict[str, Any] = {
    "newest": Contact.id, "email": Contact.email_key, "name": Contact.last_name,
    "company": Contact.company, "stage": Contact.stage, "score": Contact.score,
}  # each one a column COLUMNS reads, so the last row gives the next page's start
FILTERS = ("stage", "vertical", "grade", "language", "owner")
COLUMNS = (Contact.id, Contact.email, Contact.email_key, Contact.first_name, Contact.last_name,
           Contact.company, Contact.stage, Contact.industry, Contact.score,
           Contact.language, Contact.consent_marketing, Contact.created_at)


class BadListQuery(NurtureError):
    """A page address that was not made by the list (a damaged `after`); 400."""

    status = 400


@dataclass(frozen=True)
class Query:
    search: str = ""
    filters: tuple[tuple[str, str], ...] = ()  # (name in FILTERS, value), all must hold
    consent: str = ""  # "yes", "no" or "" for either
    segment: str = ""  # a segment's name
    list_name: str = ""
    sort: str = "newest"
    descending: bool = True
    after: str = ""  # the cursor of the page's first row's predecessor


@dataclass(frozen=True)
class Row:
    id: int
    email: str
    name: str
    company: str
    stage: str
    vertical: str
    score: int
    language: str
    consent: bool
    created_at: datetime


@dataclass(frozen=True)
class Page:
    rows: list[Row]
    total: int  # contacts that match, on every page
    next_after: str | None  # the cursor of the next page; None on the last


def condition(query: Query) -> str:
    """The query's filters as one condition of the segment language ("" for none)."""
    parts = [f"{name} == {value!r}" for name, value in query.filters
             if name in FILTERS and value]
    if query.list_name:
        parts.append(f"in_list({query.list_name!r})")
    return " and ".join(parts)


def _filtered(session: Session, query: Query, now: datetime) -> Select[Any]:
    statement: Select[Any] = select(*COLUMNS)  # type: ignore[assignment]
    written = condition(query)
    if query.segment:
        segment = services.find(session, query.segment).condition
        written = f"({segment})" + (f" and {written}" if written else "")
    if written:
        try:
            statement = statement.where(Contact.id.in_(services.matching(session, written, now)))
        except SegmentInvalid as exc:
            raise BadListQuery(f"The filters cannot be applied: {exc}") from None
    if query.consent in ("yes", "no"):
        statement = statement.where(Contact.consent_marketing.is_(query.consent == "yes"))
    if search := query.search.strip()[:MAX_SEARCH].lower():
        pattern = "%" + search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        statement = statement.where(or_(*(
            func.lower(column).like(pattern, escape="\\") for column in (
                Contact.email_key, Contact.first_name, Contact.last_name, Contact.company,
                Contact.first_name + " " + Contact.last_name))))
    return statement


def page(session: Session, query: Query, now: datetime, size: int = PAGE) -> Page:
    """One page of the contacts that match, in the query's order, and how many match."""
    if query.list_name and lists.find(session, query.list_name) is None:
        raise BadListQuery(f"There is no list called {query.list_name!r}.")
    column = SORTS.get(query.sort, Contact.id)
    statement = _filtered(session, query, now)
    total = int(session.scalar(select(func.count()).select_from(statement.subquery())) or 0)
    if query.after:
        value, last_id = _cursor(query.after, column)
        key, start = tuple_(column, Contact.id), tuple_(value, last_id)
        statement = statement.where(key < start if query.descending else key > start)
    order = (column.desc(), Contact.id.desc()) if query.descending else (column, Contact.id)
    found = session.execute(statement.order_by(*order).limit(size + 1)).all()
    rows = [Row(r.id, r.email, f"{r.first_name} {r.last_name}".strip(), r.company, r.stage,
                r.industry, r.score, r.language, r.consent_marketing, r.created_at)
            for r in found[:size]]
    more = len(found) > size
    last = found[size - 1] if more else None
    return Page(rows, total, _encode(_sort_value(last, query.sort), last.id) if last else None)


def _sort_value(row: Any, sort: str) -> Any:
    return getattr(row, SORTS.get(sort, Contact.id).key)


def _encode(value: Any, last_id: int) -> str:
    raw = json.dumps([value, last_id], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _cursor(after: str, column: Any) -> tuple[Any, int]:
    """The (sort value, id) an `after` names; BadListQuery when it names none."""
    try:
        raw = base64.urlsafe_b64decode(after + "=" * (-len(after) % 4))
        value, last_id = json.loads(raw)
    except (ValueError, TypeError):
        raise BadListQuery("The page asked for does not exist: start again from the first "
                           "page.") from None
    expected = int if column.key in ("id", "score") else str
    if not isinstance(last_id, int) or isinstance(last_id, bool) or \
            not isinstance(value, expected) or isinstance(value, bool):
        raise BadListQuery("The page asked for does not exist: start again from the first "
                           "page.")
    return value, last_id

def listed(db: Database, query: Query, now: datetime) -> Page:
    """The console's call: one page, in its own session."""
    with db.sessions() as session:
        return page(session, query, now)


def choices(db: Database, now: datetime) -> dict[str, list[str]]:
    """What the list's filters offer: the segments and lists by name."""
    with db.sessions() as session:
        return {"segments": [s.name for s in services.summaries(session, now, False)],
                "lists": [s.name for s in lists.summaries(session)]}


@dataclass(frozen=True)
class Filters:
    """The API's filters of the contact list: the console's, with the segment and the list
    by id, an exact address and a time of last change."""

    search: str = ""
    fields: tuple[tuple[str, str], ...] = ()  # (name in FILTERS, value), all must hold
    consent: bool | None = None
    segment_id: int | None = None
    list_id: int | None = None
    email: str | None = None
    updated_since: datetime | None = None


def keyset(session: Session, filters: Filters, now: datetime, last: Key | None,
           limit: int) -> tuple[list[Contact], Key | None]:
    """A page of the contacts that match, by id, after `last`; the key to go on after.
    Invalid, naming the filter, for a segment or list that does not exist."""
    segment = list_name = ""
    if filters.segment_id is not None:
        try:
            segment = services.find(session, filters.segment_id).name
        except NotFound:
            raise Invalid([Violation("segment", f"There is no segment with the id "
                                                f"{filters.segment_id}.")]) from None
    if filters.list_id is not None:
        found = session.get(ContactList, filters.list_id)
        if found is None:
            raise Invalid([Violation("list", f"There is no list with the id "
                                             f"{filters.list_id}.")])
        list_name = found.name
    query = Query(search=filters.search, filters=filters.fields,
                  consent="" if filters.consent is None else "yes" if filters.consent else "no",
                  segment=segment, list_name=list_name)
    statement = _filtered(session, query, now).with_only_columns(Contact)
    if filters.email is not None:
        statement = statement.where(Contact.email_key == email_key(filters.email))
    if filters.updated_since is not None:
        statement = statement.where(Contact.updated_at >= filters.updated_since)
    rows = session.scalars(after(statement, [Contact.id], last, limit)).all()
    return split(rows, limit, lambda c: [c.id])
