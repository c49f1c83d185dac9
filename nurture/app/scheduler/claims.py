"""Claiming due work. A claim is a lease: if the worker dies, the lease expires, the row is
released and claimed again. On PostgreSQL `FOR UPDATE SKIP LOCKED` lets many schedulers run
at once.

Each table of work has two partial indexes (`nurture.db.due_indexes`): due rows no one
holds, by due time, which is all a claim reads, and held rows, by lease, which finds the
expired ones. A claim never reads past a leased backlog: with 100,000 enrollments leased
and waiting for workers, a claim that also took expired leases walked all of them, 22 ms
each time, several times a second."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import any_, func, select, text, update
from sqlalchemy.orm import Session

from journeys.models import Enrollment
from nurture.contacts.imports.models import ImportJob
from nurture.db import rowcount
from nurture.sending.lanes import BULK, BULK_ONLY, KINDS, PRIORITY, PRIORITY_ONLY, SEND_KINDS
from nurture.sending.models import Send
from nurture.sending.services import fail_interrupted
from nurture.webhooks.models import WebhookDelivery
from scoring.models import Handoff


class Due(NamedTuple):
    """A kind of due work: its table, its due time, and which of the table's rows it takes
    when two kinds share a table (the lanes of `sends`)."""

    model: Any
    due: Any
    only: str | None = None  # SQL, repeated literally so that SQLite uses the partial index


# The priority lane comes first: a tick claims it before anything else.
PRIORITY_SENDS = KINDS[PRIORITY]
DUE_WORK: dict[str, Due] = {
    PRIORITY_SENDS: Due(Send, Send.due_at, PRIORITY_ONLY),  # nurture/sending/lanes.py
    "advance_enrollments": Due(Enrollment, Enrollment.next_run_at),
    KINDS[BULK]: Due(Send, Send.due_at, BULK_ONLY),
    "deliver_webhooks": Due(WebhookDelivery, WebhookDelivery.due_at),
    "escalate_handoffs": Due(Handoff, Handoff.due_at),  # the sales SLA ran out
    "run_imports": Due(ImportJob, ImportJob.due_at),  # an import uploaded in the console
}


def claim_due(session: Session, kind: str, now: datetime, lease: timedelta,
              limit: int) -> list[int]:
    """Lease up to `limit` due rows of one kind and return their ids, oldest due first."""
    model, due_column, only = DUE_WORK[kind]
    candidates = (
        select(model.id)
        .where(due_column <= now, model.lease_until.is_(None),
               *([text(only)] if only else []))
        .order_by(due_column)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        # `id = ANY(ARRAY(subquery))` makes the planner fetch the claimed rows by primary
        # key; `id IN (subquery)` hash-joins against a scan of the whole table.
        candidates = candidates.with_for_update(skip_locked=True)
        chosen = model.id == any_(func.array(candidates.scalar_subquery()))
    else:
        chosen = model.id.in_(candidates.scalar_subquery())
    statement = (
        update(model)
        .where(chosen)
        .values(lease_until=now + lease)
        .returning(model.id)
        .execution_options(synchronize_session=False)
    )
    ids = list(session.connection().execute(statement).scalars().all())  # one fetchall
    ids.sort()
    return ids


def release_expired(session: Session, kind: str, now: datetime) -> int:
    """Give up the leases that ran out on work still due (its worker died or is stuck), so
    that the next claim takes it again. Returns how many were released."""
    model, due_column, only = DUE_WORK[kind]
    if kind in SEND_KINDS:  # a send that ran out of lease mid-transmission: never again
        fail_interrupted(session, now)
    result = session.execute(
        update(model)
        .where(due_column.is_not(None), model.lease_until.is_not(None),
               model.lease_until < now, *([text(only)] if only else []))
        .values(lease_until=None)
        .execution_options(synchronize_session=False)
    )
    return rowcount(result)
