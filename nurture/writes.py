"""Bulk writes that behave the same on SQLite and PostgreSQL.

Batches of UNNEST_FROM rows or more skip the ORM's per-row bookkeeping (a third of the
journey writer's time): on SQLite they go as the driver's executemany, or as one multi-row
INSERT ... RETURNING where the new ids are needed.

On PostgreSQL a large batch goes as one statement whose parameters are one array per
column (`unnest`): executemany would run a statement per row on the server, and a
multi-row VALUES list of thousands of parameters costs more to build and parse than the
write itself. The arrays go in PostgreSQL's binary format: the text format escapes every
element in Python and PostgreSQL parses it back, five times the cost (measured: 20 ms
against 4.6 ms for 500 rows of 16 columns); `pgarrays` builds them a column at a time.
Values pass through SQLAlchemy's own bind processing, and columns a row leaves out get the
model's defaults, as with an ORM insert.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator
from typing import Any

from sqlalchemy import Column, ColumnDefault, Table, insert, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session

from nurture.db import Base
from nurture.pgarrays import Encoded, encode

UNNEST_FROM = 50  # rows; smaller batches keep the ORM path
_SQLITE_VARIABLES = 32766  # SQLite's limit on parameters in one statement


def insert_ignore(session: Session, model: type[Base], rows: list[dict[str, Any]],
                  key: str) -> list[int]:
    """Insert rows, silently skipping any whose unique `key` already exists. Returns the ids
    of the rows inserted now (from RETURNING: no second lookup by key)."""
    return [r[0] for r in _insert_ignore(session, model, rows, key, "id")]


def insert_ignore_keyed(session: Session, model: type[Base], rows: list[dict[str, Any]],
                        key: str) -> dict[Any, int]:
    """`insert_ignore`, the ids of the rows inserted now by their `key`."""
    column = model.__table__.c[key].name
    return {r[1]: r[0] for r in _insert_ignore(session, model, rows, key, f'id, "{column}"')}


def _insert_ignore(session: Session, model: type[Base], rows: list[dict[str, Any]],
                   key: str, returning: str) -> list[Any]:
    if not rows:
        return []
    dialect = session.get_bind().dialect
    table = model.__table__
    conflict = f' ON CONFLICT ("{table.c[key].name}") DO NOTHING RETURNING {returning}'
    if _unnest_fits(dialect, rows):
        sql, arrays = _insert(dialect, table, rows)
        return list(session.connection().exec_driver_sql(sql + conflict, arrays))
    if _sqlite_fits(dialect, rows):
        return [r for found in _sqlite_returning(session, table, rows, conflict) for r in found]
    module = postgresql if dialect.name == "postgresql" else sqlite
    statement = module.insert(model).on_conflict_do_nothing(index_elements=[key])
    return list(session.execute(statement.returning(table.c.id, table.c[key]), rows))


def insert_returning(session: Session, model: type[Base], rows: list[dict[str, Any]]
                     ) -> list[int]:
    """Insert rows; their new ids, in the rows' order. The ids of an autoincrement key are
    handed out in the order the rows go in (PostgreSQL: the ORDER BY on the arrays'
    ordinality; SQLite: the VALUES' order), so the returned ids sorted are the rows' ids in
    order: the guarantee SQLAlchemy's own `sort_by_parameter_order` rests on."""
    if not rows:
        return []
    dialect = session.get_bind().dialect
    table = model.__table__
    if _unnest_fits(dialect, rows):
        columns = _insert_columns(table, rows)
        arrays, casts = _columns(dialect, columns, rows)
        names = ", ".join(f'"{c.name}"' for c in columns)
        sql = (f'INSERT INTO "{table.name}" ({names}) SELECT {names} FROM '
               f'unnest({", ".join(casts)}) WITH ORDINALITY AS d({names}, ordinality) '
               "ORDER BY ordinality RETURNING id")
        return sorted(r[0] for r in session.connection().exec_driver_sql(sql, arrays))
    if _sqlite_fits(dialect, rows):
        return [i for found in _sqlite_returning(session, table, rows, " RETURNING id")
                for i in sorted(r[0] for r in found)]
    statement = insert(model).returning(table.c.id, sort_by_parameter_order=True)
    return list(session.scalars(statement, rows))


def _sqlite_returning(session: Session, table: Table, rows: list[dict[str, Any]],
                      tail: str) -> Iterator[list[Any]]:
    """Multi-row INSERTs on SQLite, as many rows each as its parameter limit allows, with
    `tail` (an ON CONFLICT and a RETURNING id) after the VALUES: each one's rows returned."""
    head, values = _sqlite_insert(session.get_bind().dialect, table, rows)
    width = len(values[0])
    one = "(" + ", ".join(["?"] * width) + ")"
    step = _SQLITE_VARIABLES // width
    for k in range(0, len(values), step):
        chunk = values[k:k + step]
        flat = tuple(value for row in chunk for value in row)
        sql = f"{head} VALUES {', '.join([one] * len(chunk))}{tail}"
        yield list(session.connection().exec_driver_sql(sql, flat))


def bulk_insert(session: Session, model: type[Base], rows: list[dict[str, Any]]) -> None:
    """Insert rows (an ORM bulk insert, as one array statement on PostgreSQL)."""
    if not rows:
        return
    dialect = session.get_bind().dialect
    if _unnest_fits(dialect, rows):
        session.connection().exec_driver_sql(*_insert(dialect, model.__table__, rows))
    elif _sqlite_fits(dialect, rows):
        head, values = _sqlite_insert(dialect, model.__table__, rows)
        marks = ", ".join(["?"] * len(values[0]))
        session.connection().exec_driver_sql(f"{head} VALUES ({marks})", values)
    else:
        session.execute(insert(model), rows)


def bulk_update(session: Session, model: type[Base], rows: list[dict[str, Any]],
                key: str = "id") -> None:
    """Update rows by their primary key (`key`); each row names the columns it changes."""
    if not rows:
        return
    dialect = session.get_bind().dialect
    if dialect.name not in ("postgresql", "sqlite") or len(rows) < UNNEST_FROM:
        session.execute(update(model), rows)
        return
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        groups[tuple(row)].append(row)
    table = model.__table__
    for keys, group in groups.items():
        stamped = any(c.onupdate is not None and c.key not in keys for c in table.columns)
        if len(group) < UNNEST_FROM or stamped:  # the ORM sets `onupdate` columns
            session.execute(update(model), group)
            continue
        columns = [table.c[k] for k in keys]
        where = table.c[key]
        if dialect.name == "sqlite":  # executemany of UPDATE ... WHERE id = ?
            changed = [c for c in columns if c.key != key]
            sets = ", ".join(f'"{c.name}" = ?' for c in changed)
            values = list(zip(*_processed(dialect, [*changed, where], group),
                              strict=True))
            session.connection().exec_driver_sql(
                f'UPDATE "{table.name}" SET {sets} WHERE "{where.name}" = ?', values)
            continue
        arrays, casts = _columns(dialect, columns, group)
        names = [f'"{c.name}"' for c in columns]
        sets = ", ".join(f"{n} = d.{n}" for c, n in zip(columns, names, strict=True)
                         if c.key != key)
        session.connection().exec_driver_sql(
            f'UPDATE "{table.name}" SET {sets} FROM unnest({", ".join(casts)}) '
            f'AS d({", ".join(names)}) WHERE "{table.name}"."{where.name}" = '
            f'd."{where.name}"', arrays)


def _unnest_fits(dialect: Dialect, rows: list[dict[str, Any]]) -> bool:
    return _fits(dialect, rows, "postgresql")


def _sqlite_fits(dialect: Dialect, rows: list[dict[str, Any]]) -> bool:
    return _fits(dialect, rows, "sqlite")


def _fits(dialect: Dialect, rows: list[dict[str, Any]], name: str) -> bool:
    """A batch for the fast path: this database, enough rows, all naming the same keys."""
    if dialect.name != name or len(rows) < UNNEST_FROM:
        return False
    keys = rows[0].keys()
    return all(row.keys() == keys for row in rows)


def _insert_columns(table: Table, rows: list[dict[str, Any]]) -> list[Column[Any]]:
    """The columns the rows give, then those they leave out that have a default."""
    columns = [c for c in table.columns if c.key in rows[0]]
    return columns + [c for c in table.columns
                      if c.key not in rows[0] and c.default is not None]


def _sqlite_insert(dialect: Dialect, table: Table, rows: list[dict[str, Any]]
                   ) -> tuple[str, list[tuple[Any, ...]]]:
    """`INSERT INTO t (...)` and one processed tuple of values per row."""
    columns = _insert_columns(table, rows)
    names = ", ".join(f'"{c.name}"' for c in columns)
    values = list(zip(*_processed(dialect, columns, rows), strict=True))
    return f'INSERT INTO "{table.name}" ({names})', values


def _insert(dialect: Dialect, table: Table, rows: list[dict[str, Any]]
            ) -> tuple[str, dict[str, Encoded | list[Any]]]:
    """`INSERT ... SELECT * FROM unnest(...)` and its arrays."""
    columns = _insert_columns(table, rows)
    arrays, casts = _columns(dialect, columns, rows)
    names = ", ".join(f'"{c.name}"' for c in columns)
    sql = f'INSERT INTO "{table.name}" ({names}) SELECT * FROM unnest({", ".join(casts)})'
    return sql, arrays


def _columns(dialect: Dialect, columns: list[Column[Any]], rows: list[dict[str, Any]]
             ) -> tuple[dict[str, Encoded | list[Any]], list[str]]:
    """One processed array per column (defaults for columns the rows leave out), and the
    typed placeholders to unnest them."""
    types = [column.type.dialect_impl(dialect).compile(dialect=dialect) for column in columns]
    arrays = {f"c{i}": encode(types[i], values) or values
              for i, values in enumerate(_processed(dialect, columns, rows))}
    return arrays, [f"%(c{i})b::{name}[]" for i, name in enumerate(types)]


def _processed(dialect: Dialect, columns: list[Column[Any]], rows: list[dict[str, Any]]
               ) -> list[list[Any]]:
    """Per column, the rows' values through SQLAlchemy's bind processing; the column's
    default for rows that leave it out."""
    out = []
    for column in columns:
        process = column.type.dialect_impl(dialect).bind_processor(dialect)
        if column.key in rows[0]:
            values = [row[column.key] for row in rows]
        else:
            default = column.default
            if not isinstance(default, ColumnDefault):  # a Sequence: the database's to give
                raise TypeError(f"Column {column.key} has no default to write in bulk.")
            values = [default.arg(_Row(row)) if default.is_callable else default.arg
                      for row in rows]
        out.append(values if process is None else _each(process, values))
    return out


class _Row:
    """What a context-sensitive default (`default=fn(context)`) reads of the row it fills,
    as SQLAlchemy's execution context gives it: the row's own values."""

    def __init__(self, row: dict[str, Any]):
        self.row = row

    def get_current_parameters(self, isolate_multiinsert_groups: bool = True
                               ) -> dict[str, Any]:
        return self.row


def _each(process: Callable[[Any], Any], values: list[Any]) -> list[Any]:
    """`process` over values, once per distinct object: a batch's rows share their times
    (one `now`) and often a dict (an import's event properties), and a date costs 2.4 µs
    to convert. (`values` holds every object meanwhile, so no id is reused.)"""
    done: dict[int, Any] = {}
    out = []
    for value in values:
        key = id(value)
        if key not in done:
            done[key] = process(value)
        out.append(done[key])
    return out
