"""The send ledger: one commit per message that records outcomes and marks the next send
`sending` only if it is still queued; on SQLite both the one-statement form and the
two-statement form kept for SQLite before 3.35."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import insert, select

from nurture.sending import ledger as ledger_module
from nurture.sending.ledger import SendLedger
from nurture.sending.models import Send
from tests.helpers import START, contact


def _queued(rt, count: int) -> list[int]:
    cid = contact(rt, "ann@example.com")
    with rt.db.transaction() as session:
        session.execute(insert(Send), [
            {"send_key": f"k{i}", "contact_id": cid, "to_email": "ann@example.com",
             "template": "welcome", "status": "queued", "due_at": START,
             "reason": "421 try again later" if i == 0 else None} for i in range(count)])
    with rt.db.sessions() as session:
        return list(session.scalars(select(Send.id).order_by(Send.id)))


def _rows(rt) -> dict[int, Send]:
    with rt.db.sessions() as session:
        return {s.id: s for s in session.scalars(select(Send))}


@pytest.fixture(params=["one statement", "two statements"])
def form(request, monkeypatch):
    if request.param == "two statements":
        monkeypatch.setattr(ledger_module, "_SQLITE_ONE_STATEMENT", False)
    return request.param


def test_a_send_is_marked_once_and_outcomes_land_with_the_next_mark(rt, form):
    first, second, third = _queued(rt, 3)
    lease = START + timedelta(minutes=5)
    with SendLedger(rt.db.engine) as ledger:
        ledger.stage({"id": third, "status": "skipped", "reason": "no_consent"})
        assert ledger.commit(first, lease) is True
        assert ledger.commit(first, lease) is False  # already this worker's: not again
        marked = _rows(rt)[first]
        assert (marked.status, marked.attempts, marked.due_at) == ("sending", 1, START)
        assert marked.lease_until == lease and marked.reason == "421 try again later"
        assert _rows(rt)[third].status == "skipped"
        ledger.stage({"id": first, "status": "sent", "sent_at": START,
                      "links": ["https://example.com/a"]})
        assert ledger.commit(second, lease) is True
        sent = _rows(rt)[first]
        assert (sent.status, sent.sent_at, sent.links, sent.lease_until) == (
            "sent", START, ["https://example.com/a"], None)
        ledger.stage({"id": second, "status": "queued", "reason": "451 busy",
                      "due_at": START + timedelta(minutes=2)})
    retried = _rows(rt)[second]  # the outcome staged last is written on leaving
    assert (retried.status, retried.reason, retried.attempts, retried.lease_until) == (
        "queued", "451 busy", 1, None)
    assert retried.due_at == START + timedelta(minutes=2)


def test_outcomes_are_recorded_even_when_the_batch_fails(rt, form):
    first, second = _queued(rt, 2)
    with pytest.raises(RuntimeError), SendLedger(rt.db.engine) as ledger:
        assert ledger.commit(first, START + timedelta(minutes=5))
        ledger.stage({"id": first, "status": "sent", "sent_at": START})
        raise RuntimeError("the template store went away")
    rows = _rows(rt)
    assert rows[first].status == "sent" and rows[second].status == "queued"


def test_several_outcomes_land_in_one_step(rt, form):
    first, second, third = _queued(rt, 3)
    lease = START + timedelta(minutes=5)
    with SendLedger(rt.db.engine) as ledger:
        ledger.stage({"id": first, "status": "skipped", "reason": "suppressed:unsubscribed"})
        ledger.stage({"id": second, "status": "failed", "reason": "550 no such user"})
        assert ledger.commit(third, lease) is True
        rows = _rows(rt)
        assert (rows[first].status, rows[first].reason) == ("skipped", "suppressed:unsubscribed")
        assert (rows[second].status, rows[second].reason) == ("failed", "550 no such user")
        assert rows[third].status == "sending"


def test_a_mark_keeps_a_lease_that_runs_long_enough_and_renews_a_short_one(rt, form):
    long_held, short_held = _queued(rt, 2)
    with rt.db.transaction() as session:
        for send_id, minutes in ((long_held, 4), (short_held, 1)):
            session.get(Send, send_id).lease_until = START + timedelta(minutes=minutes)
    renewed = START + timedelta(minutes=5)
    with SendLedger(rt.db.engine) as ledger:
        for send_id in (long_held, short_held):
            assert ledger.commit(send_id, renewed, START + timedelta(minutes=2.5)) is True
    rows = _rows(rt)
    assert rows[long_held].lease_until == START + timedelta(minutes=4)
    assert rows[short_held].lease_until == renewed
    assert {rows[long_held].due_at, rows[short_held].due_at} == {START}
