"""The periodic decay: everyone's score recomputed at once, vectorized, and written back
only where the rounded score changed. Engagement is stored as of `engagement_at`, so the
stored parts never need rewriting; only `contacts.score` (what journeys see) moves.

Rows are read with the driver's cursor as plain tuples in chunks, turned into numpy
columns, and the changed scores written in one statement per chunk."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
from sqlalchemy.orm import Session

from scoring.engine import decay_scores
from scoring.rules import Rules

CHUNK = 250_000

_SELECT = {
    "postgresql": "SELECT s.contact_id, s.fit, s.engagement, "
                  "COALESCE(EXTRACT(EPOCH FROM (%(now)s - s.engagement_at)), 0), c.score "
                  "FROM contact_scores s JOIN contacts c ON c.id = s.contact_id "
                  "WHERE s.contact_id > %(after)s ORDER BY s.contact_id LIMIT %(limit)s",
    "sqlite": "SELECT s.contact_id, s.fit, s.engagement, "
              "COALESCE((julianday(?) - julianday(s.engagement_at)) * 86400.0, 0), c.score "
              "FROM contact_scores s JOIN contacts c ON c.id = s.contact_id "
              "WHERE s.contact_id > ? ORDER BY s.contact_id LIMIT ?",
}


def _chunk(session: Session, now: datetime, after: int, limit: int) -> list[tuple]:
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        return connection.exec_driver_sql(_SELECT["postgresql"], {
            "now": now, "after": after, "limit": limit}).fetchall()
    stamp = now.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ")
    return connection.exec_driver_sql(_SELECT["sqlite"], (stamp, after, limit)).fetchall()


def recompute_all(session: Session, rules: Rules, now: datetime, chunk: int = CHUNK) -> int:
    """Bring every contact's score to `now`; returns how many scores changed."""
    changed, after = 0, 0
    while True:
        rows = _chunk(session, now, after, chunk)
        if not rows:
            return changed
        ids, fixed, engagement, since, current = (np.fromiter(column, dtype=np.float64,
                                                              count=len(rows))
                                                  for column in zip(*rows, strict=True))
        scores = decay_scores(fixed, engagement, since, rules.half_life)
        moved = scores != current.astype(np.int64)
        changed += int(moved.sum())
        write_scores(session, ids[moved].astype(np.int64), scores[moved])
        after = int(ids[-1])
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
    connection.exec_driver_sql("UPDATE contacts SET score = ? WHERE id = ?",
                               list(zip(scores.tolist(), ids.tolist(), strict=True)))
