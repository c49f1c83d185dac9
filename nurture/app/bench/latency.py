"""`nurture bench latency`: from a trial sign-up to its welcome accepted by the mail server,
first idle, then while a broadcast drains. The goal (issue 19): p99 at most 5 s under a
100,000-message broadcast on a 2-core machine.

Run as in production: the scheduler, the workers (one process per core) and the SMTP sink
are processes of their own, fed through Redis. This process plays the web app: it calls
the sign-up service the trial form calls, and reads the sink's log for the moment each
welcome was accepted (the sink stamps each line; both clocks are this machine's).
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from journeys.loader import load_file
from journeys.services import publish
from nurture.app.bench.engine import _postgres
from nurture.app.bench.send import _redis_reachable, child_env, sink_process, spawn_workers
from nurture.app.composition import build
from nurture.app.runtime import Runtime
from nurture.broadcasts import services as broadcasts
from nurture.broadcasts.plan import LIST, NOW, Plan
from nurture.config import PROJECT_ROOT, Settings
from nurture.contacts import lists
from nurture.contacts.models import Contact
from nurture.migrate import upgrade
from nurture.trials.signup import Address, SignUp, Source, sign_up
from nurture.writes import insert_returning

Echo = Callable[[str], None]
GOAL_SECONDS = 5.0
# Per worker process, as the send bench found best against a local sink; each process
# also has its priority threads (NURTURE_PRIORITY_THREADS).
WORKER_THREADS = 3
BULK_TEMPLATE = "retail-nurture-1a"  # a marketing email with links and a footer
BULK_PREFIX = "reader"
BULK_LIST = "Latency bench readers"
SPACING = {"idle": 0.5, "under_broadcast": 1.0}  # seconds between sign-ups
WAIT_SECONDS = 120.0  # a welcome not accepted by then counts as lost


# -- the load ------------------------------------------------------------------------------

def _bulk_load(rt: Runtime, count: int) -> None:
    """A real broadcast of `count` marketing emails, due now: `count` consenting contacts
    written in bulk into a list, then the broadcast to that list made as the console makes
    it (its sends written by INSERT ... SELECT)."""
    now = rt.clock.now()
    with rt.db.transaction() as session:
        list_id = lists.ensure(session, BULK_LIST, now, by="bench")
    for start in range(0, count, 10_000):
        emails = [f"{BULK_PREFIX}{i}@example.com" for i in range(start, min(count, start + 10_000))]
        with rt.db.transaction() as session:
            ids = insert_returning(session, Contact, [
                {"email": e, "email_key": e, "consent_marketing": True, "timezone": "UTC",
                 "attributes": {}} for e in emails])
            lists.add(session, list_id, ids, now, source="bench")
    if rt.db.is_postgres:  # what autovacuum does to a table that grew by so much
        with rt.db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("ANALYZE contacts, list_members")
    plan = Plan(name="Latency bench", audience=LIST, audience_ref=BULK_LIST,
                templates=(BULK_TEMPLATE,), topic="", timing=NOW)
    broadcasts.created(rt.db, plan, now, by="bench", default_tz=rt.settings.timezone)
    if rt.db.is_postgres:
        with rt.db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("ANALYZE sends")


# -- what the sink accepted ----------------------------------------------------------------

class SinkLog:
    """The sink's log, read as it grows: when each sign-up's welcome was accepted, and how
    many of the broadcast's messages have been."""

    def __init__(self, path: Path):
        self.path, self.offset = path, 0
        self.accepted: dict[str, float] = {}
        self.bulk = 0

    def read(self) -> None:
        if not self.path.exists():
            return
        with self.path.open("rb") as fh:
            fh.seek(self.offset)
            chunk = fh.read()
        end = chunk.rfind(b"\n") + 1  # a line still being written waits for the next read
        self.offset += end
        for line in chunk[:end].splitlines():
            entry = json.loads(line)
            recipient = entry["recipient"]
            if recipient.startswith(BULK_PREFIX):
                self.bulk += 1
            else:
                self.accepted.setdefault(recipient, entry["at"])


# -- sign-ups ------------------------------------------------------------------------------

def _form(phase: str, i: int) -> SignUp:
    """What a person types into the trial form."""
    return SignUp(first_name="Sam", last_name=f"Signup {i}",
                  email=f"signup-{phase}-{i}@example.com", company=f"Latency {phase} {i}",
                  industry="retail", country="FR",
                  shipping=Address("1 rue de l'Exemple", "Paris", "75001", "FR"),
                  technical_name="Tess Tech", technical_email=f"it-{phase}-{i}@example.com",
                  services=("crm",), seats=5)


def _signups(rt: Runtime, sink: SinkLog, count: int, phase: str, total: int,
             echo: Echo) -> dict[str, Any]:
    """`count` sign-ups, one every SPACING[phase] seconds, each timed from the call to
    the sign-up service to its welcome accepted by the sink. Under the broadcast, only
    those made while some of it was left to deliver are counted."""
    started: dict[str, float] = {}
    bulk_left: list[int] = []  # broadcast messages not yet accepted at each sign-up
    begin = time.time()
    for i in range(count):
        while time.time() < begin + i * SPACING[phase]:
            sink.read()
            time.sleep(0.02)
        form = _form(phase, i)
        bulk_left.append(total - sink.bulk)
        started[form.email] = time.time()
        sign_up(rt, rt.settings, rt.versions, form,
                Source(page="/l/trial", ip="127.0.0.1", user_agent="nurture bench latency"))
    deadline = time.time() + WAIT_SECONDS
    while time.time() < deadline and not set(started) <= set(sink.accepted):
        sink.read()
        time.sleep(0.02)
    if phase != "idle":  # only the sign-ups made while some of the broadcast was left
        started = {e: t for (e, t), left in zip(started.items(), bulk_left, strict=True)
                   if left > 0}
    seconds = sorted(sink.accepted[e] - t for e, t in started.items() if e in sink.accepted)
    last = max((sink.accepted[e] for e in started if e in sink.accepted), default=None)
    echo(f"  {phase}: {len(seconds)} of {len(started)} welcomes, p99 {_rank(seconds, 0.99)} s")
    return {"signups": len(started), "welcomes_accepted": len(seconds),
            "p50_seconds": _rank(seconds, 0.50), "p99_seconds": _rank(seconds, 0.99),
            "max_seconds": round(seconds[-1], 3) if seconds else None,
            "broadcast_left_at_first_signup": bulk_left[0] if bulk_left else None,
            "broadcast_left_at_last_signup": bulk_left[-1] if bulk_left else None,
            "broadcast_left_when_last_welcome_accepted": (
                total - sink.bulk if last is not None else None)}


