"""Real worker processes on Redis: kill one with SIGKILL mid-batch and flush Redis; the
leases run out, the scheduler claims the work again, and every step runs exactly once."""

from __future__ import annotations

import os
import signal
from collections import Counter

import pytest
import redis
from sqlalchemy import func, select

from journeys.models import Activity, Enrollment
from nurture.app.composition import build
from nurture.contacts.services import upsert_contacts
from nurture.events.bus import NewEvent
from nurture.events.recorder import record_events
from nurture.sending.models import Send
from tests.helpers import PROCESS_REDIS_URL, clean, publish_text, redis_or_skip, spawn, wait_for

CONTACTS = 1500


@pytest.mark.slow
def test_killed_worker_and_flushed_redis_lose_nothing_and_repeat_nothing(settings, tmp_path):
    redis_or_skip()

    namespace = f"nurture-crash-{os.getpid()}"
    rt = build(settings.with_(redis_url=None))  # this process only writes the database
    clean(rt.db)
    publish_text(rt, """
        id: crash
        name: Crash test
        entry: {event: contact.created}
        steps:
          - {id: first, send: trial-welcome, class: transactional}
          - {id: pause, wait: 5s}
          - {id: second, send: trial-ending, class: transactional}
    """)
    now = rt.clock.now()
    with rt.db.transaction() as session:
        ids = upsert_contacts(session, [{"email": f"c{i}@example.com"} for i in range(CONTACTS)])
        record_events(session, rt.subscribers, [NewEvent(i, "contact.created") for i in
                                             ids.values()], now)
    # No kick: the scheduler process will claim everything as due.
    env = {**os.environ, "DATABASE_URL": settings.database_url, "REDIS_URL": PROCESS_REDIS_URL,
           "NURTURE_VAR_DIR": str(tmp_path), "NURTURE_QUEUE_NAMESPACE": namespace,
           "NURTURE_LEASE_SECONDS": "4", "NURTURE_POLL_SECONDS": "0.2",
           "SECRET_KEY": "crash-test", "PYTHONUNBUFFERED": "1"}
    env.pop("SMTP_URL", None)
    log = open(tmp_path / "processes.log", "w")  # noqa: SIM115 - outlives the block
    victim = spawn(["worker", "--threads", "4"], env, log)
    survivor = None
    scheduler = spawn(["scheduler"], env, log)
    try:
        wait_for(lambda: _count(rt, Activity.kind == "entered") > 200, 60)
        victim.send_signal(signal.SIGKILL)  # mid-batch: its transactions roll back
        victim.wait()
        redis.Redis.from_url(PROCESS_REDIS_URL).flushdb()  # and every queued message is gone
        survivor = spawn(["worker", "--threads", "4"], env, log)
        wait_for(lambda: _count(rt, Enrollment.status == "completed") == CONTACTS, 120)
        # A send the killed worker was handing over stays `sending` until its lease runs
        # out; the scheduler then marks it failed (outcome unknown), never resends it.
        wait_for(lambda: _count(rt, Send.status.in_(("queued", "sending"))) == 0, 60)
    finally:
        for proc in (scheduler, survivor, victim):
            if proc is not None and proc.poll() is None:
                proc.terminate()
                proc.wait(10)
        log.close()
    with rt.db.sessions() as session:
        entered = Counter(session.execute(
            select(Activity.enrollment_id, Activity.step_id).where(Activity.kind == "entered")
        ).all())
        per_contact = Counter(c for (c,) in session.execute(select(Send.contact_id)))
        statuses = Counter(s for (s,) in session.execute(select(Send.status)))
    assert len(entered) == CONTACTS * 3 and set(entered.values()) == {1}, "a step ran twice"
    assert set(per_contact.values()) == {2} and len(per_contact) == CONTACTS
    # Sends a killed worker was handing over have an unknown outcome: never resent.
    assert statuses["sent"] + statuses["failed"] == CONTACTS * 2
    assert statuses["failed"] <= 8
    rt.close()


def _count(rt, condition) -> int:
    model = condition.left.table
    with rt.db.sessions() as session:
        return session.scalar(select(func.count()).select_from(model).where(condition))

