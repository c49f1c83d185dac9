"""Claim an idempotency key, store the answer it got, replay it on a retry.

The protocol is IETF draft-ietf-httpapi-idempotency-key-header's, as Stripe runs it: the
first request with a key claims it (a row with no answer yet) and runs; its answer, if it
is not a server error, is stored and replayed to every retry with the same key for
`KEPT` hours. A retry while the first is still running gets a 409; the same key sent with
another method, path or body gets a 422. A first request that failed with a server error
releases its key, so that a retry runs again. A claim left unanswered for `ABANDONED`
(a process killed between the work and the answer) may be taken over.

Keys are per caller (`owner`: a token, or the shared key), so two integrations never see
each other's answers.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from nurture.db import rowcount
from nurture.errors import Conflict, Invalid
from nurture.idempotency.models import IdempotencyKey
from nurture.unit_of_work import Works
from nurture.violations import Violation
from nurture.writes import insert_ignore

KEPT = timedelta(hours=24)
ABANDONED = timedelta(minutes=5)
MAX_LENGTH = 255
HEADER = "Idempotency-Key"


@dataclass(frozen=True)
class Answer:
    """A stored answer, replayed as it was."""

    status: int
    content_type: str
    body: bytes
    location: str | None


def digest(*parts: str | bytes) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(part.encode() if isinstance(part, str) else part)
        h.update(b"\x1f")
    return h.hexdigest()


def check_key(key: str) -> None:
    if not key or len(key) > MAX_LENGTH or not key.isprintable():
        raise Invalid([Violation(HEADER, f"An {HEADER} must be 1 to {MAX_LENGTH} printable "
                                         "characters, such as a UUID.")])


def claim(session: Session, owner: str, key: str, fingerprint: str,
          now: datetime) -> Answer | None:
    """None: the key is now ours, run the request. An `Answer`: replay it. Raises
    `Conflict` while the first request runs and `Invalid` when the key was used for
    another request."""
    check_key(key)
    scoped = digest(owner, key)
    if insert_ignore(session, IdempotencyKey, [
            {"scoped": scoped, "fingerprint": fingerprint, "created_at": now}], "scoped"):
        return None
    row = session.scalars(select(IdempotencyKey).where(IdempotencyKey.scoped == scoped)
                          ).one_or_none()
    if row is None:  # pruned between the two statements: claim again
        return claim(session, owner, key, fingerprint, now)
    if row.created_at < now - KEPT:  # expired but not yet pruned: a fresh start
        session.delete(row)
        session.flush()
        return claim(session, owner, key, fingerprint, now)
    if row.fingerprint != fingerprint:
        raise Invalid([Violation(HEADER, f"This {HEADER} was already used for a different "
                                         "request; use a new key for a new request.")])
    if row.status is None:
        if row.created_at > now - ABANDONED:
            raise Conflict(f"A request with this {HEADER} is still being processed; try "
                           "again in a few seconds.")
        taken = session.execute(update(IdempotencyKey).where(
            IdempotencyKey.id == row.id, IdempotencyKey.status.is_(None),
            IdempotencyKey.created_at == row.created_at).values(created_at=now))
        if not rowcount(taken):
            raise Conflict(f"A request with this {HEADER} is still being processed; try "
                           "again in a few seconds.")
        return None
    return Answer(row.status, row.content_type or "application/json", row.response_body or b"",
                  row.location)


def answer(session: Session, owner: str, key: str, result: Answer) -> None:
    """Store the answer the claimed key's request got."""
    session.execute(update(IdempotencyKey).where(
        IdempotencyKey.scoped == digest(owner, key)).values(
        status=result.status, content_type=result.content_type, response_body=result.body,
        location=result.location))


def release(session: Session, owner: str, key: str) -> None:
    """The request failed on our side: let a retry run it."""
    session.execute(delete(IdempotencyKey).where(
        IdempotencyKey.scoped == digest(owner, key), IdempotencyKey.status.is_(None)))


def prune(session: Session, now: datetime, batch: int = 5000) -> int:
    """Forget keys older than `KEPT`, a batch at a time; returns how many went."""
    ids = session.scalars(select(IdempotencyKey.id).where(
        IdempotencyKey.created_at < now - KEPT).limit(batch)).all()
    if ids:
        session.execute(delete(IdempotencyKey).where(IdempotencyKey.id.in_(ids)))
    return len(ids)


def run_idempotency_jobs(works: Works, batches: int = 20) -> dict[str, int]:
    """The scheduler's periodic work: forget expired keys."""
    pruned, now = 0, works.now()
    for _ in range(batches):
        with works.transaction() as session:
            gone = prune(session, now)
        pruned += gone
        if not gone:
            break
    return {"pruned": pruned}
