"""The migrations build exactly the schema the models describe, on the test's database, so
that a column added to a model without its migration (or the other way round) fails here
rather than on a user's upgrade."""

from __future__ import annotations

from datetime import UTC, datetime

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Boolean, DateTime, Integer, MetaData, Table, select

from nurture.db import Database
from nurture.migrate import upgrade
from nurture.models import Base


def test_the_migrated_schema_matches_the_models(migrated: str) -> None:
    db = Database(migrated)
    try:
        with db.engine.connect() as connection:
            differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    finally:
        db.dispose()
    assert differences == [], f"The migrations and the models differ: {differences}"


def _filled(table: Table, **values: object) -> dict:
    """A row for `table`: the values given, and a placeholder in every other required
    column."""
    for column in table.columns:
        if column.name in values or column.nullable or column.primary_key:
            continue
        kind = column.type
        values[column.name] = (0 if isinstance(kind, Integer | Boolean)
                               else datetime(2026, 1, 1, tzinfo=UTC)
                               if isinstance(kind, DateTime) else "x")
    return values


def test_upgrading_turns_the_transactional_flag_into_the_message_class(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    db = Database(url)
    upgrade(db, "0009")
    with db.engine.begin() as connection:
        contacts = Table("contacts", MetaData(), autoload_with=connection)
        sends = Table("sends", MetaData(), autoload_with=connection)
        contact_id = connection.execute(contacts.insert().values(
            _filled(contacts, email_key="ann@example.com"))).inserted_primary_key[0]
        connection.execute(sends.insert(), [
            _filled(sends, send_key="login", transactional=True, contact_id=contact_id),
            _filled(sends, send_key="news", transactional=False, contact_id=contact_id)])
    upgrade(db)
    with db.engine.connect() as connection:
        upgraded = Table("sends", MetaData(), autoload_with=connection)
        classes = dict(connection.execute(select(upgraded.c.send_key,
                                                 upgraded.c.message_class)).all())
    db.dispose()
    assert "transactional" not in upgraded.columns
    assert classes == {"login": "transactional", "news": "marketing"}
