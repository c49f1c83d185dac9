"""The priority lane: transactional and service mail never waits behind a marketing
backlog, in the claim order, in the queue or for a worker's threads."""

from __future__ import annotations

import json
from datetime import datetime

import pytest
from sqlalchemy import Boolean, DateTime, Integer, MetaData, Table, insert, select

from nurture.app.scheduler.loop import tick
from nurture.contacts.services import upsert_contacts
from nurture.db import Database
from nurture.events.bus import NewEvent
from nurture.events.services import record_many
from nurture.migrate import upgrade
from nurture.sending.models import Send
from nurture.sending.sink import Faults, SinkThread, SMTPSink, Store
from nurture.writes import insert_ignore
from tests.helpers import HELLO, contact, publish_text, rows, running, wait_for

MARKETING_TEMPLATE = "retail-nurture-1a"


@pytest.fixture
def lane_rt(settings, clock, tmp_path):
    """A runtime delivering over SMTP to a sink that logs each message in the order it was
    accepted, with one worker thread for everything but the lane (and the lane's own)."""
    log = tmp_path / "sink.jsonl"
    sink = SinkThread(SMTPSink(port=0, store=Store(log=log), faults=Faults()))
    with running(settings.with_(smtp_url=f"smtp://127.0.0.1:{sink.port}"), clock, 1) as rt:
        yield rt, log
    sink.stop()


def _backlog(rt, count: int) -> list[int]:
    """`count` marketing sends due now to consenting contacts, written in bulk as a
    broadcast writes them; their ids."""
    emails = [f"reader{i}@example.com" for i in range(count)]
    now = rt.clock.now()
    with rt.db.transaction() as session:
        ids = upsert_contacts(session, [{"email": e, "consent_marketing": True}
                                        for e in emails])
        return insert_ignore(session, Send, [
            {"send_key": f"broadcast:{e}", "contact_id": ids[e], "to_email": e,
             "template": MARKETING_TEMPLATE, "message_class": "marketing", "status": "queued",
             "created_at": now, "due_at": now} for e in emails], "send_key")


def _transactional(rt, contact_id: int, key: str = "login") -> int:
    """A log-in email due now, written by hand: a send with no journey."""
    now = rt.clock.now()
    with rt.db.transaction() as session:
        return insert_ignore(session, Send, [{
            "send_key": key, "contact_id": contact_id, "to_email": "ann@example.com",
            "template": "trial-welcome", "message_class": "transactional",
            "status": "queued", "created_at": now, "due_at": now}], "send_key")[0]


def _accepted(log) -> list[str]:
    """The recipients the sink accepted, in order."""
    if not log.exists():
        return []
    return [json.loads(line)["recipient"] for line in log.read_text().splitlines()]


def test_a_login_email_made_after_a_broadcast_backlog_is_delivered_before_most_of_it(
        lane_rt):
    rt, log = lane_rt
    publish_text(rt, HELLO)  # custom.joined sends trial-welcome, transactional
    ann = contact(rt, "ann@example.com")
    backlog = _backlog(rt, 600)
    assert tick(rt)["deliver_sends"] == 600  # claimed, and enqueued in messages of 500
    record_many(rt, [NewEvent(ann, "custom.joined", {})])  # a sign-up, after the backlog
    rt.transport.join()

    accepted = _accepted(log)
    assert len(accepted) == 601 and "ann@example.com" in accepted
    # One thread drains the backlog in order; the lane's threads advance the journey and
    # send the welcome beside it, rather than after the 600.
    assert accepted.index("ann@example.com") < 300, accepted.index("ann@example.com")
    assert {s.status for s in rows(rt, Send)} == {"sent"} and len(backlog) == 600


def test_transactional_mail_and_journeys_go_by_their_own_queues_and_threads(lane_rt):
    rt, log = lane_rt
    queues = {name: actor.queue_name for name, actor in rt.transport.actors.items()}
    assert queues["deliver_priority_sends"] == "sending_priority" != queues["deliver_sends"]
    publish_text(rt, HELLO)
    ann = contact(rt, "ann@example.com")
    _backlog(rt, 3)
    rt.transport.lane_worker.pause()  # the lane's threads stop; the others go on
    # A journey's log-in email, and one that a use case makes due under the bulk kind's
    # name: the row's lane routes it.
    record_many(rt, [NewEvent(ann, "custom.joined", {})])
    login = _transactional(rt, ann)
    with rt.work(rt.clock.now()) as work:
        work.due("deliver_sends", [login])
    tick(rt)
    wait_for(lambda: len(_accepted(log)) == 3, 30)  # the marketing backlog went
    assert rows(rt, Send, Send.id == login)[0].status == "queued"
    assert "ann@example.com" not in _accepted(log)

    rt.transport.lane_worker.resume()
    rt.transport.join()
    assert _accepted(log).count("ann@example.com") == 2  # the journey's and the login
    assert {(s.message_class, s.lane, s.status) for s in rows(rt, Send)} == {
        ("marketing", "bulk", "sent"), ("transactional", "priority", "sent")}


