"""Shared fixtures: a runtime per test on SQLite (default) or PostgreSQL, with a frozen clock.

NURTURE_TEST_DATABASE_URL=postgresql://... runs the suite on PostgreSQL;
NURTURE_TEST_REDIS_URL=redis://... uses Redis as the broker. `.ci/run` sets both in turn.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from nurture.app.composition import build
from nurture.app.runtime import Runtime
from nurture.clock import FrozenClock
from nurture.config import PROJECT_ROOT, Settings
from nurture.db import Database
from nurture.migrate import upgrade
from nurture.models import Base

PG_URL = os.environ.get("NURTURE_TEST_DATABASE_URL", "")
REDIS_URL = os.environ.get("NURTURE_TEST_REDIS_URL", "")
START = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)  # a Monday, 10:00 UTC


@pytest.fixture(scope="session")
def database_url(tmp_path_factory) -> str:
    if not PG_URL:
        yield f"sqlite:///{tmp_path_factory.mktemp('db') / 'nurture.db'}"
        return
    name = f"nurture_test_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = PG_URL.rsplit("/", 1)[0] + f"/{name}"
    yield url
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def migrated(database_url: str) -> str:
    db = Database(database_url)
    upgrade(db)
    db.dispose()
    return database_url


def _clean(db: Database) -> None:
    tables = list(reversed(Base.metadata.sorted_tables))
    with db.engine.begin() as conn:
        if db.is_postgres:
            names = ", ".join(t.name for t in tables)
            conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        else:
            for table in tables:
                conn.execute(table.delete())


@pytest.fixture
def settings(migrated: str, tmp_path: Path) -> Settings:
    return Settings(
        database_url=migrated, redis_url=REDIS_URL or None, smtp_url=None,
        secret_key="test-secret-key", base_url="http://localhost:5000", timezone="UTC",
        var_dir=tmp_path, templates_dir=PROJECT_ROOT / "templates", lease_seconds=60,
        api_key="test-api-key", queue_namespace=f"nurture-test-{uuid.uuid4().hex}",
    )


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(START)


@contextmanager
def running(settings: Settings, clock: FrozenClock, workers: int = 4) -> Iterator[Runtime]:
    """A runtime on an empty database with its workers started, closed afterwards: the
    `rt` fixture, for tests that need other settings (`settings.with_(...)`)."""
    runtime = build(settings, clock=clock)
    _clean(runtime.db)
    runtime.transport.start_worker(workers)
    try:
        yield runtime
    finally:
        if runtime.transport is not None and not runtime.transport.in_process:
            runtime.transport.broker.flush_all()
        runtime.close()


@pytest.fixture
def rt(settings: Settings, clock: FrozenClock) -> Runtime:
    with running(settings, clock) as runtime:
        yield runtime
