"""`nurture bench guard`: what the guard costs on PostgreSQL with N sends in the window:
judging one journey after an intake, the scheduler's round, and the pause check that each
batch of delivering and advancing makes. Its own database (`nurture_bench_guard`)."""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

from sqlalchemy import create_engine, insert, text

from nurture.app import guard
from nurture.app.composition import build
from nurture.clock import FrozenClock
from nurture.config import Settings
from nurture.contacts.models import Contact
from nurture.migrate import upgrade
from nurture.sending import feedback, pauses
from nurture.sending.models import Send

JOURNEYS = 20
NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def _median_ms(work: Callable[[], object], runs: int = 20) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return round(statistics.median(times) * 1000, 3)


def run_guard_bench(base: Settings, sends: int, echo: Callable[[str], None] = print
                    ) -> dict[str, Any]:
    url = os.environ.get("BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text("DROP DATABASE IF EXISTS nurture_bench_guard WITH (FORCE)"))
        conn.execute(text("CREATE DATABASE nurture_bench_guard"))
    admin.dispose()
    with TemporaryDirectory() as tmp:
        settings = base.with_(database_url=url.rsplit("/", 1)[0] + "/nurture_bench_guard",
                              redis_url=None, var_dir=Path(tmp))
        rt = build(settings, clock=FrozenClock(NOW), with_transport=False)
        try:
            upgrade(rt.db)
            _seed(rt, sends, echo)
            with rt.db.sessions() as session:
                since = NOW - timedelta(days=settings.guard.window_days)
                result = {
                    "sends": sends, "journeys": JOURNEYS,
                    "window_days": settings.guard.window_days,
                    "judge_one_journey_ms": _median_ms(
                        lambda: feedback.journey_counts(session, since, ["j7"])),
                    "journeys_with_feedback_ms": _median_ms(
                        lambda: feedback.recent_journeys(session, since)),
                    "pause_check_per_batch_ms": _median_ms(lambda: pauses.reasons(session)),
                }
            result["scheduler_round_ms"] = _median_ms(lambda: guard.run_guard_jobs(rt), 5)
        finally:
            rt.close()
    return result


def _seed(rt: Any, sends: int, echo: Callable[[str], None]) -> None:
    """`sends` marketing sends over 30 days across the journeys, one in 2,000 complained of
    and one in 500 hard-bounced (within the limits: nothing pauses)."""
    contacts = 10_000
    with rt.db.transaction() as session:
        session.execute(insert(Contact), [
            {"email": f"c{i}@bench.example", "email_key": f"c{i}@bench.example"}
            for i in range(contacts)])
    first = 1
    chunk = 20_000
    for start in range(0, sends, chunk):
        rows = []
        for i in range(start, min(start + chunk, sends)):
            at = NOW - timedelta(minutes=(i * 43_200) // sends)  # spread over 30 days
            said = "complaint" if i % 2000 == 0 else "hard_bounce" if i % 500 == 1 else None
            rows.append({
                "send_key": f"b:{i}", "contact_id": first + i % contacts,
                "to_email": f"c{i % contacts}@bench.example", "journey_id": f"j{i % JOURNEYS}",
                "template": "t", "variant": "", "message_class": "marketing", "topic": "",
                "status": "sent", "created_at": at, "sent_at": at, "feedback": said,
                "feedback_at": at if said else None})
        with rt.db.transaction() as session:
            session.execute(insert(Send), rows)
        echo(f"seeded {min(start + chunk, sends)} sends")
    with rt.db.engine.connect() as conn:
        conn.execute(text("ANALYZE"))
