"""A use case's unit of work: what it makes due is leased and kicked only by a process that
will run it; elsewhere (a command on the in-process broker) it is left to the scheduler."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from datetime import timedelta

from dramatiq.brokers.stub import StubBroker
from sqlalchemy import select

from journeys.models import Enrollment
from nurture.app.runtime import Runtime
from nurture.app.scheduler.loop import run as run_scheduler
from nurture.broker import Transport
from nurture.clock import Clock
from nurture.config import PROJECT_ROOT
from nurture.events.bus import NewEvent
from nurture.events.services import record_many
from tests.helpers import (
    HELLO,
    contact,
    enrollments,
    publish_text,
    run_due,
    running,
    sends,
    wait_for,
)


def test_a_process_with_workers_leases_what_it_makes_due_and_runs_it(rt, clock):
    publish_text(rt, HELLO)
    ann = contact(rt)
    rt.transport.lane_worker.pause()  # so that the lease is seen before the worker runs it
    record_many(rt, [NewEvent(ann, "custom.joined")])  # (journeys go by the lane's threads)
    with rt.db.sessions() as session:
        lease = session.scalar(select(Enrollment.lease_until))
    assert lease == clock.now() + rt.lease  # the scheduler leaves it to the kicked message
    rt.transport.lane_worker.resume()
    rt.transport.join()
    assert [s.status for s in sends(rt, ann)] == ["sent"]


def test_a_process_without_workers_leaves_what_it_makes_due_to_the_scheduler(settings, clock,
                                                                              rt):
    publish_text(rt, HELLO)
    ann = contact(rt)
    # A command's runtime: the in-process broker, no worker started.
    command = Runtime(settings, rt.db, clock, rt.sender, Transport(StubBroker()),
                      subscribers=rt.subscribers)
    record_many(command, [NewEvent(ann, "custom.joined")])
    [enrollment] = enrollments(rt, ann)
    assert enrollment.lease_until is None and enrollment.next_run_at <= clock.now()
    run_due(rt)  # the running instance's next poll
    assert [s.status for s in sends(rt, ann)] == ["sent"]


def test_an_event_recorded_by_a_command_is_sent_by_the_running_instance_in_seconds(settings,
                                                                                   tmp_path):
    """`nurture events record` beside `nurture run`, both embedded (in-process broker): the
    command's work used to wait for a lease given to the command's own broker (10 min)."""
    embedded = settings.with_(redis_url=None, lease_seconds=600, poll_seconds=0.2)
    with running(embedded, Clock()) as instance:
        publish_text(instance, HELLO)
        contact(instance, "ann@example.com")
        stop = threading.Event()
        scheduler = threading.Thread(target=run_scheduler, args=(instance, stop), daemon=True)
        scheduler.start()
        try:
            env = {k: v for k, v in os.environ.items()
                   if k not in ("REDIS_URL", "SMTP_URL") and not k.startswith("NURTURE_")}
            env |= {"DATABASE_URL": embedded.database_url, "NURTURE_VAR_DIR": str(tmp_path),
                    "SECRET_KEY": embedded.secret_key, "NURTURE_LEASE_SECONDS": "600"}
            started = time.monotonic()
            done = subprocess.run(
                [sys.executable, "-m", "nurture.app.cli", "events", "record", "ann@example.com",
                 "custom.joined"], env=env, cwd=PROJECT_ROOT, capture_output=True, text=True,
                timeout=120)
            assert done.returncode == 0, done.stderr
            outbox = embedded.outbox_dir
            wait_for(lambda: any(outbox.glob("*.eml")), 60)
            assert time.monotonic() - started < timedelta(minutes=2).total_seconds()
        finally:
            stop.set()
            scheduler.join(10)
    assert [s.status for s in sends(instance)] == ["sent"]
