"""`nurture bench segments --contacts N`: how long counting typical segments takes over N
contacts with a realistic history, on SQLite and on PostgreSQL (when it answers).

The goal (a benchmark, not a test): at most 1 s per count on 100,000 contacts on either
database, at most 2 s on 1,000,000 on PostgreSQL.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlalchemy import insert, text
from sqlalchemy.dialects.postgresql import JSONB

from nurture.app.bench.databases import on_each
from nurture.app.composition import build
from nurture.audiences import services
from nurture.config import Settings
from nurture.contacts.models import Contact, ContactList, ListMember
from nurture.events.models import Event
from nurture.migrate import upgrade
from scoring.models import ContactScore

SEGMENTS = {
    "retail trialists": "stage == 'try' and vertical == 'retail'",
    "readers, not clickers": "opened('30d') >= 2 and not clicked('30d')",
    "active on the site": "count('page.viewed', '14d') >= 3 or has('demo.requested', '30d')",
    "VIP, grade A or B": "in_list('VIP') and grade in ['A', 'B']",
    "unhappy pro customers": "nps.category == 'detractor' and attributes.plan == 'pro'",
    "big French accounts": "attributes.seats > 10 and language == 'fr' and not in_list('VIP')",
}
BATCH = 20_000
DATABASE = "nurture_bench_segments"



def _seed(rt: Any, contacts: int, echo: Callable[[str], None]) -> None:
    rng = random.Random(19)
    now = rt.clock.now()
    with rt.db.transaction() as session:
        vip = session.scalar(insert(ContactList).values(name="VIP").returning(ContactList.id))
    kinds = ["email.opened", "email.opened", "email.clicked", "page.viewed", "page.viewed",
             "demo.requested"]
    for start in range(0, contacts, BATCH):
        people, events, scores, members = [], [], [], []
        for i in range(start, min(contacts, start + BATCH)):
            attributes: dict[str, Any] = {}
            if rng.random() < 0.6:
                attributes["plan"] = rng.choice(["free", "pro", "enterprise"])
            if rng.random() < 0.5:
                attributes["seats"] = rng.randint(1, 40)
            people.append({**CONTACT, "id": i + 1, "email": f"b{i}@example.com",
                           "email_key": f"b{i}@example.com",
                           "stage": rng.choice(["learn", "learn", "try", "buy", "onboard",
                                                "adopt"]),
                           "industry": rng.choice(["retail", "healthcare", "financial-services",
                                                   ""]),
                           "language": rng.choice(["", "en", "fr", "fr-CH", "de"]),
                           "score": rng.randint(0, 100), "attributes": attributes,
                           "created_at": now, "updated_at": now})
            for _ in range(rng.randint(0, 6)):
                kind = rng.choice(kinds)
                properties = {"machine": rng.random() < 0.3} if kind == "email.opened" else {}
                events.append({"contact_id": i + 1, "type": kind, "properties": properties,
                               "occurred_at": now - timedelta(minutes=rng.randint(0, 90 * 1440)),
                               "recorded_at": now, "source": "bench"})
            if rng.random() < 0.1:
                events.append({"contact_id": i + 1, "type": "nps.answered", "occurred_at":
                               now - timedelta(days=rng.randint(0, 200)), "properties": {
                                   "category": rng.choice(["promoter", "passive", "detractor"])},
                               "recorded_at": now, "source": "bench"})
            if rng.random() < 0.7:
                scores.append({"contact_id": i + 1, "grade": rng.choice("ABCD"), "fit": 0.0,
                               "engagement": 0.0, "fit_facts": {}, "updated_at": now})
            if rng.random() < 0.05:
                members.append({"list_id": vip, "contact_id": i + 1, "added_at": now,
                                "source": "bench"})
        for table, rows in ((Contact.__table__, people), (Event.__table__, events),
                            (ContactScore.__table__, scores), (ListMember.__table__, members)):
            _write(rt, table, rows)
        echo(f"  seeded {min(contacts, start + BATCH):,} contacts")


# Every column of a contact a bench row does not choose, as the model's defaults give them.
CONTACT: dict[str, Any] = {
    "first_name": "", "last_name": "", "phone": "", "company": "", "role": "",
    "country": "FR", "timezone": "", "consent_marketing": True, "consent_source": "bench",
    "email_topics": [], "email_frequency": "normal"}


def _write(rt: Any, table: Any, rows: list[dict[str, Any]]) -> None:
    """The rows into the table: COPY on PostgreSQL (a million contacts and their events in
    minutes, not the better part of an hour), one executemany on SQLite."""
    if not rows:
        return
    if not rt.db.is_postgres:
        with rt.db.transaction() as session:
            session.execute(insert(table), rows)
        return
    columns = list(rows[0])
    json_columns = {c for c in columns if isinstance(table.c[c].type.dialect_impl(
        rt.db.engine.dialect), JSONB)}
    raw = rt.db.engine.raw_connection()
    try:
        with raw.cursor() as cursor, cursor.copy(
                f"COPY {table.name} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row([json.dumps(row[c]) if c in json_columns else row[c]
                                for c in columns])
        raw.commit()
    finally:
        raw.close()


def _measure(settings: Settings, contacts: int, label: str,
             echo: Callable[[str], None]) -> dict[str, Any]:
    rt = build(settings, with_transport=False)
    try:
        upgrade(rt.db)
        echo(f"{label}: seeding {contacts:,} contacts with their history...")
        started = time.perf_counter()
        _seed(rt, contacts, echo)
        seeded = time.perf_counter() - started
        with rt.db.engine.connect() as conn:  # fresh statistics, as autovacuum would give
            conn.execute(text("ANALYZE"))
            conn.commit()
        counts: dict[str, Any] = {}
        for name, condition in SEGMENTS.items():
            timings, found = [], 0
            for _ in range(3):
                with rt.db.sessions() as session:
                    began = time.perf_counter()
                    found = services.count(session, condition, rt.clock.now())
                    timings.append(time.perf_counter() - began)
            counts[name] = {"condition": condition, "contacts": found,
                            "first_seconds": round(timings[0], 3),
                            "best_seconds": round(min(timings), 3)}
            echo(f"  {name}: {found:,} in {timings[0]:.3f} s (best {min(timings):.3f} s)")
        slowest = max(c["first_seconds"] for c in counts.values())
        return {"contacts": contacts, "seed_seconds": round(seeded, 1),
                "slowest_first_count_seconds": slowest, "segments": counts}
    finally:
        rt.close()


def run_segments_bench(base: Settings, contacts: int, only: str = "both",
                       echo: Callable[[str], None] = print) -> dict[str, Any]:
    databases = ("sqlite", "postgresql") if only == "both" else (only,)
    return on_each(base, databases, DATABASE,
                   lambda settings, label: _measure(settings, contacts, label, echo))
