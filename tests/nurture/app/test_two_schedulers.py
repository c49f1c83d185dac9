"""Two scheduler processes on one PostgreSQL database: every due row is enqueued exactly
once per lease, whichever scheduler claims it, and both take part; when the leases run out
(no worker came), each row is enqueued exactly once more."""

from __future__ import annotations

import json
import os
from collections import Counter

import pytest
import redis
from sqlalchemy import func, select, update

from journeys.models import Enrollment
from nurture.app.composition import build
from nurture.contacts.services import upsert_contacts
from nurture.events.bus import NewEvent
from nurture.events.recorder import record_events
from tests.helpers import PROCESS_REDIS_URL, clean, publish_text, redis_or_skip, spawn, wait_for

CONTACTS = 4000
BATCH = 200  # rows per claim: many claims, so that both schedulers race for them


def _enqueued(client: redis.Redis, namespace: str) -> Counter:
    """How many times each enrollment id sits in a message on the journeys queue."""
    found: Counter = Counter()
    for raw in client.hvals(f"{namespace}:journeys.msgs"):
        message = json.loads(raw)
        assert message["actor_name"] == "advance_enrollments"
        found.update(message["args"][0])
    return found


@pytest.mark.slow
def test_two_schedulers_enqueue_each_due_row_once_per_lease(settings, tmp_path):
    if not settings.database_url.startswith("postgresql"):
        pytest.skip("Schedulers side by side need PostgreSQL (FOR UPDATE SKIP LOCKED).")
    redis_or_skip()
    namespace = f"nurture-schedulers-{os.getpid()}"
    client = redis.Redis.from_url(PROCESS_REDIS_URL)
    rt = build(settings.with_(redis_url=None))
    clean(rt.db)
    publish_text(rt, """
        id: both
        name: Two schedulers
        entry: {event: contact.created}
        steps:
          - {id: hello, send: trial-welcome}
    """)
    with rt.db.transaction() as session:
        ids = upsert_contacts(session, [{"email": f"s{i}@example.com"} for i in range(CONTACTS)])
        record_events(session, rt.subscribers, [NewEvent(i, "contact.created")
                                                for i in ids.values()], rt.clock.now())
    with rt.db.sessions() as session:
        due = set(session.scalars(select(Enrollment.id)))
    assert len(due) == CONTACTS
    env = {**os.environ, "DATABASE_URL": settings.database_url, "REDIS_URL": PROCESS_REDIS_URL,
           "NURTURE_VAR_DIR": str(tmp_path), "NURTURE_QUEUE_NAMESPACE": namespace,
           "NURTURE_LEASE_SECONDS": "600", "NURTURE_POLL_SECONDS": "0.05",
           "NURTURE_CLAIM_BATCH": str(BATCH), "SECRET_KEY": "two-schedulers",
           "PYTHONUNBUFFERED": "1"}
    paths = [tmp_path / f"scheduler-{k}.log" for k in range(2)]
    logs = [open(path, "w") for path in paths]  # noqa: SIM115 - outlive the block
    schedulers = [spawn(["-v", "scheduler"], env, log) for log in logs]
    try:
        wait_for(lambda: sum(_enqueued(client, namespace).values()) >= CONTACTS, 90)
        first = _enqueued(client, namespace)
        # No worker takes them: every lease runs out. Both schedulers release and claim
        # again; each row must come back exactly once more.
        with rt.db.transaction() as session:
            session.execute(update(Enrollment).values(
                lease_until=func.now() - func.make_interval(0, 0, 0, 0, 0, 1)))
        wait_for(lambda: sum(_enqueued(client, namespace).values()) >= 2 * CONTACTS, 90)
        second = _enqueued(client, namespace)
    finally:
        for proc, log in zip(schedulers, logs, strict=True):
            proc.terminate()
            proc.wait(10)
            log.close()
        for key in client.scan_iter(f"{namespace}:*"):
            client.delete(key)
        rt.close()
    assert set(first) == due and set(first.values()) == {1}, "a row was enqueued twice"
    assert set(second) == due and set(second.values()) == {2}, "not once per lease"
    claimed = ["'advance_enrollments': " in path.read_text() for path in paths]
    assert claimed == [True, True], "both schedulers should have claimed some rows"
