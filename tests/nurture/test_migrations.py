"""The migrations build exactly the schema the models describe, on the test's database, so
that a column added to a model without its migration (or the other way round) fails here
rather than on a user's upgrade."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from nurture.db import Database
from nurture.models import Base


def test_the_migrated_schema_matches_the_models(migrated: str) -> None:
    db = Database(migrated)
    try:
        with db.engine.connect() as connection:
            differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    finally:
        db.dispose()
    assert differences == [], f"The migrations and the models differ: {differences}"
