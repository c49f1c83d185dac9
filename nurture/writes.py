"""Bulk writes that behave the same on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session


def insert_ignore(session: Session, model: Any, rows: list[dict[str, Any]], key: str) -> None:
    """Insert rows, silently skipping any whose unique `key` already exists."""
    if not rows:
        return
    dialect = session.get_bind().dialect.name
    module = postgresql if dialect == "postgresql" else sqlite
    statement = module.insert(model).on_conflict_do_nothing(index_elements=[key])
    session.execute(statement, rows)
