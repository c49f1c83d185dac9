"""Sends whose outcome is unknown, and their retry on an operator's word.

A send goes at most once. One its worker left `sending` (the worker died inside the SMTP
exchange), or whose connection dropped after the message text went, may or may not have
reached the mail server: it is `failed` with an "outcome unknown" reason and is never sent
again by itself. An operator who decides it should go (the person says they never got it,
the server's logs show nothing) retries it: a new send with its own key,
`<original key>:retry-<n>`, that points to the original (`retry_of`) and names who decided
(`retry_by`). The retry goes at most once too; if its own outcome is unknown, only a new
decision sends it again.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, String, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from nurture.sending.errors import RetryError
from nurture.sending.models import Send
from nurture.sending.senders import DROPPED_AFTER_DATA

INTERRUPTED = "interrupted: outcome unknown"  # a send its dead worker left `sending`
UNKNOWN = (INTERRUPTED, DROPPED_AFTER_DATA)
# What a retry copies of the send it repeats.
_COPIED = ("contact_id", "to_email", "role", "enrollment_id", "journey_id", "step_id",
           "template", "variant", "message_class", "topic")


def _length(column: ColumnElement[Any]) -> int:
    """The declared length of a text column: what a value stored in it may not exceed."""
    kind = column.type
    if not isinstance(kind, String) or kind.length is None:
        raise TypeError(f"The column {column} has no declared length.")
    return kind.length


_KEY_LENGTH = _length(Send.__table__.c.send_key)
_BY_LENGTH = _length(Send.__table__.c.retry_by)


@dataclass(frozen=True)
class Unknown:
    """A send whose outcome is unknown and that nobody has decided to retry yet."""

    id: int
    send_key: str
    to_email: str
    template: str
    since: datetime | None  # when its hand-off began
    retry_of: int | None


def unknown(session: Session) -> list[Unknown]:
    """The sends with an unknown outcome awaiting a decision, oldest first."""
    rows = session.scalars(select(Send).where(Send.status == "failed",
                                              Send.reason.in_(UNKNOWN))
                           .order_by(Send.id)).all()
    latest = _latest(session, {row.retry_of or row.id for row in rows})
    return [Unknown(row.id, row.send_key, row.to_email, row.template, row.sent_at,
                    row.retry_of) for row in rows if latest[row.retry_of or row.id] == row.id]


def retry(session: Session, ids: Iterable[int], by: str, now: datetime) -> list[Send]:
    """Queue a retry of each send in `ids`, due now, decided by `by`; all or none. Raises
    RetryError, with every refusal in one message, when any of them cannot be retried."""
    by = " ".join(by.split())
    if not by:
        raise RetryError("Name who decided the retry (--by), such as your email address.")
    if len(by) > _BY_LENGTH:
        raise RetryError("The name of who decided is too long: at most 320 characters.")
    wanted = list(dict.fromkeys(ids))
    found = {s.id: s for s in session.scalars(select(Send).where(Send.id.in_(wanted)))}
    originals = {s.retry_of for s in found.values() if s.retry_of is not None}
    roots = {s.id: s for s in session.scalars(select(Send).where(Send.id.in_(originals)))}
    roots |= {s.id: s for s in found.values() if s.retry_of is None}
    latest = _latest(session, set(roots))
    counts = _retry_counts(session, set(roots))
    problems, rows = [], []
    for send_id in wanted:
        send = found.get(send_id)
        if send is None:
            problems.append(f"There is no send {send_id}.")
            continue
        problem = _refusal(send_id, send, latest)
        if problem:
            problems.append(problem)
            continue
        root = roots[send.retry_of or send.id]
        key = f"{root.send_key}:retry-{counts.get(root.id, 0) + 1}"
        if len(key) > _KEY_LENGTH:
            problems.append(f"Send {send_id} cannot be retried: its key is too long to "
                            "take a retry number.")
            continue
        rows.append({**{name: getattr(root, name) for name in _COPIED}, "send_key": key,
                     "status": "queued", "due_at": now, "created_at": now,
                     "retry_of": root.id, "retry_by": by})
    if problems:
        raise RetryError(" ".join(problems))
    try:
        with session.begin_nested():
            new_ids = [session.execute(insert(Send).values(**row).returning(Send.id))
                       .scalar_one() for row in rows]
    except IntegrityError:
        raise RetryError("Someone retried one of these sends at the same moment; "
                         "`nurture sends unknown` shows what is left.") from None
    return list(session.scalars(select(Send).where(Send.id.in_(new_ids)).order_by(Send.id)))


def _refusal(send_id: int, send: Send, latest: dict[int, int]) -> str | None:
    if send.status != "failed" or send.reason not in UNKNOWN:
        outcome = send.status + (f" ({send.reason})" if send.reason else "")
        return (f"Send {send_id} was {outcome}, not an unknown outcome: only a send whose "
                "outcome is unknown can be retried.")
    later = latest[send.retry_of or send.id]
    if later != send_id:
        return (f"Send {send_id} was already retried as send {later}; retry that one if "
                "its outcome is unknown too.")
    return None


def _latest(session: Session, roots: set[int]) -> dict[int, int]:
    """For each original send, the id of the newest send of its chain (itself or a retry)."""
    latest = {root: root for root in roots}
    if roots:
        for retry_of, send_id in session.execute(
                select(Send.retry_of, Send.id).where(Send.retry_of.in_(sorted(roots)))):
            if retry_of is not None:  # always, by the `in_`
                latest[retry_of] = max(latest[retry_of], send_id)
    return latest


def _retry_counts(session: Session, roots: set[int]) -> dict[int, int]:
    counts: dict[int, int] = {}
    if roots:
        for (retry_of,) in session.execute(select(Send.retry_of).where(
                Send.retry_of.in_(sorted(roots)))):
            if retry_of is not None:  # always, by the `in_`
                counts[retry_of] = counts.get(retry_of, 0) + 1
    return counts
