"""Everything stored about a contact: exported as one document (a data-access request),
or erased (the right to be forgotten), leaving only a hash of the address on the
suppression list so that it is never mailed again without a new opt-in.

The tables are found by walking the schema, not listed by hand: every table with a foreign
key to `contacts`, then every table with a foreign key to one of those, and so on (an
enrollment's activity, a hand-off's notes), plus the columns named `contact_id` that carry
no foreign key. A table added tomorrow with a `contact_id` is exported and erased without
a change here. What the walk cannot see is declared below: the tables that keep an address
rather than an id (`BY_ADDRESS`), the rows that outlive the contact and are emptied of what
names it (`EMPTIED`), and the tables that hold nothing about any contact (`NOTHING_ABOUT`).
`tests/nurture/contacts/test_erase.py` fails when a table is in none of these.

The caller passes the schema's tables (`nurture.models.Base.metadata.sorted_tables`):
this floor does not import the domains whose tables it walks.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Column, ColumnElement, Table, delete, or_, select, text, update
from sqlalchemy.orm import Session

from nurture.accounts.models import Account
from nurture.consent.records import erase as keep_only_hashes
from nurture.consent.records import erased_key
from nurture.contacts.models import Contact
from nurture.db import one_of

ROOT = "contacts"
LINKS = ("contact_id", "friend_id")  # columns that name a contact, with or without a key
# Tables that keep an address, not an id: the column, searched for the address in it.
BY_ADDRESS: dict[str, tuple[str, ...]] = {
    "inbound_messages": ("from_address",),  # their replies, kept for a person to read
    "import_rejects": ("raw",),  # a rejected line of an import, as read from the file
    "webhook_deliveries": ("payload",),  # what we told a CRM about them
    "referral_sources": ("email",),  # a partner entered by address
    "idempotency_keys": ("response_body",),  # an API answer kept a day for retries
}
# Rows the contact's key sets to NULL when it goes (another person's referral, a reward
# already paid): they stay, with these columns emptied.
EMPTIED: dict[str, dict[str, Any]] = {
    "referral_sources": {"name": "", "email": ""},
    "referral_rewards": {},  # ids and amounts only
}
# Tables that hold nothing about any one contact (why, for whoever adds a table).
NOTHING_ABOUT: dict[str, str] = {
    "webhook_endpoints": "where staff send events, and the secrets they sign with",
    "users": "the staff who use the console",
    "accounts": "a company: emptied when its last contact is erased (`_empty_accounts`)",
    "subscriptions": "a company's services and seats",
    "journey_versions": "journey definitions",
    "segments": "conditions written by marketers",
    "broadcasts": "a campaign's name, audience, templates and counts; its sends are walked",
    "journey_rollups": "a journey's counts, no one's in particular",
    "api_tokens": "the staff's API tokens, hashed",
    "process_heartbeats": "which schedulers and workers run, and their clocks",
    "contact_lists": "lists' names",
    "import_jobs": "an import's file name and counts",
    "import_mappings": "saved column mappings",
    "landing_pages": "pages' content",
    "pauses": "journeys and templates paused",
    "scoring_models": "model coefficients",
    "referral_clicks": "visits to a referrer's link: the visitors', kept with the code",
    "suppressions": "the list itself: an erased address leaves only its hash",
}


@dataclass(frozen=True)
class Link:
    """Rows of `table` belong to the contact when `column` names a row of `parent`
    (`parent_column`); `deleted` tells whether they go with it or only lose the link."""

    table: Table
    column: Column[Any]
    parent: str
    parent_column: str
    deleted: bool


def links(tables: Sequence[Table]) -> list[Link]:
    """How each table reaches a contact, parents before children."""
    found: list[Link] = []
    reached = {ROOT}
    for table in tables:
        if table.name == ROOT:
            continue
        for column in table.columns:
            keys = list(column.foreign_keys)
            if keys:
                for key in keys:
                    parent = key.column.table.name
                    if parent not in reached:
                        continue
                    deleted = (key.ondelete or "").upper() != "SET NULL"
                    found.append(Link(table, column, parent, key.column.name, deleted))
            elif column.name in LINKS:
                found.append(Link(table, column, ROOT, "id", True))
        if any(link.table is table and link.deleted for link in found) and "id" in table.c:
            reached.add(table.name)
    return found


def covered(tables: Sequence[Table]) -> set[str]:
    """The tables this module handles: walked, declared, or declared to hold nothing."""
    return ({ROOT} | {link.table.name for link in links(tables)} | set(BY_ADDRESS)
            | set(EMPTIED) | set(NOTHING_ABOUT))


def _rows_of(session: Session, tables: Sequence[Table], ids: Collection[int],
             keys: Collection[str]) -> dict[str, list[dict[str, Any]]]:
    """Every row about these contacts (by id and by address), by table, parents first."""
    found: dict[str, list[dict[str, Any]]] = {}
    ids_of: dict[str, list[Any]] = {ROOT: list(ids)}
    by_table: dict[str, list[Link]] = {}
    for link in links(tables):
        by_table.setdefault(link.table.name, []).append(link)
    for table in tables:
        if table.name == ROOT:
            rows = session.execute(select(table).where(one_of(session, table.c.id, ids)))
        else:
            where = [one_of(session, link.column, values) for link in by_table.get(table.name, ())
                     if (values := ids_of.get(link.parent))]
            where += _address_clauses(session, table, keys)
            if not where:
                continue
            rows = session.execute(select(table).where(or_(*where)))
        found[table.name] = [dict(row._mapping) for row in rows]
        if "id" in table.c and found[table.name]:
            ids_of[table.name] = [row["id"] for row in found[table.name]]
    return {name: rows for name, rows in found.items() if rows}


def _address_clauses(session: Session, table: Table,
                     keys: Collection[str]) -> list[ColumnElement[bool]]:
    clauses: list[ColumnElement[bool]] = []
    if keys:
        clauses += [_contains_any(session, table, name, keys)
                    for name in BY_ADDRESS.get(table.name, ())]
    if table.name == "suppressions":
        clauses.append(one_of(session, table.c.email_key,
                              [*keys, *(erased_key(k) for k in keys)]))
    return clauses


def _contains_any(session: Session, table: Table, name: str,
                  keys: Collection[str]) -> ColumnElement[bool]:
    """The column's text (lower-cased) holds one of the addresses: the addresses go as one
    parameter (an array, or JSON that SQLite's `json_each` reads), not one LIKE each, so
    a batch of a thousand is one statement the database answers in one pass."""
    escaped = [k.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
               for k in keys]
    column = f'lower(CAST("{table.name}"."{name}" AS TEXT))'
    like = "LIKE '%' || k.value || '%' ESCAPE '\\'"
    parameter = f"keys_{table.name}_{name}"
    if session.get_bind().dialect.name == "postgresql":
        sql = (f"EXISTS (SELECT 1 FROM unnest(CAST(:{parameter} AS text[])) AS k(value) "
               f"WHERE {column} {like})")
        return text(sql).bindparams(**{parameter: escaped})  # type: ignore[return-value]
    sql = f"EXISTS (SELECT 1 FROM json_each(:{parameter}) AS k WHERE {column} {like})"
    return text(sql).bindparams(**{parameter: json.dumps(escaped)})  # type: ignore[return-value]


def export(session: Session, tables: Sequence[Table], contact_id: int) -> dict[str, Any]:
    """Everything stored about the contact, as one JSON-ready document: each table's rows
    (every column), and the company's account row."""
    contact = session.get(Contact, contact_id)
    if contact is None:
        return {}
    rows = _rows_of(session, tables, [contact_id], [contact.email_key])
    if contact.account_id is not None:
        account = session.get(Account, contact.account_id)
        if account is not None:
            rows["accounts"] = [{c.name: getattr(account, c.key) for c in
                                 Account.__table__.columns}]
    return {"format": "nurture contact export 1", "contact_id": contact_id,
            "email": contact.email,
            "tables": {name: [_plain(row) for row in found] for name, found in rows.items()}}


def _plain(row: dict[str, Any]) -> dict[str, Any]:
    return {name: _value(value) for name, value in row.items()}


def _value(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, bytes):
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            return "base64:" + base64.b64encode(value).decode()
    if isinstance(value, Decimal):
        return str(value)
    return value


def erase(session: Session, tables: Sequence[Table], contact_ids: Iterable[int],
          source: str, now: datetime) -> int:
    """Erase these contacts: their rows in every table are deleted (children first) or
    emptied, their addresses leave only a hash on the suppression list, and a company
    left without contacts loses its name. One batch, in the caller's transaction; returns
    how many contacts were erased."""
    ids = sorted(set(contact_ids))
    # The contacts locked first, in id order, as every writer locks them: a worker's batch
    # on the same contacts waits for the erasure, then finds them gone.
    query = (select(Contact.id, Contact.email_key, Contact.account_id)
             .where(one_of(session, Contact.id, ids)).order_by(Contact.id))
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update()
    people = session.execute(query).all() if ids else []
    if not people:
        return 0
    ids = [p.id for p in people]
    keys = [p.email_key for p in people]
    keep_only_hashes(session, keys, source, now)
    walked = links(tables)
    _empty_linked(session, walked, ids)
    _delete_by_address(session, tables, keys)
    _delete_walked(session, tables, walked, ids)
    session.execute(delete(Contact).where(one_of(session, Contact.id, ids))
                    .execution_options(synchronize_session=False))
    _empty_accounts(session, {p.account_id for p in people if p.account_id is not None})
    return len(ids)


def _empty_linked(session: Session, walked: list[Link], ids: list[int]) -> None:
    for link in walked:
        if link.deleted or link.parent != ROOT:
            continue
        values = {**EMPTIED.get(link.table.name, {}), link.column.name: None}
        session.execute(update(link.table).where(one_of(session, link.column, ids))
                        .values(**values).execution_options(synchronize_session=False))


def _delete_by_address(session: Session, tables: Sequence[Table], keys: list[str]) -> None:
    for table in tables:
        if table.name not in BY_ADDRESS or \
                session.execute(select(1).select_from(table).limit(1)).first() is None:
            continue
        where = or_(*_address_clauses(session, table, keys))
        if table.name in EMPTIED:
            session.execute(update(table).where(where).values(**EMPTIED[table.name])
                            .execution_options(synchronize_session=False))
        else:
            session.execute(delete(table).where(where)
                            .execution_options(synchronize_session=False))


def _delete_walked(session: Session, tables: Sequence[Table], walked: list[Link],
                   ids: list[int]) -> None:
    """Delete every walked row, children before parents: the ids of each parent's rows
    are read before anything is deleted."""
    ids_of: dict[str, list[Any]] = {ROOT: ids}
    plan: list[tuple[Table, ColumnElement[bool]]] = []
    by_table: dict[str, list[Link]] = {}
    for link in walked:
        if link.deleted:
            by_table.setdefault(link.table.name, []).append(link)
    for table in tables:
        where = [one_of(session, link.column, values) for link in by_table.get(table.name, ())
                 if (values := ids_of.get(link.parent))]
        if not where:
            continue
        condition = or_(*where)
        if "id" in table.c:
            ids_of[table.name] = list(session.scalars(select(table.c.id).where(condition)))
            if not ids_of[table.name]:
                continue
            condition = one_of(session, table.c.id, ids_of[table.name])
        plan.append((table, condition))
    for table, condition in reversed(plan):
        session.execute(delete(table).where(condition)
                        .execution_options(synchronize_session=False))


def _empty_accounts(session: Session, account_ids: set[int]) -> None:
    """A company whose last contact was erased keeps its row (subscriptions, billing
    history) without its name or domain, which may name the person."""
    if not account_ids:
        return
    staying = set(session.scalars(select(Contact.account_id).where(
        one_of(session, Contact.account_id, sorted(account_ids)))))
    empty = sorted(account_ids - staying)
    if empty:
        session.execute(update(Account).where(Account.id.in_(empty))
                        .values(name="", domain="")
                        .execution_options(synchronize_session=False))
