"""Lists a page at a time, and membership by the item, for the API: list the lists, read
one, create one, page through its members, add up to a thousand contacts (by id or email)
with a result for each, and take one off.

Pages are keysets (`nurture.paging`), so a client walking the members while others are
added sees each one once. Adding says, per item, whether the contact was added now, was on
the list already, or is not a contact at all; nothing is refused as a whole because one
item is unknown.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from nurture.contacts import lists
from nurture.contacts.errors import ContactError, ListNotFound
from nurture.contacts.models import Contact, ContactList, ListMember
from nurture.db import Database
from nurture.paging import Key, after, split

Result = Literal["added", "already_member", "not_found"]
ADDED: Result = "added"
ALREADY: Result = "already_member"
UNKNOWN: Result = "not_found"


@dataclass(frozen=True)
class Member:
    contact_id: int
    email: str
    added_at: datetime
    source: str  # "import:42", "bulk:ann@…", "api:ann@…"


@dataclass(frozen=True)
class ItemResult:
    item: int | str  # as given: a contact id or an email address
    result: Result
    contact_id: int | None


def _summary(session: Session, row: ContactList) -> lists.ListSummary:
    members = session.scalar(select(func.count()).select_from(ListMember)
                             .where(ListMember.list_id == row.id)) or 0
    return lists.ListSummary(row.id, row.name, row.description, int(members), row.created_at)


def _found(session: Session, list_id: int) -> ContactList:
    row = session.get(ContactList, list_id)
    if row is None:
        raise ListNotFound(f"There is no list with id {list_id}.")
    return row


def page(db: Database, last: Key | None, limit: int
         ) -> tuple[list[lists.ListSummary], Key | None]:
    """Lists, oldest first, each with its member count."""
    with db.sessions() as session:
        rows = session.scalars(after(select(ContactList), [ContactList.id], last,
                                     limit)).all()
        found, key = split(rows, limit, lambda r: [r.id])
        counts = dict(session.execute(
            select(ListMember.list_id, func.count())
            .where(ListMember.list_id.in_([r.id for r in found]))
            .group_by(ListMember.list_id)).all()) if found else {}
        return [lists.ListSummary(r.id, r.name, r.description, counts.get(r.id, 0),
                                  r.created_at) for r in found], key


def one(db: Database, list_id: int) -> lists.ListSummary:
    with db.sessions() as session:
        return _summary(session, _found(session, list_id))


def create(db: Database, name: str, description: str, now: datetime, by: str) -> int:
    """A new list; a name another list has is refused (lists are found by name)."""
    name = lists.check_name(name)
    taken = ContactError(f"There is already a list called {name!r}; choose another name.")
    try:
        with db.transaction() as session:
            if lists.find(session, name) is not None:
                raise taken
            return lists.ensure(session, name, now, by=by, description=description.strip())
    except IntegrityError:  # made by another request a moment ago
        raise taken from None


def members(db: Database, list_id: int, last: Key | None, limit: int
            ) -> tuple[list[Member], Key | None]:
    """The list's members by contact id."""
    with db.sessions() as session:
        _found(session, list_id)
        stmt: Any = (select(ListMember.contact_id, Contact.email, ListMember.added_at,
                            ListMember.source)
                     .join(Contact, Contact.id == ListMember.contact_id)
                     .where(ListMember.list_id == list_id))
        rows = session.execute(after(stmt, [ListMember.contact_id], last, limit)).all()
    found, key = split(rows, limit, lambda r: [r[0]])
    return [Member(cid, email, at, source) for cid, email, at, source in found], key


def add_items(db: Database, list_id: int, items: Sequence[int | str], now: datetime,
              source: str) -> list[ItemResult]:
    """Put the contacts named by id or email on the list; a result per item, in order."""
    emails = {i.strip().lower() for i in items if isinstance(i, str)}
    ids = {i for i in items if isinstance(i, int)}
    with db.transaction() as session:
        _found(session, list_id)
        known = set(session.scalars(select(Contact.id).where(Contact.id.in_(ids)))) \
            if ids else set()
        by_email = dict(session.execute(
            select(Contact.email_key, Contact.id).where(Contact.email_key.in_(emails))
        ).all()) if emails else {}
        chosen = {*known, *by_email.values()}
        added = lists.added_ids(session, list_id, chosen, now, source[:120])
    results: list[ItemResult] = []
    seen: set[int] = set()
    for item in items:
        cid = by_email.get(item.strip().lower()) if isinstance(item, str) else (
            item if item in known else None)
        if cid is None:
            results.append(ItemResult(item, UNKNOWN, None))
            continue
        results.append(ItemResult(item, ADDED if cid in added and cid not in seen
                                  else ALREADY, cid))
        seen.add(cid)
    return results


def remove_one(db: Database, list_id: int, contact_id: int) -> None:
    """Take the contact off the list; NotFound when it was not on it."""
    with db.transaction() as session:
        _found(session, list_id)
        if not lists.remove(session, list_id, [contact_id]):
            raise ListNotFound(f"Contact {contact_id} is not on list {list_id}.")
