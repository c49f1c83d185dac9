"""`nurture bench partitions`: would partitioning events and sends by month make pruning or
claiming faster at a million rows, on PostgreSQL? (Issue 22: adopt it only for a cut of
30% or more.)

Two copies of each table on one fresh database: the schema's own (`events`, `sends`, with
their indexes) and a copy partitioned by month (`events_by_month` on `occurred_at`,
`sends_by_month` on `created_at`), the same indexes on each partition, the same rows: a year
of history spread evenly. Then, on each copy:
- **prune** a month: the retention's way on the plain table (roll the month up by day and
  type, then delete in batches of 5,000 ids), and on the partitioned one the same roll-up
  then `DROP` of the month's partition (detached first, as one would in production);
- **claim** 5,000 due sends, as the scheduler does (`FOR UPDATE SKIP LOCKED` on the partial
  index of unleased due rows), several times, each time on fresh due rows.

A partitioned table's unique keys must include the partition key: `sends.send_key` alone
could no longer be unique across months. The copy keeps it unique with a plain table of keys
(`send_keys_by_month`, primary key `send_key`) that each insert writes first; its cost is
measured too (inserting the sends of a 10,000-recipient broadcast).
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.engine import Connection

from nurture.app.bench.databases import POSTGRES, fresh_postgres
from nurture.config import Settings
from nurture.contacts.models import Contact
from nurture.db import Database
from nurture.migrate import upgrade
from nurture.writes import insert_returning

Echo = Callable[[str], None]
MONTHS = 12
START = "2025-12-01"
GOAL_CUT = 0.30
CLAIMS = 7
CLAIM_BATCH = 5000
CONTACTS = 100_000


def _months() -> list[tuple[str, str]]:
    spans = []
    for k in range(MONTHS + 1):
        y, m = 2025 + (11 + k) // 12, (11 + k) % 12 + 1
        y2, m2 = 2025 + (12 + k) // 12, (12 + k) % 12 + 1
        spans.append((f"{y:04d}-{m:02d}-01", f"{y2:04d}-{m2:02d}-01"))
    return spans


def _fill(conn: Connection, rows: int, echo: Echo) -> None:
    echo(f"partitions: {rows:,} events and {rows:,} sends over {MONTHS} months...")
    span = f"interval '{MONTHS * 30} days'"
    conn.exec_driver_sql(
        "INSERT INTO events (contact_id, type, properties, occurred_at, recorded_at, source) "
        "SELECT 1 + g %% 100000, (ARRAY['email.opened','email.clicked','page.visited',"
        f"'email.sent'])[1 + g %% 4], '{{}}', timestamptz '{START}' + {span} * g / {rows}, "
        f"timestamptz '{START}' + {span} * g / {rows}, 'bench' "
        f"FROM generate_series(1, {rows}) g")
    conn.exec_driver_sql(
        "INSERT INTO sends (send_key, contact_id, to_email, role, template, variant, "
        "message_class, lane, topic, status, attempts, created_at, due_at, sent_at) "
        "SELECT 'b:' || g, 1 + g %% 100000, 'p' || g || '@example.com', 'contact', "
        "'retail-nurture-1a', '', 'marketing', 'bulk', '', 'sent', 1, "
        f"timestamptz '{START}' + {span} * g / {rows}, NULL, "
        f"timestamptz '{START}' + {span} * g / {rows} FROM generate_series(1, {rows}) g")


def _partitioned_copies(conn: Connection) -> None:
    conn.exec_driver_sql(
        "CREATE TABLE events_by_month (LIKE events INCLUDING DEFAULTS) "
        "PARTITION BY RANGE (occurred_at)")
    conn.exec_driver_sql("ALTER TABLE events_by_month ADD PRIMARY KEY (id, occurred_at)")
    conn.exec_driver_sql(
        "CREATE TABLE sends_by_month (LIKE sends INCLUDING DEFAULTS) "
        "PARTITION BY RANGE (created_at)")
    conn.exec_driver_sql("ALTER TABLE sends_by_month ADD PRIMARY KEY (id, created_at)")
    conn.exec_driver_sql("CREATE TABLE send_keys_by_month (send_key varchar(300) PRIMARY KEY)")
    for k, (low, high) in enumerate(_months()):
        for table in ("events_by_month", "sends_by_month"):
            conn.exec_driver_sql(f"CREATE TABLE {table}_{k} PARTITION OF {table} "
                                 f"FOR VALUES FROM ('{low}') TO ('{high}')")
    # The indexes of the plain tables, on the parents (each partition gets its own).
    for name, table, definition in conn.exec_driver_sql(
            "SELECT indexname, tablename, indexdef FROM pg_indexes WHERE tablename IN "
            "('events', 'sends') AND indexname NOT LIKE 'pk_%%' AND indexdef NOT LIKE "
            "'%%UNIQUE%%'").all():
        copy = definition.replace(f"ON public.{table} ", f"ON public.{table}_by_month ") \
                         .replace(f"INDEX {name} ", f"INDEX {name}_bm ")
        conn.exec_driver_sql(copy.replace("%", "%%"))
    conn.exec_driver_sql("INSERT INTO events_by_month SELECT * FROM events")
    conn.exec_driver_sql("INSERT INTO sends_by_month SELECT * FROM sends")
    conn.exec_driver_sql("INSERT INTO send_keys_by_month SELECT send_key FROM sends")
    conn.exec_driver_sql("ANALYZE")


def _timed(work: Callable[[], Any]) -> float:
    started = time.perf_counter()
    work()
    return time.perf_counter() - started


ROLLUP = ("SELECT date_trunc('day', occurred_at), type, count(*) FROM {table} "
          "WHERE occurred_at >= '{low}' AND occurred_at < '{high}' GROUP BY 1, 2")


def _prune_plain(engine: Any, low: str, high: str) -> float:
    def work() -> None:
        with engine.begin() as conn:
            conn.exec_driver_sql(ROLLUP.format(table="events", low=low, high=high)).all()
        while True:
            with engine.begin() as conn:
                ids = [r[0] for r in conn.exec_driver_sql(
                    f"SELECT id FROM events WHERE occurred_at < '{high}' ORDER BY id "
                    "LIMIT 5000").all()]
                if not ids:
                    return
                conn.execute(text("DELETE FROM events WHERE id = ANY(:ids)"), {"ids": ids})
    return _timed(work)


def _prune_partition(engine: Any, low: str, high: str) -> float:
    def work() -> None:
        with engine.begin() as conn:
            conn.exec_driver_sql(ROLLUP.format(table="events_by_month", low=low, high=high)
                                 ).all()
        with engine.begin() as conn:
            conn.exec_driver_sql("ALTER TABLE events_by_month DETACH PARTITION "
                                 "events_by_month_0")
            conn.exec_driver_sql("DROP TABLE events_by_month_0")
    return _timed(work)


CLAIM = ("UPDATE {table} SET lease_until = now() + interval '5 minutes' WHERE id = ANY(ARRAY("
         "SELECT id FROM {table} WHERE due_at <= now() AND lease_until IS NULL AND "
         "lane = 'bulk' AND status = 'queued' ORDER BY due_at LIMIT {n} "
         "FOR UPDATE SKIP LOCKED)) RETURNING id")


def _claims(engine: Any, table: str, rows: int) -> list[float]:
    """Make 5,000 of the newest sends due, claim them; again, on other rows."""
    found = []
    for k in range(CLAIMS):
        with engine.begin() as conn:
            conn.exec_driver_sql(
                f"UPDATE {table} SET status = 'queued', due_at = now() - interval '1 minute', "
                f"lease_until = NULL WHERE id > {rows - (k + 1) * CLAIM_BATCH} AND id <= "
                f"{rows - k * CLAIM_BATCH}")
        with engine.begin() as conn:
            conn.exec_driver_sql(f"ANALYZE {table}")
        with engine.begin() as conn:
            started = time.perf_counter()
            claimed = conn.exec_driver_sql(CLAIM.format(table=table, n=CLAIM_BATCH)).all()
            found.append(time.perf_counter() - started)
        assert len(claimed) == CLAIM_BATCH, f"{table}: claimed {len(claimed)}"
    return found


def _broadcast(engine: Any, partitioned: bool) -> float:
    """The sends of a 10,000-recipient broadcast, written in one INSERT ... SELECT."""
    table = "sends_by_month" if partitioned else "sends"
    keys = ("INSERT INTO send_keys_by_month SELECT 'x:' || g FROM generate_series(1, 10000) g;"
            if partitioned else "")

    def work() -> None:
        with engine.begin() as conn:
            if keys:
                conn.exec_driver_sql(keys)
            conn.exec_driver_sql(
                f"INSERT INTO {table} (id, send_key, contact_id, to_email, role, template, "
                "variant, message_class, lane, topic, status, attempts, created_at, due_at) "
                f"SELECT (SELECT max(id) FROM {table}) + g, 'x:' || g, 1 + g %% 100000, "
                "'x' || g || '@example.com', 'contact', 'retail-nurture-1a', '', 'marketing', "
                "'bulk', '', 'queued', 0, now(), now() FROM generate_series(1, 10000) g")
    return _timed(work)


def run_partitions_bench(base: Settings, rows: int, echo: Echo = print) -> dict[str, Any]:
    url = fresh_postgres(os.environ.get("BENCH_DATABASE_URL", POSTGRES),
                         "nurture_bench_partitions")
    if url is None:
        return {"skipped": "PostgreSQL is not reachable"}
    db = Database(url)
    upgrade(db)
    for start in range(0, CONTACTS, 10_000):  # with the model's defaults
        with db.transaction() as session:
            insert_returning(session, Contact, [
                {"email": f"p{i}@example.com", "email_key": f"p{i}@example.com",
                 "timezone": "UTC", "attributes": {}}
                for i in range(start, min(CONTACTS, start + 10_000))])
    db.dispose()
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1)
                           if url.startswith("postgresql://") else url)
    try:
        with engine.begin() as conn:
            _fill(conn, rows, echo)
        with engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE")
        echo("partitions: copying into tables partitioned by month...")
        with engine.begin() as conn:
            _partitioned_copies(conn)
        low, high = _months()[0]
        echo("partitions: pruning the oldest month...")
        prune = {"plain_seconds": round(_prune_plain(engine, low, high), 2),
                 "partitioned_seconds": round(_prune_partition(engine, low, high), 2)}
        echo("partitions: claiming due sends...")
        plain = _claims(engine, "sends", rows)
        split = _claims(engine, "sends_by_month", rows)
        claim = {"plain_ms": round(statistics.median(plain) * 1000, 1),
                 "partitioned_ms": round(statistics.median(split) * 1000, 1)}
        writes = {"plain_seconds": round(_broadcast(engine, False), 2),
                  "partitioned_with_key_table_seconds": round(_broadcast(engine, True), 2)}
    finally:
        engine.dispose()

    def cut(before: float, after: float) -> float:
        return round(1 - after / before, 2) if before else 0.0
    prune["cut"] = cut(prune["plain_seconds"], prune["partitioned_seconds"])
    claim["cut"] = cut(claim["plain_ms"], claim["partitioned_ms"])
    writes["cut"] = cut(writes["plain_seconds"], writes["partitioned_with_key_table_seconds"])
    return {"rows": rows, "months": MONTHS, "prune_a_month_of_events": prune,
            "claim_5000_due_sends": claim, "write_10000_sends": writes,
            "adopt_if_cut_at_least": GOAL_CUT,
            "adopt": prune["cut"] >= GOAL_CUT or claim["cut"] >= GOAL_CUT}
