"""Bulk writes that behave the same on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session

# From this many rows, PostgreSQL gets one array per column (below): a multi-row VALUES
# list of thousands of parameters costs more to build and parse than the insert itself.
UNNEST_FROM = 50


def insert_ignore(session: Session, model: Any, rows: list[dict[str, Any]],
                  key: str) -> list[int]:
    """Insert rows, silently skipping any whose unique `key` already exists. Returns the ids
    of the rows inserted now (from RETURNING: no second lookup by key)."""
    if not rows:
        return []
    dialect = session.get_bind().dialect
    if dialect.name == "postgresql" and len(rows) >= UNNEST_FROM:
        same_keys = rows[0].keys()
        if all(row.keys() == same_keys for row in rows):
            return _insert_unnest(session, dialect, model.__table__, rows, key)
    module = postgresql if dialect.name == "postgresql" else sqlite
    statement = module.insert(model).on_conflict_do_nothing(index_elements=[key])
    return list(session.scalars(statement.returning(model.id), rows))


def _insert_unnest(session: Session, dialect: Dialect, table: Any,
                   rows: list[dict[str, Any]], key: str) -> list[int]:
    """`INSERT ... SELECT * FROM unnest(array, array, ...)`: one short statement whose
    parameters are one array per column, with SQLAlchemy's defaults and bind processing."""
    columns = [c for c in table.columns if c.key in rows[0]]
    defaults = [c for c in table.columns if c.key not in rows[0] and c.default is not None]
    arrays: dict[str, list[Any]] = {}
    casts = []
    for i, column in enumerate([*columns, *defaults]):
        impl = column.type.dialect_impl(dialect)
        process = impl.bind_processor(dialect) or (lambda value: value)
        if column in columns:
            values = [process(row[column.key]) for row in rows]
        else:
            default = column.default
            values = [process(default.arg(None) if default.is_callable else default.arg)
                      for _ in rows]
        arrays[f"c{i}"] = values
        casts.append(f"%(c{i})s::{impl.compile(dialect=dialect)}[]")
    names = ", ".join(f'"{c.name}"' for c in [*columns, *defaults])
    sql = (f'INSERT INTO "{table.name}" ({names}) SELECT * FROM unnest({", ".join(casts)}) '
           f'ON CONFLICT ("{table.c[key].name}") DO NOTHING RETURNING id')
    return [row[0] for row in session.connection().exec_driver_sql(sql, arrays)]
