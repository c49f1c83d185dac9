"""A web request never waits on retention: while the scheduler's walks prune a large
backlog of events and journey activity in short batches, the API records events for the
same contacts and the console opens the journey's page and the home charts, each answering
at once, and no connection to the database ever waits for a lock."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from datetime import timedelta

import pytest
from sqlalchemy import func, insert, select, text

from journeys.models import Activity, Enrollment, JourneyVersion
from nurture.config import PROJECT_ROOT
from nurture.events.models import Event
from tests.helpers import contact, publish_text, signed_in, web_client

AUTH = {"Authorization": "Bearer test-api-key"}
BACKLOG = 50_000  # events past the retention
FINISHED = 3_000  # enrollments that finished long ago, three activity rows each
BOUND = 1.0  # seconds: what a request may take beyond its time on a quiet database

# The scheduler's retention walks, run until nothing is left: argv = database, now, var dir.
PRUNE = """
import sys
from datetime import datetime
from pathlib import Path

from journeys import retention as journeys
from nurture.app.composition import build
from nurture.clock import FrozenClock
from nurture.config import Settings
from nurture.events import retention as events

settings = Settings(database_url=sys.argv[1], redis_url=None, smtp_url=None, secret_key="k",
                    base_url="http://localhost:5000", timezone="UTC", var_dir=Path(sys.argv[3]))
rt = build(settings, FrozenClock(datetime.fromisoformat(sys.argv[2])), with_transport=False)
while (events.run_retention_jobs(rt, settings)["pruned"]
       + journeys.run_retention_jobs(rt, settings)["pruned"]):
    pass
rt.close()
"""

JOURNEY = """
id: welcome
name: Welcome
entry: {event: custom.joined}
steps:
  - id: hello
    send: trial-welcome
    class: transactional
  - id: done
    exit: finished
"""


def _backlog(rt, people: list[int]) -> None:
    old = rt.clock.now() - timedelta(days=900)
    with rt.db.transaction() as session:
        version = session.scalar(select(JourneyVersion.id))
        session.execute(insert(Event), [
            {"contact_id": people[i % len(people)], "type": "page.visited",
             "occurred_at": old + timedelta(seconds=i), "recorded_at": old + timedelta(seconds=i),
             "properties": {"path": "/pricing"}, "source": "api"} for i in range(BACKLOG)])
        ids = session.scalars(insert(Enrollment).returning(Enrollment.id), [
            {"contact_id": people[i % len(people)], "journey_id": "welcome",
             "journey_version_id": version, "status": "completed", "state": {},
             "step_id": "done", "entered_at": old, "ended_at": old} for i in range(FINISHED)]
        ).all()
        session.execute(insert(Activity), [
            {"enrollment_id": e, "contact_id": people[0], "journey_version_id": version,
             "step_id": step, "kind": kind, "at": old}
            for e in ids for step, kind in (("hello", "entered"), ("hello", "completed"),
                                            ("done", "entered"))])


def _left(rt, model) -> int:
    with rt.db.sessions() as session:
        return session.scalar(select(func.count()).select_from(model))


def test_requests_on_the_same_tables_never_wait_while_a_large_backlog_is_pruned(rt,
                                                                               tmp_path):
    if not rt.db.is_postgres:
        pytest.skip("row locks are a PostgreSQL matter: SQLite has one writer at a time")
    publish_text(rt, JOURNEY)
    people = [contact(rt, f"c{i}@example.com") for i in range(50)]
    _backlog(rt, people)
    api, console = web_client(rt), signed_in(rt, "marketer")
    done, waits = threading.Event(), []
    requests = {
        "record": lambda n: api.post("/api/events", headers=AUTH, json={
            "email": f"c{n % 50}@example.com", "type": "page.visited",
            "properties": {"path": "/docs"}}),
        "journey page": lambda n: console.get("/journeys/welcome"),
        "home": lambda n: console.get("/?days=365")}

    def timed(name: str, n: int) -> float:
        started = time.monotonic()
        response = requests[name](n)
        assert response.status_code in (200, 201), (name, response.status_code)
        return time.monotonic() - started

    # What each request takes on a quiet database (the machine may be busy: tests share it).
    quiet = {name: max(timed(name, n) for n in range(3)) for name in requests}

    def prune() -> None:  # the scheduler's runs, back to back, in a process of its own
        try:
            subprocess.run([sys.executable, "-c", PRUNE, rt.settings.database_url,
                            rt.clock.now().isoformat(), str(tmp_path)],
                           check=True, timeout=300, cwd=PROJECT_ROOT)
        finally:
            done.set()

    def watch() -> None:  # every connection to this database that waits for a lock
        with rt.db.engine.connect() as conn:
            while not done.is_set():
                waits.extend(conn.execute(text(
                    "SELECT query FROM pg_stat_activity WHERE datname = current_database() "
                    "AND wait_event_type = 'Lock'")).scalars())
                conn.rollback()
                time.sleep(0.005)

    threads = [threading.Thread(target=prune), threading.Thread(target=watch)]
    for thread in threads:
        thread.start()
    timings: list[tuple[str, float]] = []
    i = 0
    while not done.is_set():
        timings += [(name, timed(name, i)) for name in requests]
        i += 1
    for thread in threads:
        thread.join(120)

    assert _left(rt, Activity) == 0 and _left(rt, Event) <= 50 + i  # the last visit each
    assert i >= 3, "the requests ran while the backlog was pruned"
    assert waits == [], f"connections waited for a lock: {waits[:3]}"
    for name, took in timings:
        assert took < quiet[name] + BOUND, f"{name} took {took:.2f}s, {quiet[name]:.2f}s quiet"
