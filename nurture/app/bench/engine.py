"""`nurture bench engine`: claim + enqueue and advance rates at 100k due, and simulator speed.

Runs on a temporary SQLite file with the in-process broker, and on PostgreSQL with Redis when
they answer on 127.0.0.1 (BENCH_DATABASE_URL / BENCH_REDIS_URL override).
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, insert, select, text

from journeys.loader import load_file, load_text
from journeys.models import Enrollment
from journeys.services import publish
from journeys.simulator import simulate
from nurture.app.composition import build
from nurture.app.scheduler.loop import claim_and_enqueue
from nurture.app.tasks import run_advance
from nurture.config import Settings
from nurture.contacts.models import Contact
from nurture.migrate import upgrade

JOURNEY = """
id: bench
name: Bench
entry: {event: contact.created}
steps:
  - {id: hello, send: trial-welcome, class: transactional}
  - {id: pause, wait: 1d}
  - {id: tips, send: trial-activation-tips}
"""


def _seed(rt: Any, contacts: int) -> None:
    with rt.db.transaction() as session:
        publish(session, load_text(JOURNEY, "bench.yaml"))
        version_id = session.execute(text("SELECT max(id) FROM journey_versions")).scalar()
    now = rt.clock.now() - timedelta(seconds=1)
    for start in range(0, contacts, 10000):
        rows = [{"email": f"b{i}@example.com", "email_key": f"b{i}@example.com",
                 "timezone": "UTC", "attributes": {}} for i in range(start,
                                                                    min(contacts, start + 10000))]
        with rt.db.transaction() as session:
            ids = list(session.scalars(insert(Contact).returning(Contact.id), rows))
            session.execute(insert(Enrollment), [
                {"contact_id": cid, "journey_id": "bench", "journey_version_id": version_id,
                 "status": "active", "state": {}, "entered_at": now, "next_run_at": now}
                for cid in ids])
    if rt.db.engine.dialect.name == "postgresql":
        # What autovacuum does to a live table: statistics, hint bits, visibility map.
        with rt.db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE contacts, enrollments"))


def _measure(settings: Settings, contacts: int, label: str,
             echo: Callable[[str], None]) -> dict[str, Any]:
    rt = build(settings)
    upgrade(rt.db)
    echo(f"{label}: seeding {contacts} contacts due at once...")
    _seed(rt, contacts)
    started = time.perf_counter()
    claim_and_enqueue(rt, "advance_enrollments")  # what the scheduler's tick does
    claim_seconds = time.perf_counter() - started
    with rt.db.sessions() as session:
        claimed = list(session.scalars(select(Enrollment.id).where(
            Enrollment.lease_until.is_not(None)).order_by(Enrollment.id)))
    echo(f"{label}: claimed and enqueued {len(claimed)} in {claim_seconds:.2f}s; advancing...")
    started = time.perf_counter()
    for index in range(0, len(claimed), settings.message_batch):
        run_advance(rt, claimed[index:index + settings.message_batch])
    advance_seconds = time.perf_counter() - started
    if rt.transport is not None:
        rt.transport.broker.flush_all()
    rt.close()
    return {"due": len(claimed), "ids_per_message": settings.message_batch,
            "claim_statement_rows": settings.claim_batch,
            "claim_threads": settings.claim_threads if rt.db.is_postgres else 1,
            "claim_enqueue_seconds": round(claim_seconds, 3),
            "claim_enqueue_seconds_per_100k": round(claim_seconds * 100000 / len(claimed), 3),
            "advance_seconds": round(advance_seconds, 2),
            "advanced_per_second_one_process": round(len(claimed) / advance_seconds)}


def _postgres(url: str, name: str = "nurture_bench") -> str | None:
    """A new, empty database `name` on the server of `url`; its URL (None: unreachable)."""
    try:
        admin = create_engine(url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            conn.execute(text(f"CREATE DATABASE {name}"))
        admin.dispose()
    except Exception:
        return None
    return url.rsplit("/", 1)[0] + f"/{name}"


def run_engine_bench(base: Settings, contacts: int, sim_contacts: int,
                     echo: Callable[[str], None] = print) -> dict[str, Any]:
    result: dict[str, Any] = {"contacts_due": contacts}
    with tempfile.TemporaryDirectory() as tmp:
        sqlite = base.with_(database_url=f"sqlite:///{Path(tmp) / 'bench.db'}", redis_url=None,
                            var_dir=Path(tmp))
        result["sqlite_inprocess"] = _measure(sqlite, contacts, "sqlite", echo)
        pg = _postgres(os.environ.get("BENCH_DATABASE_URL",
                                      "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"))
        if pg:
            redis_url = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
            settings = base.with_(database_url=pg, redis_url=redis_url, var_dir=Path(tmp),
                                  queue_namespace="nurture-bench")
            result["postgresql_redis"] = _measure(settings, contacts, "postgresql+redis", echo)
        else:
            result["postgresql_redis"] = "skipped: PostgreSQL is not reachable"
    loaded = load_file(base.journeys_dir / "trial-nurture.yaml")
    if loaded.journey is None:
        raise RuntimeError("\n".join(map(str, loaded.violations)))
    journey = loaded.journey
    started = time.perf_counter()
    simulate(journey, sim_contacts, 90, 1)
    seconds = time.perf_counter() - started
    result["simulator"] = {"journey": "trial-nurture", "contacts": sim_contacts, "days": 90,
                           "seconds": round(seconds, 2)}
    return result
