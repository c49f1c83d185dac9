"""Pruning finished webhook deliveries. A delivery is due work and, once finished
(delivered, or failed for good: out of attempts, or its endpoint disabled), a line of the
endpoint's log in the console, where staff look at what the last days got back. Nothing
counts them over time (the console shows the log and the endpoint's current run of
failures, kept on the endpoint), so no rollup is kept: a finished delivery is deleted once
older than NURTURE_WEBHOOK_RETENTION_DAYS (default 30, never less than MIN_DAYS: the
three days of retries, `schedule.GIVE_UP_AFTER`, and a few to look at what happened).
Pending deliveries, however old, are never pruned."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.orm import Session

from nurture.config import Settings
from nurture.db import rowcount
from nurture.sweeps import BATCH, MAX_BATCHES, first_row, sweep
from nurture.unit_of_work import Works
from nurture.webhooks.models import WebhookDelivery
from nurture.webhooks.schedule import GIVE_UP_AFTER

FINISHED = ("delivered", "failed")
MIN_DAYS = GIVE_UP_AFTER.days + 4


def retention(settings: Settings) -> timedelta:
    return timedelta(days=max(settings.retention.webhook_days, MIN_DAYS))


def prune_deliveries(session: Session, start: int, cutoff: datetime, batch: int = BATCH
                     ) -> tuple[int, int] | None:
    """Delete the finished deliveries created before `cutoff` among `batch` ids from the
    first at or after `start`. (deleted, next start), or None past the cut-off."""
    first = first_row(session, WebhookDelivery.id, WebhookDelivery.created_at, start)
    if first is None or first[1] >= cutoff:
        return None
    deleted = rowcount(session.execute(
        delete(WebhookDelivery)
        .where(WebhookDelivery.id >= first[0], WebhookDelivery.id < first[0] + batch,
               WebhookDelivery.status.in_(FINISHED), WebhookDelivery.created_at < cutoff)
        .execution_options(synchronize_session=False)))
    return deleted, first[0] + batch


def run_retention_jobs(works: Works, settings: Settings, batches: int = MAX_BATCHES
                       ) -> dict[str, int]:
    """The periodic webhook work, for the scheduler: prune old finished deliveries."""
    cutoff = works.now() - retention(settings)
    return {"pruned": sweep(works, "webhook_deliveries",
                            lambda s, start: prune_deliveries(s, start, cutoff), batches)}
