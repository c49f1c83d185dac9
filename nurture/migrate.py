"""Create or migrate the database schema with Alembic (`nurture init`)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

from nurture.db import Database

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def alembic_config(db: Database) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", db.url.replace("%", "%%"))
    return config


def upgrade(db: Database, revision: str = "head") -> None:
    config = alembic_config(db)
    with db.engine.connect() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)
        connection.commit()


def revision(db: Database, message: str) -> None:
    """Autogenerate a migration from model changes (for developers)."""
    config = alembic_config(db)
    with db.engine.connect() as connection:
        config.attributes["connection"] = connection
        command.revision(config, message=message, autogenerate=True)
