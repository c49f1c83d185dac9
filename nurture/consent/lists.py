"""The suppression list in and out as CSV: the unsubscribes, bounces and complaints another
tool kept (so that moving to Nurture never mails someone who already said no), an export for
audits and the next move, and lifting a bounce or a complaint by hand.

Reading is pure; `apply`, `export` and `lift` take a session and `now`.
"""

from __future__ import annotations

import csv
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import TextIO

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from nurture.consent.errors import ListError
from nurture.consent.models import REASONS, Suppression
from nurture.consent.records import STRENGTH, stop_queued
from nurture.contacts.services import EMAIL, email_key
from nurture.text import row_problem
from nurture.writes import insert_ignore

CHUNK = 1000  # addresses per statement that reads or writes the list
STOP_CHUNK = 30000  # addresses per pass over the queued sends (SQLite's parameter limit)
EXPORT_COLUMNS = ("email", "reason", "detail", "source", "created_at")


@dataclass(frozen=True)
class Entry:
    email_key: str
    reason: str
    detail: str = ""


def read_entries(handle: TextIO, reason: str | None = None,
                 column: str = "email") -> list[Entry]:
    """The entries of a CSV file with a header line: an address column (`column`), and a
    `reason` column unless `reason` is given for every row; an optional `detail` column.
    An address listed twice keeps its strongest reason. Raises ListError naming the line
    of the first bad row, so that a bad file changes nothing."""
    reader = csv.DictReader(handle)
    header = reader.fieldnames or []
    if not header:
        raise ListError("The file is empty; its first line should name the columns, "
                        f"such as {column},reason.")
    if column not in header:
        raise ListError(f"The file has no {column!r} column; its columns are "
                        f"{', '.join(header)}.")
    if reason is None and "reason" not in header:
        raise ListError("The file has no 'reason' column: add one, or give the reason for "
                        "every address with --reason.")
    if reason is not None and reason not in REASONS:
        raise ListError(f"The reason {reason!r} is unknown; reasons are "
                        f"{', '.join(REASONS)}.")
    found: dict[str, Entry] = {}
    for row in reader:
        line = reader.line_num
        if (problem := row_problem(row, line)) is not None:
            raise ListError(problem)
        address = (row.get(column) or "").strip()
        if not EMAIL.match(address):
            raise ListError(f"Line {line} has the address {address!r}, which is not an "
                            "email address.")
        why = reason or (row.get("reason") or "").strip().lower()
        if why not in REASONS:
            raise ListError(f"Line {line} has the reason {why!r}; reasons are "
                            f"{', '.join(REASONS)}.")
        entry = Entry(email_key(address), why, (row.get("detail") or "").strip()[:500])
        known = found.get(entry.email_key)
        if known is None or STRENGTH[why] > STRENGTH[known.reason]:
            found[entry.email_key] = entry
    return list(found.values())


def apply(session: Session, entries: list[Entry], source: str, now: datetime) -> Counter:
    """Add the entries to the list; an address already there keeps the stronger reason.
    Queued sends to them stop at once (every class of mail for a hard bounce or a
    complaint). Returns counts: added, strengthened, unchanged and the queued sends
    stopped."""
    counts: Counter = Counter()
    for start in range(0, len(entries), CHUNK):
        chunk = entries[start:start + CHUNK]
        current = {key: (row_id, why) for row_id, key, why in session.execute(
            select(Suppression.id, Suppression.email_key, Suppression.reason)
            .where(Suppression.email_key.in_([e.email_key for e in chunk])))}
        new = [e for e in chunk if e.email_key not in current]
        insert_ignore(session, Suppression, [
            {"email_key": e.email_key, "reason": e.reason, "detail": e.detail,
             "source": source, "created_at": now} for e in new], "email_key")
        stronger = [e for e in chunk if e.email_key in current
                    and STRENGTH[e.reason] > STRENGTH[current[e.email_key][1]]]
        for entry in stronger:
            session.execute(update(Suppression).where(
                Suppression.id == current[entry.email_key][0]).values(
                reason=entry.reason, detail=entry.detail, source=source))
        counts["added"] += len(new)
        counts["strengthened"] += len(stronger)
        counts["unchanged"] += len(chunk) - len(new) - len(stronger)
    for why in REASONS:
        keys = [e.email_key for e in entries if e.reason == why]
        for start in range(0, len(keys), STOP_CHUNK):
            counts["sends_stopped"] += stop_queued(session, keys[start:start + STOP_CHUNK],
                                                   why)
    return counts


def export(session: Session, reason: str | None = None) -> Iterator[tuple[str, ...]]:
    """The list as rows of EXPORT_COLUMNS, oldest first."""
    query = select(Suppression).order_by(Suppression.id)
    if reason is not None:
        query = query.where(Suppression.reason == reason)
    for row in session.scalars(query.execution_options(yield_per=CHUNK)):
        yield (row.email_key, row.reason, row.detail, row.source, row.created_at.isoformat())


def write_csv(rows: Iterator[tuple[str, ...]], out: TextIO) -> int:
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(EXPORT_COLUMNS)
    count = 0
    for row in rows:
        writer.writerow(row)
        count += 1
    return count


def lift(session: Session, address: str) -> str:
    """Take a bounced or complaining address off the list (say, a mailbox that works again);
    returns the reason it had. An unsubscribe is the person's to lift, by confirming their
    subscription again, never an operator's."""
    key = email_key(address)
    reason = session.scalar(select(Suppression.reason).where(Suppression.email_key == key))
    if reason is None:
        raise ListError(f"The address {address} is not on the suppression list.")
    if reason == "unsubscribed":
        raise ListError(f"{address} unsubscribed: only they can lift that, by confirming "
                        "their subscription again from the preference page.")
    session.execute(delete(Suppression).where(Suppression.email_key == key))
    return reason
