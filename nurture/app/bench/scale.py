"""`nurture bench scale`: the whole distributed path at a size where users outgrow one
machine, as in production, on PostgreSQL with Redis.

The scheduler, N worker processes and the SMTP sink run as OS processes of their own; the
import runs as `nurture contacts import`, another process. Three phases, each timed:
1. import N contacts from a CSV file through the real import path, onto a list, with a
   stated consent basis (so that marketing mail may go to them);
2. a broadcast to that list, due now (its sends written by INSERT ... SELECT);
3. delivery of every send to the sink.
Reported as JSON: each phase's wall time and rate, every process's peak resident memory
(sampled with psutil, and the kernel's high-water mark), the database's size before and
after, the scheduler's claim time per batch at the start, the middle and the end of the
delivery, and the sink's count, which must equal the sends due. DKIM is off, as behind a
relay that signs. With `--kill-worker`, one worker is killed (SIGKILL) half way and another
started: the report says what was lost (sends inside the SMTP exchange are marked
"interrupted: outcome unknown") and whether any message reached the sink twice.
"""

from __future__ import annotations

import csv
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil
from sqlalchemy import func, select, text

from nurture.app.bench.databases import POSTGRES, fresh_postgres
from nurture.app.bench.send import (
    _redis_reachable,
    child_env,
    sink_count,
    sink_process,
    spawn_workers,
)
from nurture.app.composition import build
from nurture.broadcasts import services as broadcasts
from nurture.broadcasts.plan import LIST, NOW, Plan
from nurture.config import Settings
from nurture.migrate import upgrade
from nurture.sending.models import Send

Echo = Callable[[str], None]
TEMPLATE = "retail-nurture-1a"  # a marketing email with links and a footer
LIST_NAME = "Scale bench"
THREADS = 3  # per worker process, as `nurture bench send` found best against a local sink
GOALS = {"per_second": 1600, "rss_mb": 512, "claim_growth": 1.5, "rate_at_size": 0.8}
CLAIM_LINE = re.compile(r"claimed (\d+) (\w+) in ([\d.]+) ms")
INTERRUPTED = "interrupted: outcome unknown"


