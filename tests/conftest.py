"""Shared fixtures: a runtime per test on SQLite (default) or PostgreSQL, with a frozen clock.
The helpers tests import are in `tests/helpers.py` and `tests/factories.py`.

NURTURE_TEST_DATABASE_URL=postgresql://... runs the suite on PostgreSQL;
NURTURE_TEST_REDIS_URL=redis://... uses Redis as the broker. `.ci/run` sets both in turn.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from nurture.app.runtime import Runtime
from nurture.clock import FrozenClock
from nurture.config import PROJECT_ROOT, Settings
from nurture.db import Database
from nurture.migrate import upgrade
from tests.helpers import REDIS_URL, START, running

PG_URL = os.environ.get("NURTURE_TEST_DATABASE_URL", "")


@pytest.fixture(scope="session")
def database_url(tmp_path_factory) -> str:
    if not PG_URL:
        yield f"sqlite:///{tmp_path_factory.mktemp('db') / 'nurture.db'}"
        return
    name = f"nurture_test_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
        # A test database need not survive a power cut: commits do not wait for the disk.
        conn.execute(text(f'ALTER DATABASE "{name}" SET synchronous_commit = off'))
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


@pytest.fixture
def rt(settings: Settings, clock: FrozenClock) -> Runtime:
    with running(settings, clock) as runtime:
        yield runtime
