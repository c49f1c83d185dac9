"""`nurture bench scoring`: events scored per second through the event pipeline, and the
full decay recompute for 1M contacts, on SQLite and on PostgreSQL (when it answers)."""

from __future__ import annotations

import os
import random
import tempfile
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import insert, text

from nurture.app.bench.engine import _postgres
from nurture.app.composition import build
from nurture.config import Settings
from nurture.contacts.models import Contact
from nurture.events.bus import NewEvent
from nurture.events.recorder import record_events
from nurture.migrate import upgrade
from scoring.engine import decay_scores
from scoring.models import ContactScore
from scoring.repository import recompute_all
from scoring.scorer import rules_from

TYPES = ["email.opened", "email.clicked", "page.visited", "page.visited", "content.downloaded",
         "webinar.attended", "trial.seat_activated", "contact.updated"]
BATCH = 1000


def _contacts(rt: Any, count: int, start: int = 0) -> list[int]:
    rng = random.Random(7)
    ids: list[int] = []
    for offset in range(0, count, 50_000):
        rows = [{"email": f"s{i}@example.com", "email_key": f"s{i}@example.com",
                 "industry": rng.choice(["retail", "healthcare", "mining"]),
                 "company_size": rng.choice([5, 120, 2500]), "role": "Head of IT",
                 "country": "FR", "attributes": {}}
                for i in range(start + offset, start + min(count, offset + 50_000))]
        with rt.db.transaction() as session:
            ids += session.scalars(insert(Contact).returning(Contact.id), rows)
    return ids


def _properties(kind: str) -> dict[str, Any]:
    """What each type carries: a contact.updated names fields of the contact (the recorder
    refuses any other key), a page visit its path."""
    return {"role": "Head of IT"} if kind == "contact.updated" else {"path": "/pricing"}


def _pipeline(settings: Settings, events: int, label: str, echo: Callable[[str], None]
              ) -> dict[str, Any]:
    rt = build(settings, with_transport=False)
    upgrade(rt.db)
    ids = _contacts(rt, max(1000, events // 10), start=10_000_000)
    rng = random.Random(11)
    plan = [NewEvent(rng.choice(ids), kind, _properties(kind)) for kind in
            (rng.choice(TYPES) for _ in range(events))]
    echo(f"{label}: recording {events} events in batches of {BATCH}...")
    started = time.perf_counter()
    for index in range(0, events, BATCH):
        with rt.db.transaction() as session:
            record_events(session, rt.subscribers, plan[index:index + BATCH], rt.clock.now())
    seconds = time.perf_counter() - started
    rt.close()
    return {"events": events, "batch": BATCH, "seconds": round(seconds, 2),
            "events_per_second": round(events / seconds)}


def _decay(settings: Settings, contacts: int, label: str, echo: Callable[[str], None]
           ) -> dict[str, Any]:
    rt = build(settings, with_transport=False)
    rules = rules_from()
    if rules is None:
        raise RuntimeError("The scoring rules file has problems; `nurture scoring validate` "
                           "lists them.")
    echo(f"{label}: seeding {contacts} contacts with scores...")
    ids = _contacts(rt, contacts)
    rng = np.random.default_rng(3)
    now = rt.clock.now()
    ages = rng.integers(0, 90 * 86400, len(ids))
    for offset in range(0, len(ids), 50_000):
        chunk = slice(offset, offset + 50_000)
        rows = [{"contact_id": cid, "fit": float(fit), "engagement": float(eng),
                 "engagement_at": now - timedelta(seconds=int(age)), "grade": "C",
                 "fit_facts": {}, "updated_at": now}
                for cid, fit, eng, age in zip(ids[chunk], rng.integers(0, 50, 50_000),
                                              rng.uniform(0, 80, 50_000), ages[chunk],
                                              strict=False)]
        with rt.db.transaction() as session:
            session.execute(insert(ContactScore), rows)
    recompute_all(rt.db, rules, now)  # scores as they stood at seeding time
    if rt.db.is_postgres:
        with rt.db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE contacts, contact_scores"))
    runs = {}
    for name, later in (("hourly_run", timedelta(hours=1)), ("daily_run", timedelta(days=1))):
        echo(f"{label}: recomputing {len(ids)} scores {later} later...")
        started = time.perf_counter()
        changed = recompute_all(rt.db, rules, now + later)
        runs[name] = {"seconds": round(time.perf_counter() - started, 2),
                      "scores_changed": changed}
    started = time.perf_counter()
    decay_scores(rng.uniform(0, 50, contacts), rng.uniform(0, 80, contacts),
                 rng.uniform(0, 9e6, contacts), rules.half_life)
    pure = time.perf_counter() - started
    rt.close()
    return {"contacts": len(ids), **runs, "vectorized_math_seconds": round(pure, 3)}


def run_scoring_bench(base: Settings, events: int = 50_000, contacts: int = 1_000_000,
                      echo: Callable[[str], None] = print) -> dict[str, Any]:
    result: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        targets = [("sqlite", base.with_(database_url=f"sqlite:///{Path(tmp) / 'bench.db'}",
                                         redis_url=None, var_dir=Path(tmp)))]
        pg = _postgres(os.environ.get("BENCH_DATABASE_URL",
                                      "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"))
        if pg:
            targets.append(("postgresql", base.with_(database_url=pg, redis_url=None,
                                                     var_dir=Path(tmp))))
        else:
            result["postgresql"] = "skipped: PostgreSQL is not reachable"
        for label, settings in targets:
            result[label] = {"pipeline": _pipeline(settings, events, label, echo),
                             "decay": _decay(settings, contacts, label, echo)}
    return result
