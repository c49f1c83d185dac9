"""`nurture bench import`: contacts imported per second from a generated CSV file through
the real path (`nurture contacts import`: reading, mapping, checks, batches with their
`contact.created` events, fit scoring and the list), on SQLite and on PostgreSQL (when it
answers), each in a process of its own so that its peak memory is its own.

Goals (issue 19): 1,000,000 rows in 120 s or less on PostgreSQL, 180 s on SQLite, and no
process above 300 MB. Beside the wall time it prints the CPU seconds of the importing
process and of its PostgreSQL backends, and the load average before and after: on a
machine shared with other work, those say what the import itself costs."""

from __future__ import annotations

import csv
import multiprocessing
import os
import random
import resource
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, text

from nurture.app.composition import build
from nurture.config import Settings
from nurture.contacts.imports import service
from nurture.contacts.imports.mapping import suggest
from nurture.contacts.imports.options import Options
from nurture.migrate import upgrade

HEADER = ["Email", "First Name", "Last Name", "Company", "Job Title", "Industry",
          "Employees", "Country", "Language", "Shoe size"]
BAD_EVERY = 200  # one row in 200 has a bad address; one in 250 repeats an earlier one
REPEAT_EVERY = 250
GOALS = {"postgresql": 120.0, "sqlite": 180.0}
RSS_GOAL_MB = 300


def write_file(path: Path, rows: int, seed: int = 5) -> None:
    rng = random.Random(seed)
    industries = ["retail", "healthcare", "financial-services", "mining", "public-sector"]
    roles = ["CTO", "Head of IT", "Buyer", "Developer", "VP Sales", "Intern"]
    with path.open("w", newline="", encoding="utf-8") as handle:
        out = csv.writer(handle)
        out.writerow(HEADER)
        for i in range(rows):
            email = f"person{i}@company{i % 5000}.example"
            if i % BAD_EVERY == 7:
                email = f"person{i} at company.example"
            elif i % REPEAT_EVERY == 11 and i > 100:
                email = f"person{i - 100}@company{(i - 100) % 5000}.example"
            out.writerow([email, "Zoë", f"Müller{i}", f"Company {i % 5000}",
                          rng.choice(roles), rng.choice(industries),
                          str(rng.choice([8, 120, 900, 4000])), rng.choice(["DE", "FR", "US"]),
                          rng.choice(["de", "fr", "en"]), str(36 + i % 10)])


def _measure(settings: Settings, path: Path, label: str) -> dict[str, Any]:
    rt = build(settings, with_transport=False)
    try:
        upgrade(rt.db)
        _, header = service.header(path)
        mapping = {**suggest(header), "Shoe size": "attribute:shoe_size"}
        options = Options(list_name="Bench import")
        load = os.getloadavg()[0]
        cpu, server = _cpu(), _server_cpu(rt.db.engine)
        started = time.perf_counter()
        job = service.create(rt, path, path.name, mapping, options, "bench", background=False)
        done = service.run(rt, job)
        seconds = time.perf_counter() - started
        cpu, server = _cpu() - cpu, _server_cpu(rt.db.engine) - server
    finally:
        rt.close()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"database": label, "rows": done.rows_read, "seconds": round(seconds, 1),
            "cpu_seconds": round(cpu, 1), "server_cpu_seconds": round(server, 1),
            "load_average": [round(load, 1), round(os.getloadavg()[0], 1)],
            "rows_per_second": round(done.rows_read / seconds),
            "created": done.counts.created, "duplicates": done.counts.duplicates,
            "rejected": done.counts.rejected, "peak_rss_mb": round(peak),
            "goal_seconds_for_1m": GOALS["postgresql" if "postgres" in label else "sqlite"],
            "projected_seconds_for_1m": round(1_000_000 / (done.rows_read / seconds), 1)}


def _cpu() -> float:
    """This process's CPU seconds (every thread): on a shared machine, wall time says
    as much about the neighbours as about the import."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _server_cpu(engine: Engine) -> float:
    """CPU seconds of the PostgreSQL backends serving this database, when the server runs
    on this machine (read from /proc); 0 on SQLite or elsewhere."""
    if engine.dialect.name != "postgresql":
        return 0.0
    with engine.connect() as conn:
        pids = list(conn.execute(text("SELECT pid FROM pg_stat_activity "
                                      "WHERE datname = current_database()")).scalars())
    ticks, total = os.sysconf("SC_CLK_TCK"), 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / ticks
    return total


def _child(settings: Settings, path: str, label: str, queue: Any) -> None:
    queue.put(_measure(settings, Path(path), label))


def _in_process(settings: Settings, path: Path, label: str) -> dict[str, Any]:
    """Measure in a fresh process: its peak memory is the import's alone."""
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    child = context.Process(target=_child, args=(settings, str(path), label, queue))
    child.start()
    result: dict[str, Any] = queue.get()
    child.join()
    return result


def _postgres(url: str) -> str | None:
    """A database of this bench's own (other benches may use theirs meanwhile)."""
    try:
        admin = create_engine(url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text("DROP DATABASE IF EXISTS nurture_bench_import WITH (FORCE)"))
            conn.execute(text("CREATE DATABASE nurture_bench_import"))
        admin.dispose()
    except Exception:
        return None
    return url.rsplit("/", 1)[0] + "/nurture_bench_import"


def run_import_bench(base: Settings, rows: int, databases: tuple[str, ...] = ("sqlite",
                     "postgresql"), echo: Callable[[str], None] = print) -> dict[str, Any]:
    result: dict[str, Any] = {"rows": rows, "rss_goal_mb": RSS_GOAL_MB}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "contacts.csv"
        echo(f"writing {rows:,} rows to a CSV file...")
        write_file(path, rows)
        result["file_mb"] = round(path.stat().st_size / 1024 / 1024, 1)
        if "sqlite" in databases:
            echo("importing into SQLite...")
            settings = base.with_(database_url=f"sqlite:///{Path(tmp) / 'bench.db'}",
                                  redis_url=None, var_dir=Path(tmp))
            result["sqlite"] = _in_process(settings, path, "sqlite")
        if "postgresql" in databases:
            pg = _postgres(os.environ.get(
                "BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"))
            if pg is None:
                result["postgresql"] = "not reachable"
            else:
                echo("importing into PostgreSQL...")
                settings = base.with_(database_url=pg, redis_url=None, var_dir=Path(tmp))
                result["postgresql"] = _in_process(settings, path, "postgresql")
    return result
