"""Test helpers: publish journeys from text, make contacts, record events, run the work."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta
from textwrap import dedent
from typing import Any

from sqlalchemy import select, text

from journeys.loader import load_text
from journeys.models import Activity, Enrollment
from journeys.services import publish
from nurture.app.runtime import Runtime
from nurture.app.scheduler.loop import tick
from nurture.contacts.models import Contact
from nurture.contacts.services import upsert_contacts
from nurture.events.bus import NewEvent
from nurture.events.services import record_many
from nurture.sending.models import Send

# One transactional email on an event: the smallest journey that sends.
HELLO = """
    id: hi
    name: Hi
    entry: {event: custom.joined}
    steps:
      - {id: hello, send: trial-welcome, transactional: true}
"""


def publish_text(rt: Runtime, source: str) -> int:
    loaded = load_text(dedent(source), "test.yaml")
    assert not loaded.violations, loaded.violations
    with rt.db.transaction() as session:
        return publish(session, loaded).version


def contact(rt: Runtime, email: str = "ann@example.com", **fields: Any) -> int:
    with rt.db.transaction() as session:
        return upsert_contacts(session, [{"email": email, **fields}])[email.lower()]


def event(rt: Runtime, contact_id: int, type_: str, **properties: Any) -> None:
    record_many(rt, [NewEvent(contact_id, type_, properties)])
    run_due(rt)


def run_due(rt: Runtime, rounds: int = 50) -> int:
    """Run the scheduler and the worker until nothing is due: the real path, end to end."""
    total = 0
    for _ in range(rounds):
        rt.transport.join()
        claimed = sum(tick(rt).values())
        rt.transport.join()
        if not claimed:
            return total
        total += claimed
    raise AssertionError("work kept coming due: a loop without a wait?")


def advance_clock(rt: Runtime, delta: timedelta, step: timedelta = timedelta(hours=1)) -> None:
    """Move time forward in steps, running due work at each step."""
    end = rt.clock.now() + delta
    while rt.clock.now() < end:
        rt.clock.advance(min(step, end - rt.clock.now()))
        run_due(rt)


def sends(rt: Runtime, contact_id: int | None = None) -> list[Send]:
    with rt.db.sessions() as session:
        query = select(Send).order_by(Send.id)
        if contact_id is not None:
            query = query.where(Send.contact_id == contact_id)
        return list(session.scalars(query))


def enrollments(rt: Runtime, contact_id: int | None = None) -> list[Enrollment]:
    with rt.db.sessions() as session:
        query = select(Enrollment).order_by(Enrollment.id)
        if contact_id is not None:
            query = query.where(Enrollment.contact_id == contact_id)
        return list(session.scalars(query))


def activity(rt: Runtime, kind: str) -> list[Activity]:
    with rt.db.sessions() as session:
        return list(session.scalars(select(Activity).where(Activity.kind == kind)
                                    .order_by(Activity.id)))


def get_contact(rt: Runtime, contact_id: int) -> Contact:
    with rt.db.sessions() as session:
        return session.get(Contact, contact_id)


def wait_for(predicate: Callable[[], bool], seconds: float) -> None:
    """Poll until `predicate()` holds (real processes at work), or fail after `seconds`."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"not done within {seconds}s")


def tampered(token: str) -> str:
    """The token with one signature character changed. Not the last one: in base64 its low
    bits are padding, so some changes there decode to the same signature."""
    return token[:-5] + ("B" if token[-5] == "A" else "A") + token[-4:]


PASSWORD = "correct horse battery"


def signed_in(rt: Runtime, role: str) -> Any:
    """A web test client signed in as a new user with this role (`role@example.com`)."""
    import re

    from nurture.users import services
    from web import create_app

    with rt.db.transaction() as session:
        services.create_user(session, f"{role}@example.com", role.title(), role, PASSWORD,
                             now=rt.clock.now())
    client = create_app(rt).test_client()
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text).group(1)
    client.post("/login", data={"csrf_token": token, "email": f"{role}@example.com",
                                "password": PASSWORD})
    return client


def wait_for_a_lock_wait(rt: Runtime, seconds: float = 10.0) -> None:
    """Until a connection to this PostgreSQL database waits for a row lock."""
    deadline = time.monotonic() + seconds
    with rt.db.engine.connect() as conn:
        while time.monotonic() < deadline:
            if conn.execute(text(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND wait_event_type = 'Lock'")).scalar():
                return
            conn.rollback()
            time.sleep(0.02)
    raise AssertionError("nothing waited for a lock")
