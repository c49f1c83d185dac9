"""Pruning old sends. A send row is how a click, an open, an unsubscribe link or an NPS
answer finds its message, for as long as the tokens in that message are valid (400 days at
most: `nurture.tokens.MAX_AGE`). After that nothing can reach it, and frequency caps, pacing
and the NPS throttle look back far less, so a finished send is deleted once it is older than
the retention: NURTURE_SEND_RETENTION_DAYS, never less than the longest token life. Queued
and `sending` rows are never pruned. Events keep the send key of every open and click."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from nurture.config import Settings
from nurture.db import rowcount
from nurture.sending.models import Send
from nurture.tokens import DAY, MAX_AGE
from nurture.unit_of_work import Works

MIN_DAYS = max(MAX_AGE[p] for p in ("subscription", "track", "nps")) // DAY
FINISHED = ("sent", "failed", "skipped")
BATCH = 5000  # ids per delete statement
MAX_BATCHES = 20  # per run of the scheduler's jobs: 100,000 rows a minute at most


def retention(days: int | None) -> timedelta:
    """The retention setting (`Settings.sending.retention_days`; None when unset), raised
    to MIN_DAYS if lower."""
    return timedelta(days=max(days or MIN_DAYS, MIN_DAYS))


def prune_sends(session: Session, now: datetime, keep: timedelta, batch: int = BATCH) -> int:
    """Delete finished sends created before `now - keep`, in one range of `batch` ids from
    the oldest finished one (found through the primary key: there is no index on age, and
    ids grow with creation). Returns how many rows went."""
    cutoff = now - keep
    oldest = session.execute(select(Send.id, Send.created_at)
                             .where(Send.status.in_(FINISHED)).order_by(Send.id)
                             .limit(1)).first()
    if oldest is None or oldest.created_at >= cutoff:
        return 0
    return rowcount(session.execute(
        delete(Send).where(Send.id >= oldest.id, Send.id < oldest.id + batch,
                           Send.status.in_(FINISHED), Send.created_at < cutoff)
        .execution_options(synchronize_session=False)))


def run_send_jobs(works: Works, settings: Settings) -> dict[str, int]:
    """The periodic sending work, for the scheduler: prune old sends."""
    keep, now, pruned = retention(settings.sending.retention_days), works.now(), 0
    for _ in range(MAX_BATCHES):
        with works.transaction() as session:
            deleted = prune_sends(session, now, keep)
        pruned += deleted
        if not deleted:
            break
    return {"pruned": pruned}