def _rank(values: list[float], q: float) -> float | None:
    """The nearest-rank percentile of sorted `values`."""
    if not values:
        return None
    return round(values[max(0, math.ceil(q * len(values)) - 1)], 3)


# -- the installation ----------------------------------------------------------------------

@contextmanager
def _processes(settings: Settings, var: Path) -> Iterator[None]:
    """The scheduler and one worker process per core, stopped afterwards."""
    with (var / "scheduler.log").open("a") as out:
        scheduler = subprocess.Popen([sys.executable, "-m", "nurture.app.cli", "scheduler"],
                                     env=child_env(settings), stdout=out,
                                     stderr=subprocess.STDOUT)
    procs = [scheduler]
    try:
        procs += spawn_workers(settings, os.cpu_count() or 2, WORKER_THREADS,
                               var / "workers.log")
        yield
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(60)
            except subprocess.TimeoutExpired:
                proc.kill()


def _measure(settings: Settings, signups: int, broadcast: int, label: str,
             echo: Echo) -> dict[str, Any]:
    var = settings.var_dir
    log = var / "sink.jsonl"
    # The bench measures the lanes, not the clock: with quiet hours the broadcast would
    # wait for the morning whenever the bench runs at night (the child processes read these).
    os.environ["NURTURE_QUIET_START"] = os.environ["NURTURE_QUIET_END"] = "00:00"
    with sink_process(log) as smtp_url:
        settings = settings.with_(smtp_url=smtp_url)
        rt = build(settings)  # the web app's runtime: kicks go to Redis
        assert rt.transport is not None
        try:
            upgrade(rt.db)
            with rt.db.transaction() as session:
                publish(session, load_file(PROJECT_ROOT / "journeys" / "library" /
                                           "trial-nurture.yaml"))
            rt.transport.broker.flush_all()
            sink = SinkLog(log)
            result: dict[str, Any] = {}
            with _processes(settings, var):
                echo(f"{label}: {signups} sign-ups, idle...")
                result["idle"] = _signups(rt, sink, signups, "idle", broadcast, echo)
                echo(f"{label}: a broadcast to {broadcast} contacts, due now...")
                started = time.perf_counter()
                _bulk_load(rt, broadcast)
                loaded = time.perf_counter() - started
                drain_from, drained_before = time.perf_counter(), sink.bulk
                while sink.bulk == 0 and time.perf_counter() - drain_from < WAIT_SECONDS:
                    sink.read()  # measured once the broadcast is being delivered
                    time.sleep(0.05)
                echo(f"{label}: {signups} sign-ups while the broadcast drains...")
                result["under_broadcast"] = _signups(rt, sink, signups, "under_broadcast",
                                                     broadcast, echo)
                sink.read()
                elapsed = time.perf_counter() - drain_from
                result["broadcast"] = {
                    "sends": broadcast, "written_in_seconds": round(loaded, 1),
                    "accepted_by_sink_while_measured": sink.bulk - drained_before,
                    "delivered_per_second": round((sink.bulk - drained_before) / elapsed)}
        finally:
            rt.transport.broker.flush_all()  # the rest of the broadcast goes nowhere
            rt.close()
    return result


def run_latency_bench(base: Settings, signups: int, broadcast: int,
                      databases: tuple[str, ...], echo: Echo = print) -> dict[str, Any]:
    redis_url = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
    result: dict[str, Any] = {
        "cores": os.cpu_count(), "load_average_before": [round(x, 2) for x in os.getloadavg()],
        "goal": f"p99 <= {GOAL_SECONDS} s under the broadcast", "signups": signups,
        "broadcast": broadcast, "worker_processes": os.cpu_count() or 2,
        "threads_per_worker": WORKER_THREADS, "priority_threads_per_worker":
            base.priority_threads}
    if not _redis_reachable(redis_url):
        return result | {"skipped": "Redis is not reachable: the bench runs real processes."}
    for name in databases:
        with tempfile.TemporaryDirectory() as tmp:
            if name == "sqlite":
                url: str | None = f"sqlite:///{Path(tmp) / 'latency.db'}"
            else:
                url = _postgres(os.environ.get(
                    "BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"),
                    "nurture_bench_latency")
            if url is None:
                result[name] = "skipped: PostgreSQL is not reachable"
                continue
            settings = base.with_(database_url=url, redis_url=redis_url, var_dir=Path(tmp),
                                  queue_namespace="nurture-bench-latency")
            measured = _measure(settings, signups, broadcast, name, echo)
            loaded = measured["under_broadcast"]
            met = (loaded["welcomes_accepted"] == loaded["signups"] > 0
                   and loaded["p99_seconds"] is not None
                   and loaded["p99_seconds"] <= GOAL_SECONDS)
            result[name] = measured | {"goal_met": met}
    result["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    return result