def write_contacts(path: Path, rows: int) -> None:
    """`rows` distinct, valid contacts, as a marketer's export would have them."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        out = csv.writer(handle)
        out.writerow(["Email", "First name", "Last name", "Company", "Country", "Language"])
        for i in range(rows):
            out.writerow([f"reader{i}@company{i % 5000}.example", "Sam", f"Reader {i}",
                          f"Company {i % 5000}", ("DE", "FR", "US")[i % 3], "en"])


class Memory:
    """Peak resident memory of named processes, sampled every half second."""

    def __init__(self) -> None:
        self.peaks: dict[str, float] = {}
        self.watched: dict[str, psutil.Process] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    def watch(self, name: str, pid: int) -> None:
        self.watched[name] = psutil.Process(pid)

    def _sample(self) -> None:
        for name, proc in list(self.watched.items()):
            try:
                mb = proc.memory_info().rss / 2**20
                with open(f"/proc/{proc.pid}/status") as status:  # the kernel's high-water
                    hwm = re.search(r"VmHWM:\s+(\d+)", status.read())
                if hwm:
                    mb = max(mb, int(hwm.group(1)) / 1024)
            except (psutil.Error, OSError):
                continue
            self.peaks[name] = max(self.peaks.get(name, 0.0), mb)

    def _loop(self) -> None:
        while not self._stop.wait(0.5):
            self._sample()

    def stop(self) -> dict[str, float]:
        self._sample()
        self._stop.set()
        self._thread.join()
        return {name: round(mb) for name, mb in sorted(self.peaks.items())}


def _size(settings: Settings) -> int:
    rt = build(settings, with_transport=False)
    try:
        with rt.db.sessions() as session:
            return int(session.scalar(text("SELECT pg_database_size(current_database())")))
    finally:
        rt.close()


def _spawn(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    with log.open("a") as out:
        return subprocess.Popen([sys.executable, "-m", "nurture.app.cli", *args], env=env,
                                stdout=out, stderr=subprocess.STDOUT)


def _import(settings: Settings, rows: int, var: Path, memory: Memory, echo: Echo
            ) -> dict[str, Any]:
    path = var / "contacts.csv"
    write_contacts(path, rows)
    echo(f"import: {rows:,} contacts through `nurture contacts import`...")
    started = time.perf_counter()
    proc = _spawn(["contacts", "import", str(path), "--list", LIST_NAME, "--consent-basis",
                   "Subscribed to the newsletter (bench)", "--consented-at", "2026-01-05"],
                  child_env(settings), var / "import.log")
    memory.watch("import", proc.pid)
    if proc.wait() != 0:
        raise RuntimeError(f"The import failed; see {var / 'import.log'}.")
    seconds = time.perf_counter() - started
    return {"seconds": round(seconds, 1), "per_second": round(rows / seconds)}


def _broadcast(settings: Settings, echo: Echo) -> dict[str, Any]:
    rt = build(settings, with_transport=False)
    try:
        with rt.db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("ANALYZE contacts, list_members")
        echo("broadcast: to every imported contact, due now...")
        started = time.perf_counter()
        plan = Plan(name="Scale bench", audience=LIST, audience_ref=LIST_NAME,
                    templates=(TEMPLATE,), topic="", timing=NOW)
        broadcasts.created(rt.db, plan, rt.clock.now(), by="bench",
                           default_tz=rt.settings.timezone)
        seconds = time.perf_counter() - started
        with rt.db.sessions() as session:
            due = int(session.scalar(select(func.count()).select_from(Send)) or 0)
        with rt.db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("ANALYZE sends")
    finally:
        rt.close()
    return {"seconds": round(seconds, 1), "sends": due, "per_second": round(due / seconds)}


def _claims(log: Path) -> dict[str, Any]:
    """The scheduler's claims of bulk sends, in order: first, middle and last full batch."""
    found = [(int(n), float(ms)) for n, kind, ms in CLAIM_LINE.findall(log.read_text())
             if kind == "deliver_sends"]
    full = [ms for n, ms in found if n == max((n for n, _ in found), default=0)]
    if not full:
        return {"batches": len(found)}
    third = max(1, len(full) // 10)  # the mean of a tenth at each point evens out noise
    start, middle, end = (sum(part) / len(part) for part in (
        full[:third], full[len(full) // 2 - third // 2:][:third], full[-third:]))
    return {"batches": len(found), "start_ms": round(start, 1), "middle_ms": round(middle, 1),
            "end_ms": round(end, 1), "end_to_start": round(end / start, 2) if start else None}


def _deliver(settings: Settings, due: int, workers: list[subprocess.Popen], memory: Memory,
             kill: bool, env: dict[str, str], var: Path, echo: Echo) -> dict[str, Any]:
    assert settings.smtp_url
    started = last = time.perf_counter()
    killed = False
    delivered = 0
    while delivered < due:
        time.sleep(1.0)
        now_delivered = sink_count(settings.smtp_url)
        if now_delivered > delivered:
            delivered, last = now_delivered, time.perf_counter()
        if kill and not killed and delivered >= due // 2:
            victim = workers[0]
            victim.send_signal(signal.SIGKILL)
            victim.wait()
            workers[0] = _spawn(["worker", "--threads", str(THREADS)], env, var / "workers.log")
            memory.watch("worker-restarted", workers[0].pid)
            killed = True
            echo(f"deliver: killed a worker at {delivered:,} delivered, started another")
        if time.perf_counter() - started > 4 * 3600:
            raise RuntimeError(f"only {delivered:,} of {due:,} delivered in 4 hours")
        if kill and killed and _settled(settings, due, delivered):
            break
    seconds = last - started  # to the last message the sink accepted
    return {"seconds": round(seconds, 1), "delivered": delivered,
            "per_second": round(delivered / seconds),
            "settled_seconds": round(time.perf_counter() - started, 1)}


def _settled(settings: Settings, due: int, delivered: int) -> bool:
    """After a kill, a few sends end failed (outcome unknown), never delivered: delivery is
    over when no send is left queued or sending."""
    if delivered < due * 0.99:
        return False
    rt = build(settings, with_transport=False)
    try:
        with rt.db.sessions() as session:
            return not session.scalar(select(func.count()).select_from(Send).where(
                Send.status.in_(("queued", "sending"))))
    finally:
        rt.close()


def _outcomes(settings: Settings, sink_log: Path) -> dict[str, Any]:
    rt = build(settings, with_transport=False)
    try:
        with rt.db.sessions() as session:
            statuses = dict(session.execute(select(Send.status, func.count())
                                            .group_by(Send.status)).all())
            unknown = session.scalar(select(func.count()).select_from(Send).where(
                Send.reason == INTERRUPTED))
    finally:
        rt.close()
    seen: Counter[str] = Counter()
    with sink_log.open(encoding="utf-8") as fh:
        for line in fh:
            seen[json.loads(line)["message_id"]] += 1
    return {"sends_by_status": statuses, "lost_outcome_unknown": unknown,
            "received_twice": sum(1 for n in seen.values() if n > 1)}


def measure(base: Settings, contacts: int, workers: int, kill: bool, echo: Echo
            ) -> dict[str, Any]:
    redis_url = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
    url = fresh_postgres(os.environ.get("BENCH_DATABASE_URL", POSTGRES), "nurture_bench_scale")
    if url is None or not _redis_reachable(redis_url):
        return {"skipped": "PostgreSQL and Redis are needed"}
    # The bench measures throughput, not the clock: quiet hours would hold the broadcast
    # until the morning when it runs at night (the child processes read these).
    os.environ["NURTURE_QUIET_START"] = os.environ["NURTURE_QUIET_END"] = "00:00"
    memory = Memory()
    memory.watch("bench", os.getpid())
    with tempfile.TemporaryDirectory() as tmp, sink_process(Path(tmp) / "sink.jsonl") as smtp:
        var = Path(tmp)
        settings = base.with_(database_url=url, redis_url=redis_url, smtp_url=smtp,
                              var_dir=var, queue_namespace="nurture-bench-scale")
        rt = build(settings)
        assert rt.transport is not None
        upgrade(rt.db)
        rt.transport.broker.flush_all()
        rt.close()
        before = _size(settings)
        result: dict[str, Any] = {"contacts": contacts, "worker_processes": workers,
                                  "threads_per_worker": THREADS, "cores": os.cpu_count(),
                                  "dkim": "off", "goals": GOALS}
        result["import"] = _import(settings, contacts, var, memory, echo)
        env = child_env(settings)
        procs = [_spawn(["-v", "scheduler"], env, var / "scheduler.log")]
        memory.watch("scheduler", procs[0].pid)
        worker_procs = spawn_workers(settings, workers, THREADS, var / "workers.log")
        for k, proc in enumerate(worker_procs):
            memory.watch(f"worker-{k + 1}", proc.pid)
        sink = [p for p in psutil.Process(os.getpid()).children() if "smtp-sink" in
                " ".join(p.cmdline())]
        if sink:
            memory.watch("sink", sink[0].pid)
        try:
            result["broadcast"] = _broadcast(settings, echo)
            echo(f"deliver: {result['broadcast']['sends']:,} sends to the sink...")
            result["deliver"] = _deliver(settings, result["broadcast"]["sends"], worker_procs,
                                         memory, kill, env, var, echo)
        finally:
            for proc in [*procs, *worker_procs]:
                proc.terminate()
            for proc in [*procs, *worker_procs]:
                try:
                    proc.wait(60)
                except subprocess.TimeoutExpired:
                    proc.kill()
            flush = build(settings)
            assert flush.transport is not None
            flush.transport.broker.flush_all()
            flush.close()
        result["claims"] = _claims(var / "scheduler.log")
        result["peak_rss_mb"] = memory.stop()
        result["database_mb"] = {"before": round(before / 2**20),
                                 "after": round(_size(settings) / 2**20)}
        result["sink_received"] = sink_count(smtp)
        result["sink_equals_due"] = result["sink_received"] == result["broadcast"]["sends"]
        if kill:
            result["kill"] = _outcomes(settings, var / "sink.jsonl")
    return result


def run_scale_bench(base: Settings, contacts: int, workers: int = 2, kill: bool = False,
                    echo: Echo = print) -> dict[str, Any]:
    return measure(base, contacts, workers, kill, echo)
