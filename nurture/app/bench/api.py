"""`nurture bench api`: events ingested per second through `POST /api/v1/events`.

Serves `wsgi:app` with `gunicorn -w 2` (sync workers) on a fresh database (PostgreSQL by
default, or SQLite) holding the shipped journeys, the default scoring rules, two sales
reps, `contacts` contacts and an admin API token. Then `CLIENTS` threads post batches of
1,000 events of the usual kinds (opens, clicks, page visits, custom events, each with the
client's own id) as fast as the server answers them: closed-loop, so the figure is the
server's throughput, and each batch's latency is its round trip. Every event goes the
whole way: checked, stored, scored (hand-offs opened), matched against journey triggers.

The bodies are built before the clock starts, so the client's own work is only HTTP. The
CPU time of the gunicorn workers and of the PostgreSQL processes serving them is read
from /proc: with the machine's load average it tells whether a low figure is this code or
a crowded machine, and `events_per_second_if_alone` is what that CPU time allows on this
machine's cores with nothing else running (the client's share left out).
"""

from __future__ import annotations

import http.client
import json
import os
import random
import secrets
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, insert, text

from journeys.loader import iter_files
from nurture.apitokens.services import create_token
from nurture.app.bench.databases import POSTGRES, fresh_postgres
from nurture.app.bench.web import _free_port, _percentile
from nurture.app.composition import build
from nurture.app.journeys_ops import publish_files
from nurture.config import PROJECT_ROOT, Settings
from nurture.contacts.models import Contact
from nurture.migrate import upgrade
from nurture.users.services import create_user

WORKERS, CLIENTS, BATCH, WARM_UP = 2, 4, 1000, 4
TARGET = 5000  # events a second, on PostgreSQL
KINDS = [("email.opened", {}), ("email.opened", {}), ("email.clicked", {"url": "/docs"}),
         ("page.visited", {"path": "/pricing"}), ("page.visited", {"path": "/blog/crm"}),
         ("page.visited", {"path": "/features"}), ("custom.app_login", {}),
         ("custom.feature_used", {"feature": "reports"})]


def _prepare(settings: Settings, contacts: int, echo: Callable[[str], None]) -> str:
    """The database filled as a real installation would be; the admin token's secret."""
    rt = build(settings, with_transport=False)
    try:
        upgrade(rt.db)
        publish_files(rt, iter_files([settings.journeys_dir]), echo=lambda _m: None)
        echo(f"Creating {contacts} contacts...")
        rng = random.Random(7)
        for start in range(0, contacts, 20_000):
            rows = [{"email": f"lead{i}@example.com", "email_key": f"lead{i}@example.com",
                     "industry": rng.choice(["retail", "healthcare", "mining", "public-sector"]),
                     "company_size": rng.choice([5, 120, 2500]),
                     "role": rng.choice(["Head of IT", "Engineer", "Buyer"]),
                     "country": rng.choice(["FR", "DE", "BR"]), "attributes": {}}
                    for i in range(start, min(contacts, start + 20_000))]
            with rt.db.transaction() as session:
                session.execute(insert(Contact), rows)
        now = rt.clock.now()
        with rt.db.transaction() as session:
            password = secrets.token_urlsafe(12)
            for name, verticals in (("retail", ["retail"]), ("health", ["healthcare"])):
                create_user(session, f"{name}.rep@bench.example", name, "sales", password,
                            verticals=verticals, now=now)
            admin = create_user(session, "admin@bench.example", "Bench", "admin", password,
                                now=now)
            return create_token(session, admin.id, "bench", "admin", now=now).secret
    finally:
        rt.close()


def _bodies(contacts: int, batches: int, run: str) -> list[bytes]:
    rng = random.Random(11)
    bodies = []
    for b in range(batches):
        events = []
        for i in range(BATCH):
            kind, properties = rng.choice(KINDS)
            events.append({"id": f"{run}-{b}-{i}", "email": f"lead{rng.randrange(contacts)}"
                           "@example.com", "type": kind, "properties": properties})
        bodies.append(json.dumps({"events": events}).encode())
    return bodies


