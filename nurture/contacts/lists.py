"""Lists: named, static sets of contacts. Imports and bulk actions add to them; segments,
broadcasts and exports read them. Membership is written in bulk and at most once."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from nurture.contacts.errors import ContactError
from nurture.contacts.models import ContactList, ListMember
from nurture.db import rowcount
from nurture.text import text_problem

CHUNK = 5000  # members per statement (SQLite's limit on parameters: 3 per row)
MAX_NAME = 120


@dataclass(frozen=True)
class ListSummary:
    id: int
    name: str
    description: str
    members: int
    created_at: datetime


def check_name(name: str) -> str:
    """The list's name trimmed; raises ContactError (a sentence) when it cannot be one."""
    name = name.strip()
    if not name:
        raise ContactError("A list needs a name.")
    if len(name) > MAX_NAME:
        raise ContactError(f"A list's name is at most {MAX_NAME} characters; this one has "
                           f"{len(name)}.")
    if (problem := text_problem(name)) is not None:
        raise ContactError(problem)
    return name


def ensure(session: Session, name: str, now: datetime, *, by: str = "",
           description: str = "") -> int:
    """The id of the list called `name`, made now if there is none."""
    name = check_name(name)
    found = session.scalar(select(ContactList.id).where(ContactList.name == name))
    if found is not None:
        return found
    row = ContactList(name=name, description=description, created_at=now, created_by=by)
    session.add(row)
    session.flush()
    return row.id


def find(session: Session, name: str) -> int | None:
    return session.scalar(select(ContactList.id).where(ContactList.name == name.strip()))


def add(session: Session, list_id: int, contact_ids: Iterable[int], now: datetime,
        source: str = "") -> int:
    """Put the contacts on the list; those already on it stay as they were. Returns how
    many were added now."""
    return len(added_ids(session, list_id, contact_ids, now, source))


def added_ids(session: Session, list_id: int, contact_ids: Iterable[int], now: datetime,
              source: str = "") -> set[int]:
    """`add`, returning which contacts were added now (the others were on it already)."""
    module = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    ids, added = sorted(set(contact_ids)), set()
    for at in range(0, len(ids), CHUNK):
        rows = [{"list_id": list_id, "contact_id": c, "added_at": now, "source": source}
                for c in ids[at:at + CHUNK]]
        statement = module.insert(ListMember).values(rows).on_conflict_do_nothing(
            index_elements=["list_id", "contact_id"]).returning(ListMember.contact_id)
        added |= set(session.scalars(statement))
    return added


def remove(session: Session, list_id: int, contact_ids: Iterable[int]) -> int:
    """Take the contacts off the list; returns how many were on it."""
    ids, removed = sorted(set(contact_ids)), 0
    for at in range(0, len(ids), CHUNK):
        result = session.execute(delete(ListMember).where(
            ListMember.list_id == list_id, ListMember.contact_id.in_(ids[at:at + CHUNK])))
        removed += rowcount(result)
    return removed


def summaries(session: Session) -> list[ListSummary]:
    """Every list with its member count, by name."""
    counts = (select(ListMember.list_id, func.count().label("n"))
              .group_by(ListMember.list_id).subquery())
    rows = session.execute(
        select(ContactList, func.coalesce(counts.c.n, 0))
        .outerjoin(counts, counts.c.list_id == ContactList.id).order_by(ContactList.name))
    return [ListSummary(row.id, row.name, row.description, n, row.created_at)
            for row, n in rows]


def of_contact(session: Session, contact_id: int) -> list[str]:
    """The names of the lists the contact is on."""
    return list(session.scalars(
        select(ContactList.name).join(ListMember, ListMember.list_id == ContactList.id)
        .where(ListMember.contact_id == contact_id).order_by(ContactList.name)))