def test_a_tick_claims_the_lane_first_and_again_between_full_bulk_rounds(settings, clock):
    with running(settings.with_(claim_batch=10), clock) as rt:
        ann = contact(rt, "ann@example.com")
        first = _transactional(rt, ann, "first")
        _backlog(rt, 30)
        kicks: list[tuple[str, list[int]]] = []
        later: list[int] = []

        def kick(actor: str, ids: list[int]) -> None:  # a worker that never runs them
            if ids:
                kicks.append((actor, ids))
            if actor == "deliver_sends" and not later:  # a sign-up commits mid-claim
                later.append(_transactional(rt, ann, "later"))

        rt.kick = kick  # type: ignore[method-assign]
        claimed = tick(rt)

    assert claimed["deliver_priority_sends"] == 2 and claimed["deliver_sends"] == 30
    assert [actor for actor, _ in kicks] == ["deliver_priority_sends", "deliver_sends",
                                             "deliver_priority_sends", "deliver_sends",
                                             "deliver_sends"]
    assert kicks[0][1] == [first] and kicks[2][1] == later


def test_every_way_of_writing_a_send_fills_its_lane_from_its_class(rt):
    ann = contact(rt, "ann@example.com")
    now = rt.clock.now()
    classes = ["transactional", "service", "marketing"]
    with rt.db.transaction() as session:
        session.add(Send(send_key="orm", contact_id=ann, to_email="a@example.com",
                         template="trial-welcome", message_class="service"))
        session.add(Send(send_key="orm-default", contact_id=ann, to_email="a@example.com",
                         template="trial-welcome"))
        # Few rows go through the ORM's insert, many through the bulk path.
        for count in (3, 60):
            insert_ignore(session, Send, [
                {"send_key": f"{count}:{i}", "contact_id": ann, "to_email": "a@example.com",
                 "template": "trial-welcome", "message_class": classes[i % 3],
                 "created_at": now} for i in range(count)], "send_key")
        session.execute(insert(Send), [{"send_key": "core", "contact_id": ann,
                                        "to_email": "a@example.com", "template": "x",
                                        "message_class": "transactional"}])
    lanes = {(s.message_class, s.lane) for s in rows(rt, Send)}
    assert lanes == {("transactional", "priority"), ("service", "priority"),
                     ("marketing", "bulk")}


def _row(table: Table, **values: object) -> dict:
    """A row of `table` at an old revision: the values given, a placeholder elsewhere."""
    for column in table.columns:
        if column.name in values or column.nullable or column.primary_key:
            continue
        kind = column.type
        values[column.name] = (0 if isinstance(kind, Integer | Boolean)
                               else datetime(2026, 1, 1) if isinstance(kind, DateTime)
                               else "x")
    return values


def test_upgrading_puts_the_sends_already_queued_in_their_lanes(tmp_path):
    db = Database(f"sqlite:///{tmp_path / 'old.db'}")
    upgrade(db, "0015")
    with db.engine.begin() as connection:
        contacts = Table("contacts", MetaData(), autoload_with=connection)
        sends = Table("sends", MetaData(), autoload_with=connection)
        contact_id = connection.execute(contacts.insert().values(
            _row(contacts, email_key="ann@example.com"))).inserted_primary_key[0]
        connection.execute(sends.insert(), [
            _row(sends, send_key=cls, contact_id=contact_id, message_class=cls)
            for cls in ("transactional", "service", "marketing")])
    upgrade(db)
    with db.engine.connect() as connection:
        upgraded = Table("sends", MetaData(), autoload_with=connection)
        lanes = dict(connection.execute(select(upgraded.c.send_key, upgraded.c.lane)).all())
    db.dispose()
    assert lanes == {"transactional": "priority", "service": "priority", "marketing": "bulk"}
