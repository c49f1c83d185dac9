"""Recording a batch does what recording its events one at a time does: the same scores,
score ledger, enrollments and hand-offs, in two fresh databases fed the same events."""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select, text

from journeys.loader import iter_files
from journeys.models import Enrollment
from nurture.app.composition import build
from nurture.app.journeys_ops import publish_files
from nurture.app.runtime import Runtime
from nurture.clock import FrozenClock
from nurture.config import Settings
from nurture.contacts.models import Contact
from nurture.contacts.services import upsert_contacts
from nurture.events.bus import NewEvent
from nurture.events.models import Event
from nurture.events.services import record_many
from nurture.migrate import upgrade
from scoring.models import ContactScore, Handoff, ScoreEntry
from tests.conftest import PG_URL
from tests.helpers import START, publish_text

TYPES = ["email.opened", "email.clicked", "page.visited", "webinar.attended",
         "content.downloaded", "custom.app_login", "trial.started", "demo.requested",
         "email.opened", "page.visited"]
HOT = """
    id: hot-leads
    name: Hot leads
    entry: {when: "score >= 40"}
    steps:
      - {id: wait, wait: 3d}
"""


@pytest.fixture
def fresh(settings: Settings, tmp_path: Path) -> Iterator[list[Runtime]]:
    """Two runtimes on two fresh databases (no workers: the work they make due waits)."""
    urls, names = [], []
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT") if PG_URL else None
    for n in range(2):
        if admin is None:
            urls.append(f"sqlite:///{tmp_path / f'fresh{n}.db'}")
            continue
        names.append(f"nurture_fresh_{uuid.uuid4().hex[:8]}")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{names[-1]}"'))
        urls.append(PG_URL.rsplit("/", 1)[0] + f"/{names[-1]}")
    runtimes = [build(settings.with_(database_url=url, redis_url=None), clock=FrozenClock(START))
                for url in urls]
    try:
        yield runtimes
    finally:
        for runtime in runtimes:
            runtime.close()
        if admin is not None:
            with admin.connect() as conn:
                for name in names:
                    conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()


def _prepare(rt: Runtime) -> list[int]:
    upgrade(rt.db)
    publish_files(rt, iter_files([rt.settings.journeys_dir]), echo=lambda _m: None)
    publish_text(rt, HOT)
    rng = random.Random(5)
    people = [{"email": f"lead{i}@example.com", "industry": rng.choice(["retail", "mining"]),
               "company_size": rng.choice([20, 300, 5000]), "role": "Head of IT",
               "country": rng.choice(["FR", "BR"])} for i in range(12)]
    with rt.db.transaction() as session:
        ids = upsert_contacts(session, people)
    return [ids[p["email"]] for p in people]


def _events(ids: list[int]) -> list[NewEvent]:
    rng = random.Random(9)
    return [NewEvent(rng.choice(ids), rng.choice(TYPES),
                     {"path": rng.choice(["/pricing", "/blog"])},
                     START - timedelta(hours=6) + timedelta(minutes=3 * n))
            for n in range(120)]


def _outcome(rt: Runtime) -> dict[str, list]:
    """Everything the events moved, named by contact address and event type and time
    rather than by ids (the follow-up events take ids in a different order)."""
    with rt.db.sessions() as session:
        email = {cid: address for cid, address in session.execute(
            select(Contact.id, Contact.email))}
        event = {e.id: (e.type, e.occurred_at) for e in session.scalars(select(Event))}
        return {
            "contacts": sorted((c.email, c.score, c.stage) for c in session.scalars(
                select(Contact))),
            "scores": sorted((email[s.contact_id], s.fit, round(s.engagement, 6),
                              s.engagement_at, s.grade) for s in session.scalars(
                select(ContactScore))),
            "ledger": sorted((email[e.contact_id], e.kind, e.rule, round(e.delta, 6), e.at,
                              event.get(e.event_id)) for e in session.scalars(
                select(ScoreEntry))),
            "enrollments": sorted((email[e.contact_id], e.journey_id, e.status, e.entered_at)
                                  for e in session.scalars(select(Enrollment))),
            "handoffs": sorted((email[h.contact_id], h.trigger, h.reason, h.score, h.grade,
                                h.status) for h in session.scalars(select(Handoff))),
            "events": sorted((email[e.contact_id], e.type, e.occurred_at) for e in
                             session.scalars(select(Event))),
        }


def test_a_batch_scores_enrolls_and_hands_off_as_its_events_one_by_one(fresh):
    one_by_one, batched = fresh
    plan = _events(_prepare(one_by_one))
    assert _events(_prepare(batched)) == plan
    for item in plan:
        record_many(one_by_one, [item])
    record_many(batched, plan)
    alone, together = _outcome(one_by_one), _outcome(batched)
    assert alone["enrollments"] and len(alone["ledger"]) > 100
    assert {h[1] for h in alone["handoffs"]} == {"hand_raiser", "score"}
    for part in alone:
        assert together[part] == alone[part], part
