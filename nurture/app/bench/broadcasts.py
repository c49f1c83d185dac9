"""`nurture bench broadcasts --contacts N`: how long making a broadcast's sends takes for an
audience of N contacts on a list (INSERT ... SELECT in batches, at 10:00 in each of their
zones, with a 20% A/B sample), reading its progress, deciding its test, reading its page
(progress, test and report) with half of it sent, and cancelling what is left, on SQLite
and on PostgreSQL (when it answers).

The goal (a benchmark, not a test): 100,000 recipients made in seconds, not minutes.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import insert, text, update

from nurture.app.bench.databases import on_each
from nurture.app.bench.segments import CONTACT, _write
from nurture.app.composition import build
from nurture.broadcasts import plan, queries, services
from nurture.config import Settings
from nurture.contacts.models import Contact, ContactList, ListMember
from nurture.migrate import upgrade
from nurture.sending.models import Send

BATCH = 20_000
DATABASE = "nurture_bench_broadcasts"
ZONES = ["", "Europe/Berlin", "Europe/London", "America/New_York", "America/Los_Angeles",
         "Asia/Tokyo", "Australia/Sydney", "Asia/Kolkata"]



def _seed(rt: Any, contacts: int) -> None:
    now = rt.clock.now()
    with rt.db.transaction() as session:
        readers = session.scalar(insert(ContactList).values(
            name="Readers", description="", created_at=now, created_by="bench")
            .returning(ContactList.id))
    for start in range(0, contacts, BATCH):
        ids = range(start + 1, min(contacts, start + BATCH) + 1)
        _write(rt, Contact.__table__, [
            {**CONTACT, "id": i, "email": f"r{i}@example.com", "email_key": f"r{i}@example.com",
             "timezone": ZONES[i % len(ZONES)], "stage": "learn", "industry": "retail",
             "language": "", "score": 0, "attributes": {}, "created_at": now,
             "updated_at": now} for i in ids])
        _write(rt, ListMember.__table__, [{"list_id": readers, "contact_id": i,
                                           "added_at": now, "source": "bench"} for i in ids])


def _timed(work: Callable[[], Any]) -> tuple[Any, float]:
    began = time.perf_counter()
    found = work()
    return found, round(time.perf_counter() - began, 3)


def _measure(settings: Settings, contacts: int, label: str,
             echo: Callable[[str], None]) -> dict[str, Any]:
    rt = build(settings, with_transport=False)
    try:
        upgrade(rt.db)
        echo(f"{label}: seeding {contacts:,} contacts on a list...")
        _seed(rt, contacts)
        with rt.db.engine.connect() as conn:
            conn.execute(text("ANALYZE"))
            conn.commit()
        now = rt.clock.now()
        checked = plan.check(
            name="Bench", audience=plan.LIST, audience_ref="Readers",
            templates=["prospect-case-study", "quarterly-needs-assessment"], topic="",
            timing=plan.LOCAL, local_time="10:00", known_templates={
                "prospect-case-study", "quarterly-needs-assessment"}, now=now)
        made, create_s = _timed(lambda: services.created(rt.db, checked, now, by="bench",
                                                         default_tz="UTC"))
        echo(f"  {contacts:,} recipients made in {create_s} s")
        progress, progress_s = _timed(lambda: queries.progress_of(rt.db, made))
        _, winner_s = _timed(lambda: services.winner_sent(rt.db, made, "bench", now, "UTC"))
        with rt.db.transaction() as session:  # half handed over, as if workers had run
            session.execute(update(Send).where(Send.broadcast_id == made, Send.id % 2 == 0)
                            .values(status="sent", sent_at=now, due_at=None))
        _, page_s = _timed(lambda: queries.shown(rt.db, made))
        never, cancel_s = _timed(lambda: services.cancelled(rt.db, made, "bench", now))
        return {"recipients": contacts, "create_seconds": create_s,
                "recipients_per_second": round(contacts / max(create_s, 1e-6)),
                "progress_seconds": progress_s, "sample": progress.queued,
                "winner_to_the_rest_seconds": winner_s, "page_seconds": page_s,
                "cancel_seconds": cancel_s,
                "cancelled": never}
    finally:
        rt.close()


def run_broadcast_bench(base: Settings, contacts: int, databases: tuple[str, ...],
                        echo: Callable[[str], None] = print) -> dict[str, Any]:
    return on_each(base, databases, DATABASE,
                   lambda settings, label: _measure(settings, contacts, label, echo))
