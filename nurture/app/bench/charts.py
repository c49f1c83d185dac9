"""`nurture bench charts --contacts N`: how long the home page's charts take to read a year
of history: N contacts, about ten sends each over 365 days, and their opens, clicks,
unsubscribes and bounces, on SQLite and on PostgreSQL (when it answers).

The goal (a benchmark, not a test): the figures for 365 days in at most 1 s with 100,000
contacts (a million sends) on either database; they are grouped per day by the database
through the indexes on sends' `sent_at` and events' (type, occurred_at).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlalchemy import insert, text

from nurture.app.bench.databases import on_each
from nurture.app.bench.segments import CONTACT, _write
from nurture.app.composition import build
from nurture.app.reports import home
from nurture.config import Settings
from nurture.contacts.models import Contact
from nurture.events.models import Event
from nurture.migrate import upgrade
from nurture.sending.models import Send

BATCH = 10_000
DATABASE = "nurture_bench_charts"
SENDS_PER_CONTACT = 10
HITS = (("email.opened", 0.4), ("email.clicked", 0.1), ("email.unsubscribed", 0.005),
        ("email.bounced", 0.01))



def _seed(rt: Any, contacts: int, echo: Callable[[str], None]) -> int:
    rng, now, made = random.Random(20), rt.clock.now(), 0
    for start in range(0, contacts, BATCH):
        people, sends, events = [], [], []
        for i in range(start, min(contacts, start + BATCH)):
            people.append({**CONTACT, "id": i + 1, "email": f"c{i}@example.com",
                           "email_key": f"c{i}@example.com", "stage": "learn",
                           "industry": "", "language": "", "score": 0, "attributes": {},
                           "created_at": now, "updated_at": now})
            for n in range(SENDS_PER_CONTACT):
                at = now - timedelta(minutes=rng.randint(0, 365 * 1440))
                key = f"c{i}-{n}"
                sends.append({"send_key": key, "contact_id": i + 1,
                              "to_email": f"c{i}@example.com", "template": "news",
                              "status": "sent", "role": "contact", "created_at": at,
                              "sent_at": at})
                events += [{"contact_id": i + 1, "type": kind, "properties": {"send": key},
                            "occurred_at": at + timedelta(hours=1), "recorded_at": now,
                            "source": "bench"} for kind, chance in HITS if rng.random() < chance]
        _write(rt, Contact.__table__, people)
        with rt.db.transaction() as session:  # the model's defaults fill a send's columns
            session.execute(insert(Send), sends)
        _write(rt, Event.__table__, events)
        made += len(sends)
        echo(f"  seeded {min(contacts, start + BATCH):,} contacts, {made:,} sends")
    return made


def _measure(settings: Settings, contacts: int, label: str,
             echo: Callable[[str], None]) -> dict[str, Any]:
    rt = build(settings, with_transport=False)
    try:
        upgrade(rt.db)
        echo(f"{label}: seeding {contacts:,} contacts and a year of their email...")
        sends = _seed(rt, contacts, echo)
        with rt.db.engine.connect() as conn:  # fresh statistics, as autovacuum would give
            conn.execute(text("ANALYZE"))
            conn.commit()
        result: dict[str, Any] = {"contacts": contacts, "sends": sends}
        for days in (30, 90, 365):
            timings = []
            for _ in range(3):
                began = time.perf_counter()
                home.daily(rt.db, rt.clock.now(), days)
                home.waiting(rt.db, rt.clock.now())
                timings.append(time.perf_counter() - began)
            result[f"{days}_days_first_seconds"] = round(timings[0], 3)
            result[f"{days}_days_best_seconds"] = round(min(timings), 3)
            echo(f"  {days} days: {timings[0]:.3f} s (best {min(timings):.3f} s)")
        return result
    finally:
        rt.close()


def run_charts_bench(base: Settings, contacts: int, chosen: tuple[str, ...],
                     echo: Callable[[str], None] = print) -> dict[str, Any]:
    return on_each(base, chosen, DATABASE,
                   lambda settings, label: _measure(settings, contacts, label, echo))
