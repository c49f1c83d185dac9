"""How many messages a killed worker thread loses: the kill test of
`test_exactly_once_smtp.py`, repeated. Real workers deliver to aiosmtpd; one is killed
with SIGKILL, again and again, each time after a random number of messages, and a new one
takes over. Afterwards every send the killed workers left `sending` is `failed`
(outcome unknown); those aiosmtpd never received are lost, the others were delivered
though their outcome is unknown. Prints JSON.

    python -m tests.nurture.sending.kill_measure --kills 20
    python -m tests.nurture.sending.kill_measure --kills 20 \\
        --database-url postgresql://postgres@127.0.0.1:5432/postgres

A PostgreSQL URL names the server: the run makes its own database there and drops it.
Needs Redis (`NURTURE_TEST_REDIS_URL`, default redis://127.0.0.1:6379/0) and aiosmtpd.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url

from nurture.config import PROJECT_ROOT, Settings
from nurture.contacts.services import upsert_contacts
from nurture.events.bus import NewEvent
from nurture.events.recorder import record_events
from nurture.sending.models import Send
from tests.helpers import (
    INTERRUPTED,
    count,
    free_port,
    process_env,
    publish_text,
    received_lines,
    spawn,
    start_aiosmtpd,
    stop,
    wait_for,
)

THREADS = 4
JOURNEY = """
    id: kills
    name: Killed workers
    entry: {event: contact.created}
    steps:
      - {id: hello, send: trial-welcome, class: transactional}
"""


def _database(url: str | None, folder: Path) -> tuple[str, object]:
    """A fresh database for the run, and how to drop it afterwards."""
    if not url:
        return f"sqlite:///{folder / 'kills.db'}", lambda: None
    name = f"nurture_kills_{uuid.uuid4().hex[:8]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name}"))

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        admin.dispose()

    return make_url(url).set(database=name).render_as_string(hide_password=False), drop


def measure(kills: int, database_url: str | None, seed: int) -> dict:
    from nurture.app.composition import build
    from nurture.migrate import upgrade

    rng = random.Random(seed)
    folder = Path(tempfile.mkdtemp(prefix="nurture-kills-"))
    url, drop = _database(database_url, folder)
    contacts = 1000 + 400 * kills
    settings = Settings(database_url=url, redis_url=None, smtp_url=None,
                        secret_key="kill-measure", base_url="http://localhost:5000",
                        timezone="UTC", var_dir=folder,
                        templates_dir=PROJECT_ROOT / "templates", lease_seconds=4)
    rt = build(settings, with_transport=False)
    upgrade(rt.db)
    publish_text(rt, JOURNEY)
    with rt.db.transaction() as session:
        ids = upsert_contacts(session, [{"email": f"c{i}@example.com"}
                                        for i in range(contacts)])
        record_events(session, rt.subscribers, [NewEvent(i, "contact.created")
                                             for i in ids.values()], rt.clock.now())
    received = folder / "received.tsv"
    received.touch()
    port = free_port()
    env = process_env(url, port, folder, f"nurture-kills-{uuid.uuid4().hex[:8]}")
    log = open(folder / "processes.log", "w")  # noqa: SIM115 - outlives the block
    processes: list[subprocess.Popen] = []
    done = 0
    try:
        processes.append(start_aiosmtpd(port, received, log))
        processes.append(spawn(["scheduler"], env, log))
        worker = spawn(["worker", "--threads", str(THREADS)], env, log)
        processes.append(worker)
        while done < kills:
            target = len(received_lines(received)) + rng.randint(50, 250)
            if target >= contacts - 100:
                break  # too little left to kill mid-batch
            wait_for(lambda t=target: len(received_lines(received)) >= t, 120)
            worker.send_signal(signal.SIGKILL)
            worker.wait()
            done += 1
            worker = spawn(["worker", "--threads", str(THREADS)], env, log)
            processes.append(worker)
        wait_for(lambda: count(rt, Send, Send.id > 0) == contacts and
                 count(rt, Send, Send.status.in_(("queued", "sending"))) == 0, 300)
    finally:
        stop(processes, log)
    got = {recipient for recipient, _ in received_lines(received)}
    with rt.db.sessions() as session:
        interrupted = set(session.scalars(select(Send.to_email).where(
            Send.status == "failed", Send.reason == INTERRUPTED)))
        sent = count(rt, Send, Send.status == "sent")
    rt.close()
    drop()
    lost = interrupted - got
    killed_threads = done * THREADS
    return {"database": make_url(url).get_backend_name(), "kills": done,
            "threads_per_worker": THREADS, "killed_threads": killed_threads,
            "messages": contacts, "sent": sent, "received": len(received_lines(received)),
            "outcome_unknown": len(interrupted), "lost": len(lost),
            "delivered_outcome_unknown": len(interrupted & got),
            "lost_per_killed_thread": round(len(lost) / max(1, killed_threads), 3),
            "received_twice": len(received_lines(received)) - len(got)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--database-url", default=os.environ.get("NURTURE_TEST_DATABASE_URL"))
    parser.add_argument("--seed", type=int, default=15)
    args = parser.parse_args()
    started = time.monotonic()
    result = measure(args.kills, args.database_url, args.seed)
    result["seconds"] = round(time.monotonic() - started, 1)
    json.dump(result, sys.stdout, indent=2)
    print()


if __name__ == "__main__":
    main()
