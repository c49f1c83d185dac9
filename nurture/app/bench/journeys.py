"""`nurture bench journeys --enrollments N`: how long the figures of a journey's console page
and of the list of journeys take (`nurture.app.journeys_console`: every query the views
make, and the diagram drawn) with N enrollments of one journey (two versions, contacts on
every step, their step log, an email each, some opened and clicked), on PostgreSQL (and
SQLite when asked).

The goal (a benchmark, not a test): the journey's page in at most 500 ms with 1,000,000
enrollments on PostgreSQL.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlalchemy import text

from journeys.loader import load_text
from journeys.models import Activity, Enrollment, JourneyVersion
from journeys.services import publish
from nurture.app import journeys_console
from nurture.app.bench.databases import on_each
from nurture.app.bench.segments import CONTACT, _write
from nurture.app.composition import build
from nurture.config import PROJECT_ROOT, Settings
from nurture.contacts.models import Contact
from nurture.events.models import Event
from nurture.migrate import upgrade
from nurture.sending.models import Send

JOURNEY = "prospect-healthcare"
BATCH = 20_000
DATABASE = "nurture_bench_journeys"


def _publish(rt: Any) -> tuple[list[int], list[str], dict[str, str]]:
    """Two versions of the library journey; their row ids, its step ids and each send
    step's template."""
    source = (PROJECT_ROOT / "journeys" / "library" / f"{JOURNEY}.yaml").read_text()
    ids: list[int] = []
    for based_on, text_ in enumerate((source, source + "\n# version 2\n")):
        loaded = load_text(text_, f"{JOURNEY}.yaml")
        with rt.db.transaction() as session:  # each version edited from the one before
            publish(session, loaded, based_on=based_on, by="bench", note="bench")
            ids.append(session.query(JourneyVersion.id).order_by(
                JourneyVersion.id.desc()).limit(1).scalar())
    journey = loaded.journey
    assert journey is not None
    sends = {s.id: getattr(s, "template", "") for s in journey.steps
             if hasattr(s, "template")}
    return ids, [s.id for s in journey.steps], sends


def _seed(rt: Any, n: int, echo: Callable[[str], None]) -> None:
    rng = random.Random(20)
    now = rt.clock.now()
    versions, steps, templates = _publish(rt)
    send_steps = list(templates)
    enrollment_id = activity_id = 0
    for start in range(0, n, BATCH):
        people, enrollments, log, sends, events = [], [], [], [], []
        for i in range(start, min(n, start + BATCH)):
            cid = i + 1
            people.append({**CONTACT, "id": cid, "email": f"j{i}@example.com",
                           "email_key": f"j{i}@example.com", "stage": "learn", "score": 0,
                           "industry": "healthcare", "language": "", "attributes": {},
                           "created_at": now, "updated_at": now})
            enrollment_id += 1
            at = rng.randrange(len(steps))
            roll = rng.random()
            status = "active" if roll < 0.6 else "completed" if roll < 0.8 else "exited"
            reason = None if status == "active" else "finished" if status == "completed" \
                else rng.choice(["goal:trial.started", "goal:demo.requested", "stage"])
            entered = now - timedelta(minutes=rng.randint(0, 60 * 24 * 60))
            enrollments.append({
                "id": enrollment_id, "contact_id": cid, "journey_id": JOURNEY,
                "journey_version_id": versions[rng.random() < 0.3], "status": status,
                "state": {}, "step_id": steps[at], "entered_at": entered,
                "ended_at": None if status == "active" else now, "exit_reason": reason,
                "next_run_at": now + timedelta(days=1) if status == "active" else None,
                "lease_until": None, "held_run_at": None})
            for back, kind in ((0, "entered"), (1, "completed"), (1, "entered")):
                if at - back >= 0:
                    activity_id += 1
                    log.append({"id": activity_id, "enrollment_id": enrollment_id,
                                "contact_id": cid,
                                "journey_version_id": enrollments[-1]["journey_version_id"],
                                "step_id": steps[at - back], "kind": kind, "reason": None,
                                "at": entered})
            step = rng.choice(send_steps)
            sent = now - timedelta(minutes=rng.randint(0, 60 * 24 * 30))
            key = f"bench:{enrollment_id}:{step}"
            sends.append({"id": enrollment_id, "send_key": key, "contact_id": cid,
                          "to_email": f"j{i}@example.com", "role": "contact",
                          "enrollment_id": enrollment_id, "journey_id": JOURNEY,
                          "step_id": step, "template": templates[step], "variant": "",
                          "message_class": "marketing", "lane": "bulk", "topic": "",
                          "status": "sent", "attempts": 1, "created_at": sent,
                          "sent_at": sent, "feedback": "hard_bounce" if rng.random() < 0.01
                          else None, "feedback_at": None})
            for kind, chance in (("email.opened", 0.3), ("email.clicked", 0.05)):
                if rng.random() < chance:
                    events.append({"contact_id": cid, "type": kind, "occurred_at": sent,
                                   "properties": {"send": key, "journey": JOURNEY,
                                                  "step": step, "machine": False},
                                   "recorded_at": now, "source": "bench"})
        for table, rows in ((Contact.__table__, people), (Enrollment.__table__, enrollments),
                            (Activity.__table__, log), (Send.__table__, sends),
                            (Event.__table__, events)):
            _write(rt, table, rows)
        echo(f"  seeded {min(n, start + BATCH):,} enrollments")
    if rt.db.is_postgres:  # the ids were given: the sequences go on after them
        with rt.db.engine.begin() as conn:
            for name in ("contacts", "enrollments", "journey_activity", "sends"):
                conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                                  f"(SELECT max(id) FROM {name}))"))


