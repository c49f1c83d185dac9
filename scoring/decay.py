"""The periodic decay: everyone's score recomputed at once, vectorized, and written back
only where the rounded score changed. Engagement is stored as of `engagement_at`, so the
stored parts never need rewriting; only `contacts.score` (what journeys see) moves."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
from sqlalchemy import bindparam, func, literal, select
from sqlalchemy.orm import Session

from nurture.contacts.models import Contact
from scoring.engine import decay_scores
from scoring.models import ContactScore
from scoring.rules import Rules

CHUNK = 250_000


def _seconds_since(session: Session, now: datetime):
    if session.get_bind().dialect.name == "postgresql":
        return func.extract("epoch", literal(now) - ContactScore.engagement_at)
    stamp = now.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ")
    return (func.julianday(literal(stamp)) -
            func.julianday(ContactScore.engagement_at)) * 86400.0


def recompute_all(session: Session, rules: Rules, now: datetime, chunk: int = CHUNK) -> int:
    """Bring every contact's score to `now`; returns how many scores changed."""
    since = _seconds_since(session, now)
    changed = 0
    last_id = 0
    while True:
        rows = session.execute(
            select(ContactScore.contact_id, ContactScore.fit, ContactScore.engagement,
                   func.coalesce(since, 0.0), Contact.score)
            .join(Contact, Contact.id == ContactScore.contact_id)
            .where(ContactScore.contact_id > last_id)
            .order_by(ContactScore.contact_id).limit(chunk)).all()
        if not rows:
            return changed
        data = np.array(rows, dtype=np.float64)
        ids = data[:, 0].astype(np.int64)
        scores = decay_scores(data[:, 1], data[:, 2], data[:, 3], rules.half_life)
        moved = scores != data[:, 4].astype(np.int64)
        changed += int(moved.sum())
        write_scores(session, ids[moved], scores[moved])
        last_id = int(ids[-1])
        if len(rows) < chunk:
            return changed


def write_scores(session: Session, ids: np.ndarray, scores: np.ndarray) -> None:
    if not len(ids):
        return
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql(
            "UPDATE contacts AS c SET score = v.score FROM unnest(%(ids)s::bigint[], "
            "%(scores)s::integer[]) AS v(id, score) WHERE c.id = v.id",
            {"ids": ids.tolist(), "scores": scores.tolist()})
        return
    table = Contact.__table__
    connection.execute(table.update().where(table.c.id == bindparam("cid"))
                       .values(score=bindparam("new_score")),
                       [{"cid": i, "new_score": s} for i, s in zip(ids.tolist(), scores.tolist(),
                                                                  strict=True)])
