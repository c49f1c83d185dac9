"""Retention sweeps: walking an append-only table from its oldest rows, a range of ids at a
time, each range its own short transaction, remembering where the walk stopped.

A table whose old rows are not all pruned (an event kept as the last of its kind for its
contact, a ledger row kept because it stands alone) cannot be walked from its smallest id at
every run as sends are: the kept rows would be read again each time and the walk would never
reach the rows behind them. So each walk keeps its place in `sweep_cursors`; when it meets
rows younger than the cut-off it starts again from the beginning at its next run, so that a
row kept today is looked at again when it may have become prunable.

The cursor row is read FOR UPDATE in the batch's own transaction: two schedulers take turns
on a walk rather than doing its ranges twice. Nothing else locks it, and a batch touches at
most BATCH rows of its table, so a web request writing the same table waits on no sweep.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from sqlalchemy import BigInteger, String, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, Session, mapped_column

from nurture.db import Base
from nurture.unit_of_work import Works

BATCH = 5000  # ids per range: one short transaction each
MAX_BATCHES = 20  # per walk and run of the scheduler's jobs


class SweepCursor(Base):
    """Where a retention walk resumes: the smallest id it has not looked at yet."""

    __tablename__ = "sweep_cursors"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    next_id: Mapped[int] = mapped_column(BigInteger, default=0)


# A step looks at ids from `start` (a range of its own choosing, at most BATCH wide) and
# returns (rows it pruned or folded, the id to resume from), or None when the rows from
# `start` on are younger than the cut-off: the walk is over, the next starts from 0.
Step = Callable[[Session, int], "tuple[int, int] | None"]


def sweep(works: Works, name: str, step: Step, batches: int = MAX_BATCHES) -> int:
    """Run up to `batches` steps of the walk `name`, each in its own transaction; at most
    one lap per call. Returns how many rows the steps pruned or folded."""
    done = 0
    for _ in range(batches):
        with works.transaction() as session:
            cursor = session.get(SweepCursor, name, with_for_update=True)
            if cursor is None:
                cursor = SweepCursor(name=name, next_id=0)
                session.add(cursor)
            moved = step(session, cursor.next_id)
            if moved is None:
                cursor.next_id = 0
                return done
            done, cursor.next_id = done + moved[0], moved[1]
    return done


def first_row(session: Session, id_column: Any, age_column: Any, start: int
              ) -> tuple[int, Any] | None:
    """The first row at or after `start` by primary key, (id, age): how a walk skips the
    gaps that earlier prunes left."""
    row = session.execute(select(id_column, age_column).where(id_column >= start)
                          .order_by(id_column).limit(1)).first()
    return None if row is None else (row[0], row[1])


def add_counts(session: Session, model: type[Base], keys: tuple[str, ...],
               rows: list[dict[str, Any]], column: str = "count") -> None:
    """Upsert rollup rows: insert each, or add its `column` to the row with the same keys
    (INSERT ... ON CONFLICT DO UPDATE on both SQLite and PostgreSQL)."""
    if not rows:
        return
    module = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    statement = module.insert(model)
    target = model.__table__.c[column]
    session.execute(statement.on_conflict_do_update(
        index_elements=list(keys), set_={column: target + statement.excluded[column]}), rows)


def day_of(value: Any) -> date:
    """A date from what `date()` gives: SQLite a string, PostgreSQL a date."""
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])