def _timed(call: Callable[[], Any], times: int = 3) -> tuple[float, float]:
    spent = []
    for _ in range(times):
        began = time.perf_counter()
        call()
        spent.append(time.perf_counter() - began)
    return round(spent[0], 3), round(min(spent), 3)


def _measure(settings: Settings, n: int, label: str,
             echo: Callable[[str], None]) -> dict[str, Any]:
    rt = build(settings, with_transport=False)
    try:
        upgrade(rt.db)
        echo(f"{label}: seeding {n:,} enrollments...")
        began = time.perf_counter()
        _seed(rt, n, echo)
        seeded = time.perf_counter() - began
        with rt.db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            # Fresh statistics and visibility map, as autovacuum gives a settled table.
            conn.execute(text("VACUUM ANALYZE" if rt.db.is_postgres else "ANALYZE"))
        link = f"/journeys/{JOURNEY}/steps/%7Bstep%7D"
        live = _timed(lambda: journeys_console.journey_page(rt, JOURNEY, link), 2)
        echo(f"  journey page counted live: first {live[0]:.3f} s, best {live[1]:.3f} s")
        rollup = _timed(lambda: journeys_console.refresh_rollups(rt), 1)
        echo(f"  the scheduler's rollup of it: {rollup[0]:.3f} s")
        page = _timed(lambda: journeys_console.journey_page(rt, JOURNEY, link))
        listing = _timed(lambda: journeys_console.listing(rt))
        echo(f"  journey page: first {page[0]:.3f} s, best {page[1]:.3f} s")
        echo(f"  journey list: first {listing[0]:.3f} s, best {listing[1]:.3f} s")
        return {"enrollments": n, "seed_seconds": round(seeded, 1),
                "page_live_first_seconds": live[0], "rollup_seconds": rollup[0],
                "page_first_seconds": page[0], "page_best_seconds": page[1],
                "list_first_seconds": listing[0], "list_best_seconds": listing[1]}
    finally:
        rt.close()


def run_journeys_bench(base: Settings, enrollments: int, databases: tuple[str, ...],
                       echo: Callable[[str], None] = print) -> dict[str, Any]:
    return on_each(base, databases, DATABASE,
                   lambda settings, label: _measure(settings, enrollments, label, echo))

