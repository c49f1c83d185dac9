"""The audit trail of a contact: every field a person changed, with who and when.

Changes are written in bulk (one statement for a batch of contacts) by whoever makes them:
the contact page's edit, a bulk action. Only changes made by people are kept here; what
events do to a contact is in its event history and its stage changes.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from nurture.contacts.models import ContactChange

SHOWN = 200  # the newest changes a contact page shows
CHUNK = 1000  # rows per INSERT: SQLite's limit on parameters is 32,766 (6 per row)
MAX_FIELD = 200


@dataclass(frozen=True)
class Change:
    """One field of one contact: from `old` to `new`."""

    contact_id: int
    field: str
    old: Any
    new: Any


@dataclass(frozen=True)
class Entry:
    field: str
    old: str
    new: str
    by: str
    at: datetime


def shown(value: Any) -> str:
    """A value as the trail keeps it: text as it is, anything else as JSON."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)


def record(session: Session, changes: Iterable[Change], by: str, at: datetime) -> int:
    """Keep these changes, made by `by` (a user's email) at `at`; a change that changes
    nothing is not kept. Returns how many were kept."""
    rows = [{"contact_id": c.contact_id, "field": c.field[:MAX_FIELD], "old": shown(c.old),
             "new": shown(c.new), "by": by[:320], "at": at}
            for c in changes if shown(c.old) != shown(c.new)]
    for start in range(0, len(rows), CHUNK):
        session.execute(insert(ContactChange), rows[start:start + CHUNK])
    return len(rows)


def trail(session: Session, contact_id: int, limit: int = SHOWN) -> list[Entry]:
    """The contact's changes, newest first; those of one edit in the order made."""
    rows = session.scalars(select(ContactChange).where(ContactChange.contact_id == contact_id)
                           .order_by(ContactChange.at.desc(), ContactChange.id)
                           .limit(limit))
    return [Entry(r.field, r.old, r.new, r.by, r.at) for r in rows]
