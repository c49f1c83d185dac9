"""Alembic environment: run from `nurture init` with the configured engine."""

from alembic import context
from sqlalchemy.engine import Connection

from nurture.db import make_engine
from nurture.models import Base

config = context.config
target_metadata = Base.metadata


def run_migrations_online() -> None:
    connectable = config.attributes.get("connection")
    if connectable is None:
        url = config.get_main_option("sqlalchemy.url")
        if url is None:
            raise RuntimeError("Alembic needs sqlalchemy.url when no connection is given.")
        connectable = make_engine(url)
        with connectable.connect() as connection:
            _run(connection)
    else:
        _run(connectable)


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        user_module_prefix="nurture.db.",
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations_online()
