"""Everyone's score in bulk: the periodic decay reads the score parts in chunks and writes
back only the scores that moved. The arithmetic is `scoring.decay`'s; this module is its SQL.

Rows are read in chunks: on PostgreSQL as a binary COPY that numpy reads as fixed-width
records without a Python object per value; on SQLite through the driver's cursor. The
changed scores are written in one statement per chunk."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from itertools import pairwise
from typing import Any

import numpy as np
from sqlalchemy import text
from sqlalchemy.orm import Session

from nurture.db import Database
from scoring.decay import Parts, moved
from scoring.rules import Rules

CHUNK = 250_000

_SQLITE = ("SELECT s.contact_id, s.fit, s.engagement, "
           "COALESCE((julianday(?) - julianday(s.engagement_at)) * 86400.0, 0), c.score "
           "FROM contact_scores s JOIN contacts c ON c.id = s.contact_id "
           "WHERE s.contact_id > ? AND s.contact_id <= ?")
_COPY = ("COPY (SELECT s.contact_id::int8, s.fit::float8, s.engagement::float8, "
         "COALESCE(EXTRACT(EPOCH FROM (%s::timestamptz - s.engagement_at)), 0)::float8, "
         "c.score::int4 FROM contact_scores s JOIN contacts c ON c.id = s.contact_id "
         "WHERE s.contact_id > %s AND s.contact_id <= %s) TO STDOUT (FORMAT BINARY)")
# PostgreSQL's binary COPY: a 19-byte header, then per row a field count and, per field, a
# length and the big-endian value; no NULLs here, so every record has the same width.
_RECORD = np.dtype([("n", ">i2"), ("l1", ">i4"), ("id", ">i8"), ("l2", ">i4"), ("fit", ">f8"),
                    ("l3", ">i4"), ("eng", ">f8"), ("l4", ">i4"), ("since", ">f8"),
                    ("l5", ">i4"), ("score", ">i4")])
_HEADER, _TRAILER = 19, 2


def _chunk(session: Session, now: datetime, after: int, upto: int) -> Parts | None:
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        raw = bytearray()
        driver: Any = connection.connection.driver_connection
        with driver.cursor() as cursor, cursor.copy(_COPY, (now, after, upto)) as copy:
            for block in copy:
                raw += block
        rows = np.frombuffer(bytes(raw[_HEADER:-_TRAILER]), dtype=_RECORD)
        if not len(rows):
            return None
        return Parts(rows["id"].astype(np.int64), rows["fit"].astype(np.float64),
                     rows["eng"].astype(np.float64), rows["since"].astype(np.float64),
                     rows["score"].astype(np.int64))
    stamp = now.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ")
    found = connection.exec_driver_sql(_SQLITE, (stamp, after, upto)).fetchall()
    if not found:
        return None
    ids, fixed, engagement, since, current = (
        np.fromiter(column, dtype=np.float64, count=len(found))
        for column in zip(*found, strict=True))
    return Parts(ids.astype(np.int64), fixed, engagement, since, current.astype(np.int64))


def recompute_all(db: Database, rules: Rules, now: datetime, chunk: int = CHUNK,
                  threads: int = 2) -> int:
    """Bring every contact's score to `now`; returns how many scores changed. Each chunk is
    its own transaction (a score is right on its own, whatever its neighbours); on
    PostgreSQL chunks run side by side so both the reads and the writes use more cores."""
    bounds = _bounds(db, chunk)
    if not bounds:
        return 0

    def run(span: tuple[int, int]) -> int:
        with db.transaction() as session:
            return recompute_range(session, rules, now, *span)

    if not db.is_postgres or threads == 1 or len(bounds) == 1:
        return sum(map(run, bounds))
    with ThreadPoolExecutor(threads) as pool:
        return sum(pool.map(run, bounds))


def _bounds(db: Database, chunk: int) -> list[tuple[int, int]]:
    """Id ranges (after, up to) of about `chunk` score rows each, if ids are dense."""
    with db.sessions() as session:
        low, high, count = session.execute(text(
            "SELECT min(contact_id), max(contact_id), count(*) FROM contact_scores")).one()
    if not count:
        return []
    parts = -(-count // chunk)
    step = -(-(high - low + 1) // parts)
    edges = [low - 1 + step * n for n in range(parts)] + [high]
    return list(pairwise(edges))


def recompute_range(session: Session, rules: Rules, now: datetime, after: int,
                    upto: int) -> int:
    """Bring the scores of contacts `after` < id <= `upto` to `now`; returns how many moved."""
    parts = _chunk(session, now, after, upto)
    if parts is None:
        return 0
    ids, scores = moved(parts, rules.half_life)
    write_scores(session, ids, scores)
    return len(ids)


def write_scores(session: Session, ids: np.ndarray, scores: np.ndarray) -> None:
    if not len(ids):
        return
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        _write_postgres(connection.connection.driver_connection, ids, scores)
        return
    connection.exec_driver_sql("UPDATE contacts SET score = ? WHERE id = ?",
                               list(zip(scores.tolist(), ids.tolist(), strict=True)))


# The changed scores go to PostgreSQL as a binary COPY that numpy writes in one pass (an
# array parameter would be dumped value by value in Python), then one joined UPDATE.
_OUT = np.dtype([("n", ">i2"), ("l1", ">i4"), ("id", ">i8"), ("l2", ">i4"), ("score", ">i4")])
_COPY_HEADER = b"PGCOPY\n\xff\r\n\x00" + bytes(8)


def _write_postgres(driver: Any, ids: np.ndarray, scores: np.ndarray) -> None:
    rows = np.empty(len(ids), dtype=_OUT)
    rows["n"], rows["l1"], rows["id"], rows["l2"], rows["score"] = 2, 8, ids, 4, scores
    with driver.cursor() as cursor:
        cursor.execute("CREATE TEMP TABLE IF NOT EXISTS score_moves (id int8, score int4) "
                       "ON COMMIT DELETE ROWS")
        with cursor.copy("COPY score_moves (id, score) FROM STDIN (FORMAT BINARY)") as copy:
            copy.write(_COPY_HEADER + rows.tobytes() + b"\xff\xff")
        cursor.execute("UPDATE contacts AS c SET score = m.score FROM score_moves AS m "
                       "WHERE c.id = m.id")
