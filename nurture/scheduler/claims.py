"""Claiming due work. A claim is a lease: if the worker dies, the lease expires and the row
is claimed again. On PostgreSQL `FOR UPDATE SKIP LOCKED` lets many schedulers run at once."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import any_, func, or_, select, update
from sqlalchemy.orm import Session

from journeys.models import Enrollment
from nurture.sending.models import Send
from nurture.webhooks.models import WebhookDelivery
from scoring.models import Handoff

DUE_WORK: dict[str, tuple[Any, Any]] = {
    "advance_enrollments": (Enrollment, Enrollment.next_run_at),
    "deliver_sends": (Send, Send.due_at),
    "deliver_webhooks": (WebhookDelivery, WebhookDelivery.due_at),
    "escalate_handoffs": (Handoff, Handoff.due_at),  # the sales SLA ran out
}


def claim_due(session: Session, kind: str, now: datetime, lease: timedelta,
              limit: int) -> list[int]:
    """Lease up to `limit` due rows of one kind and return their ids, oldest due first."""
    model, due_column = DUE_WORK[kind]
    candidates = (
        select(model.id)
        .where(due_column <= now, or_(model.lease_until.is_(None), model.lease_until < now))
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
