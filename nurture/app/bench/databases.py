"""The databases a bench runs on: a fresh SQLite file, and a fresh PostgreSQL database of
the bench's own beside BENCH_DATABASE_URL's (when PostgreSQL answers)."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Collection
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text

from nurture.config import Settings

POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def fresh_postgres(url: str, name: str) -> str | None:
    """A fresh database called `name` beside `url`'s, or None when PostgreSQL does not
    answer. The previous run's copy is dropped first."""
    try:
        admin = create_engine(url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            conn.execute(text(f"CREATE DATABASE {name}"))
        admin.dispose()
    except Exception:
        return None
    return url.rsplit("/", 1)[0] + "/" + name


def on_each(base: Settings, databases: Collection[str], name: str,
            measure: Callable[[Settings, str], dict[str, Any]]) -> dict[str, Any]:
    """`measure(settings, label)` on each chosen database ("sqlite", "postgresql"), with no
    Redis and a temporary var directory; PostgreSQL is reported skipped when it is down."""
    result: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        if "sqlite" in databases:
            result["sqlite"] = measure(base.with_(
                database_url=f"sqlite:///{Path(tmp) / 'bench.db'}", redis_url=None,
                var_dir=Path(tmp)), "sqlite")
        if "postgresql" in databases:
            url = fresh_postgres(os.environ.get("BENCH_DATABASE_URL", POSTGRES), name)
            result["postgresql"] = (
                measure(base.with_(database_url=url, redis_url=None, var_dir=Path(tmp)),
                        "postgresql")
                if url else "skipped: PostgreSQL is not reachable")
    return result
