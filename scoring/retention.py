"""Folding old rows of the score ledger. An engagement row is worth `delta * 0.5 **
((now - at) / half_life)` at any later time, so the rows of one contact and rule up to a
time T are worth exactly one row at T of `sum(delta * 0.5 ** ((T - at) / half_life))`,
today and on every later day: the score, its explanation and the reasons of a hand-off
(`scoring.engine.explain`) add up as before, and the folded row's `entries` keeps how many
changes it stands for, so "12 events" still reads 12.

Rows older than NURTURE_SCORE_LEDGER_DAYS (default 365; with the default half-life of 30
days they are worth a 4,000th of what they gave) are folded, a contact and rule at a time,
into one "carried forward" row (no event). Never closer than MIN_DAYS: the caps read the
rows of their day, week or month, and the hand-off's velocity its last 14 days. Fit and
non-decaying rows are few and stay as they are.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from nurture.config import Settings
from nurture.sweeps import BATCH, MAX_BATCHES, first_row, sweep
from nurture.unit_of_work import Works
from nurture.writes import bulk_insert
from scoring.engine import decay_factor
from scoring.models import ScoreEntry
from scoring.subscriber import setup_for

MIN_DAYS = 90


def retention(settings: Settings) -> timedelta:
    return timedelta(days=max(settings.retention.score_ledger_days, MIN_DAYS))


def fold_ledger(session: Session, start: int, cutoff: datetime, half_life: timedelta,
                batch: int = BATCH) -> tuple[int, int] | None:
    """Fold the old engagement rows of every contact and rule met among `batch` ids from
    the first at or after `start`. (rows folded away, next start), or None past the
    cut-off."""
    first = first_row(session, ScoreEntry.id, ScoreEntry.at, start)
    if first is None or first[1] >= cutoff:
        return None
    old = (ScoreEntry.kind == "engagement", ScoreEntry.at < cutoff)
    pairs = {(cid, rule) for cid, rule in session.execute(
        select(ScoreEntry.contact_id, ScoreEntry.rule).distinct()
        .where(ScoreEntry.id >= first[0], ScoreEntry.id < first[0] + batch, *old))}
    groups: dict[tuple[int, str], list[tuple[int, float, datetime, int]]] = defaultdict(list)
    if pairs:
        for id_, cid, rule, delta, at, entries in session.execute(
                select(ScoreEntry.id, ScoreEntry.contact_id, ScoreEntry.rule, ScoreEntry.delta,
                       ScoreEntry.at, ScoreEntry.entries)
                .where(ScoreEntry.contact_id.in_({c for c, _ in pairs}), *old)):
            if (cid, rule) in pairs:
                groups[(cid, rule)].append((id_, delta, at, entries or 1))
    folded, gone = [], []
    for (cid, rule), rows in sorted(groups.items()):
        if len(rows) < 2:  # a row alone is its own summary
            continue
        last = max(at for _, _, at, _ in rows)
        folded.append({
            "contact_id": cid, "kind": "engagement", "rule": rule, "event_id": None, "at": last,
            "delta": sum(d * decay_factor(last - at, half_life) for _, d, at, _ in rows),
            "entries": sum(n for *_, n in rows)})
        gone += [id_ for id_, *_ in rows]
    for k in range(0, len(gone), BATCH):
        session.execute(delete(ScoreEntry).where(ScoreEntry.id.in_(gone[k:k + BATCH]))
                        .execution_options(synchronize_session=False))
    bulk_insert(session, ScoreEntry, folded)
    return len(gone) - len(folded), first[0] + batch


def run_retention_jobs(works: Works, settings: Settings, batches: int = MAX_BATCHES
                       ) -> dict[str, int]:
    """The periodic ledger work, for the scheduler: fold old engagement rows (nothing
    while the rules file is invalid: the half-life is in it)."""
    setup = setup_for(settings)
    if setup is None:
        return {"folded": 0}
    cutoff, half_life = works.now() - retention(settings), setup.rules.half_life
    return {"folded": sweep(works, "score_ledger",
                            lambda s, start: fold_ledger(s, start, cutoff, half_life), batches)}