def _gunicorn(env: dict[str, str], port: int, log: Path) -> subprocess.Popen:
    command = [sys.executable, "-m", "gunicorn", "-w", str(WORKERS), "-b", f"127.0.0.1:{port}",
               "--timeout", "120", "wsgi:app"]
    with log.open("wb") as out:
        server = subprocess.Popen(command, env=env, cwd=PROJECT_ROOT, stdout=out,
                                  stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError("gunicorn stopped before serving:\n" + log.read_text()[-2000:])
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", "/api/v1/events")  # any answer will do (405)
            conn.getresponse().read()
            return server
        except OSError:
            time.sleep(0.3)
    server.terminate()
    raise RuntimeError("gunicorn did not answer within 60 seconds.")


def _cpu_seconds(pids: list[int]) -> float:
    """User and system CPU seconds these processes have used (from /proc)."""
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def _workers(master: int) -> list[int]:
    """gunicorn's workers: its master's children."""
    try:
        return [int(p) for p in
                Path(f"/proc/{master}/task/{master}/children").read_text().split()]
    except OSError:
        return []


def _backends(url: str) -> list[int]:
    """The PostgreSQL server processes serving the bench's database (the workers' pooled
    connections, open after the warm-up); none for SQLite."""
    if not url.startswith("postgresql"):
        return []
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return list(conn.scalars(text(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                "AND pid <> pg_backend_pid()")))
    finally:
        engine.dispose()


def _post(port: int, secret: str, bodies: list[bytes]) -> list[tuple[float, int, str]]:
    """Post the bodies in turn on one connection: (seconds, status, error text) each."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    headers = {"Authorization": f"Bearer {secret}", "Content-Type": "application/json"}
    out = []
    for body in bodies:
        started = time.perf_counter()
        conn.request("POST", "/api/v1/events", body=body, headers=headers)
        response = conn.getresponse()
        text = response.read()
        out.append((time.perf_counter() - started, response.status,
                    "" if response.status < 300 else text.decode()[:300]))
    conn.close()
    return out


def _measure(settings: Settings, label: str, contacts: int, events: int,
             echo: Callable[[str], None]) -> dict[str, Any]:
    secret = _prepare(settings, contacts, echo)
    batches = max(CLIENTS, events // BATCH)
    bodies = _bodies(contacts, WARM_UP + batches, secrets.token_hex(3))
    port = _free_port()
    env = {**os.environ, "DATABASE_URL": settings.database_url, "REDIS_URL": "",
           "SMTP_URL": "", "NURTURE_VAR_DIR": str(settings.var_dir),
           "SECRET_KEY": secrets.token_urlsafe(32), "NURTURE_API_RATE_LIMIT": "1000000 per second"}
    echo(f"{label}: starting gunicorn -w {WORKERS}...")
    server = _gunicorn(env, port, settings.var_dir / "gunicorn.log")
    try:
        echo(f"{label}: {WARM_UP} warm-up batches, then {batches} batches of {BATCH} from "
             f"{CLIENTS} clients...")
        with ThreadPoolExecutor(CLIENTS) as pool:
            list(pool.map(_post, [port] * CLIENTS, [secret] * CLIENTS,
                          [bodies[i:WARM_UP:CLIENTS] for i in range(CLIENTS)]))
            load = os.getloadavg()[0]
            workers, backends = _workers(server.pid), _backends(settings.database_url)
            cpu, db_cpu = _cpu_seconds(workers), _cpu_seconds(backends)
            started = time.perf_counter()
            timed = bodies[WARM_UP:]
            done = [r for part in pool.map(_post, [port] * CLIENTS, [secret] * CLIENTS,
                                           [timed[i::CLIENTS] for i in range(CLIENTS)])
                    for r in part]
            seconds = time.perf_counter() - started
            cpu, db_cpu = _cpu_seconds(workers) - cpu, _cpu_seconds(backends) - db_cpu
    finally:
        server.terminate()
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()
    errors = [(status, text) for _s, status, text in done if status != 201]
    ordered = sorted(s for s, _status, _text in done)
    recorded = BATCH * (len(done) - len(errors))
    return {"database": label, "workers": WORKERS, "clients": CLIENTS, "batch": BATCH,
            "contacts": contacts, "batches": len(done), "errors": len(errors),
            "first_error": errors[0] if errors else None, "seconds": round(seconds, 2),
            "events_per_second": round(recorded / seconds),
            "p50_batch_ms": round(_percentile(ordered, 0.50) * 1000),
            "p99_batch_ms": round(_percentile(ordered, 0.99) * 1000),
            "worker_cpu_ms_per_batch": round(cpu * 1000 / max(1, len(done))),
            "database_cpu_ms_per_batch": round(db_cpu * 1000 / max(1, len(done))),
            # What the CPU time allows when this bench has the machine to itself (not for
            # SQLite: its one writer at a time, not the CPU, bounds two workers).
            "events_per_second_if_alone": round(BATCH * len(done) * (os.cpu_count() or 1)
                                                / max(cpu + db_cpu, 1e-9))
            if label == "postgresql" else None,
            "load_average_before": round(load, 2), "cpus": os.cpu_count()}


def run_api_bench(base: Settings, contacts: int = 20_000, events: int = 100_000,
                  databases: tuple[str, ...] = ("postgresql",),
                  echo: Callable[[str], None] = print) -> dict[str, Any]:
    result: dict[str, Any] = {"target_events_per_second": TARGET}
    with tempfile.TemporaryDirectory(prefix="nurture-bench-api-") as tmp:
        for label in databases:
            var_dir = Path(tmp) / label
            var_dir.mkdir()
            url = (fresh_postgres(os.environ.get("BENCH_DATABASE_URL", POSTGRES),
                                  "nurture_bench_api") if label == "postgresql"
                   else f"sqlite:///{var_dir / 'bench.db'}")
            if url is None:
                result[label] = "skipped: PostgreSQL is not reachable"
                continue
            settings = base.with_(database_url=url, redis_url=None, var_dir=var_dir,
                                  journeys_dir=PROJECT_ROOT / "journeys" / "library")
            result[label] = _measure(settings, label, contacts, events, echo)
    if isinstance(result.get("postgresql"), dict):
        result["met"] = result["postgresql"]["events_per_second"] >= TARGET
    return result
