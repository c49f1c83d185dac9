"""Bulk writes that behave the same on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session


def insert_ignore(session: Session, model: Any, rows: list[dict[str, Any]],
                  key: str) -> list[int]:
    """Insert rows, silently skipping any whose unique `key` already exists. Returns the ids
    of the rows inserted now (from RETURNING: no second lookup by key)."""
    if not rows:
        return []
    dialect = session.get_bind().dialect.name
    module = postgresql if dialect == "postgresql" else sqlite
    statement = module.insert(model).on_conflict_do_nothing(index_elements=[key])
    return list(session.scalars(statement.returning(model.id), rows))
