"""`nurture bench bulk --contacts N`: how long the contact list's bulk actions take on a
whole segment of N contacts (with a realistic history), on SQLite and on PostgreSQL (when
it answers): counting for the confirmation, then setting the stage, adding to a list, and
erasing, each in batches of `nurture.audiences.bulk.BATCH` contacts per transaction.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import func, select

from nurture.app import contact_admin
from nurture.app.bench.databases import on_each
from nurture.app.bench.segments import _seed
from nurture.app.composition import build
from nurture.audiences import bulk
from nurture.audiences import services as segments
from nurture.config import Settings
from nurture.contacts.models import Contact
from nurture.migrate import upgrade

DATABASE = "nurture_bench_bulk"
EVERYONE = "score >= 0"  # the segment acted on: every contact seeded



def _measure(settings: Settings, contacts: int, label: str,
             echo: Callable[[str], None]) -> dict[str, Any]:
    rt = build(settings, with_transport=False)
    try:
        upgrade(rt.db)
        echo(f"{label}: seeding {contacts:,} contacts with their history...")
        _seed(rt, contacts, echo)
        with rt.db.transaction() as session:
            segments.create(session, "Everyone", EVERYONE, rt.clock.now())
        selection = bulk.Selection(segment="Everyone")
        timings: dict[str, Any] = {}
        for action, value in (("stage", "buy"), ("list", "Bench"), ("erase", "")):
            began = time.perf_counter()
            plan = contact_admin.plan(rt, selection, action, value)
            counted = time.perf_counter() - began
            done = contact_admin.run(rt, selection, plan.token, "bench@example.com")
            took = time.perf_counter() - began - counted
            timings[action] = {"contacts": done.count, "changed": done.changed,
                               "count_seconds": round(counted, 2),
                               "run_seconds": round(took, 2),
                               "contacts_per_second": round(done.count / took) if took else None}
            echo(f"  {action}: {done.changed:,} of {done.count:,} in {took:.1f} s "
                 f"(counted in {counted:.2f} s)")
        with rt.db.sessions() as session:
            left = session.scalar(select(func.count()).select_from(Contact))
        return {"contacts": contacts, "left_after_erase": left, "actions": timings}
    finally:
        rt.close()


def run_bulk_bench(base: Settings, contacts: int, databases: tuple[str, ...],
                   echo: Callable[[str], None] = print) -> dict[str, Any]:
    return on_each(base, databases, DATABASE,
                   lambda settings, label: _measure(settings, contacts, label, echo))
