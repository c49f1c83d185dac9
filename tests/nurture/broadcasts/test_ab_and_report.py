"""A broadcast's A/B test (a sample first, split between the arms; the winner to the rest,
by the scheduler when the window ends or by the marketer) and its report."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from nurture.broadcasts import queries, services
from nurture.broadcasts.models import WAITING
from nurture.events.bus import NewEvent
from nurture.events.services import record_many
from nurture.sending.feedback import COMPLAINT, attribute
from nurture.sending.models import Send
from tests.helpers import run_due
from tests.nurture.broadcasts.conftest import TEMPLATE_A, TEMPLATE_B, audience, broadcast


def _sends(rt, broadcast_id: int) -> list[Send]:
    with rt.db.sessions() as session:
        return list(session.scalars(select(Send).where(Send.broadcast_id == broadcast_id)
                                    .order_by(Send.id)))


def _clicks(rt, sends: list[Send], machine: bool = False, kind: str = "email.clicked"):
    record_many(rt, [NewEvent(s.contact_id, kind, {"send": s.send_key, "machine": machine})
                     for s in sends])


def test_the_sample_goes_first_split_evenly_and_the_rest_waits(rt):
    audience(rt, 1000)
    made = broadcast(rt, templates=(TEMPLATE_A, TEMPLATE_B), sample_percent="20")
    sends = _sends(rt, made.id)
    assert len(sends) == 1000
    sample = [s for s in sends if s.status == "queued"]
    assert len(sample) == 200
    assert {v: sum(s.variant == v for s in sample) for v in "AB"} == {"A": 100, "B": 100}
    assert {s.template for s in sample if s.variant == "B"} == {TEMPLATE_B}
    assert all(s.due_at is None for s in sends if s.status == WAITING)
    assert made.winner_due_at == rt.clock.now() + timedelta(hours=4)
    run_due(rt)
    progress = queries.progress_of(rt.db, made.id)
    assert (progress.sent, progress.waiting) == (200, 800)


def test_the_winner_by_clicks_goes_to_the_rest_when_the_window_ends(rt):
    audience(rt, 2000)
    made = broadcast(rt, templates=(TEMPLATE_A, TEMPLATE_B), sample_percent="20",
                     window_hours="2")
    run_due(rt)
    sent = [s for s in _sends(rt, made.id) if s.status == "sent"]
    arm_a = [s for s in sent if s.variant == "A"]
    arm_b = [s for s in sent if s.variant == "B"]
    assert len(arm_a) == len(arm_b) == 200
    _clicks(rt, arm_a[:60])
    _clicks(rt, arm_b[:10])
    _clicks(rt, arm_b[10:150], machine=True)  # a link scanner: not a reader
    shown = queries.shown(rt.db, made.id).test
    assert shown is not None and shown.winner == "A"
    a, b = shown.arms
    assert (a.successes, b.successes) == (60, 10)
    assert a.rate == 0.3 and a.interval[0] < 0.3 < a.interval[1]
    assert a.probability > 0.95
    assert services.due_winners(rt.db, rt.clock.now())["winners"] == 0  # not yet
    rt.clock.advance(timedelta(hours=2))
    assert services.due_winners(rt.db, rt.clock.now())["winners"] == 1
    run_due(rt)
    detail = queries.shown(rt.db, made.id)
    assert detail.broadcast.winner == "A" and "A wins" in detail.broadcast.winner_reason
    rest = [s for s in _sends(rt, made.id) if s.variant == services.REST]
    assert len(rest) == 1600
    assert {(s.status, s.template) for s in rest} == {("sent", TEMPLATE_A)}
    assert detail.progress.sent == 2000


def test_the_marketer_may_send_the_leader_before_the_test_is_sure(rt):
    audience(rt, 100)
    made = broadcast(rt, templates=(TEMPLATE_A, TEMPLATE_B), sample_percent="50")
    run_due(rt)
    _clicks(rt, [s for s in _sends(rt, made.id) if s.variant == "B"][:5])
    with rt.db.transaction() as session:
        winner = services.choose_winner(session, made.id, rt.clock.now(),
                                        by="ann@example.com")
    assert winner == "B"
    detail = queries.shown(rt.db, made.id)
    assert "No winner yet" in detail.broadcast.winner_reason
    assert detail.broadcast.winner_by == "ann@example.com"
    assert detail.progress.queued == 50


def test_the_report_counts_what_became_of_the_mail(rt):
    ids = audience(rt, 4)
    made = broadcast(rt)
    run_due(rt)
    sends = _sends(rt, made.id)
    _clicks(rt, sends[:2], kind="email.opened")
    _clicks(rt, sends[2:3], kind="email.opened", machine=True)
    _clicks(rt, sends[:1])
    record_many(rt, [NewEvent(ids[1], "email.unsubscribed", {"method": "link"}),
                     NewEvent(ids[3], "trial.started", {"seats": 3, "services": [], "days": 30})])
    with rt.db.transaction() as session:
        attribute(session, COMPLAINT, "reader3@example.com", ids[3], sends[3].send_key,
                  rt.clock.now())
    report = queries.shown(rt.db, made.id).report
    assert (report.sent, report.delivered, report.bounced) == (4, 4, 0)
    assert (report.opened_human, report.opened_machine, report.clicked) == (2, 1, 1)
    assert (report.unsubscribed, report.complaints, report.trials) == (1, 1, 1)
    assert report.hours == [{"hour": rt.clock.now(), "sent": 4, "opened": 2, "clicked": 1}]
