"""Leases on due work: a claimed row is not claimed again while its lease runs, and once
the lease runs out (its worker died) the scheduler releases it and claims it again."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import insert, select

from journeys.models import Enrollment, JourneyVersion
from nurture.app.scheduler.loop import tick
from nurture.contacts.services import upsert_contacts
from tests.helpers import publish_text


def _due_enrollments(rt, count: int) -> list[int]:
    version = publish_text(rt, """
        id: leases
        name: Leases
        entry: {event: contact.created}
        steps:
          - {id: hello, send: trial-welcome, class: transactional}
    """)
    with rt.db.transaction() as session:
        emails = [f"lease{i}@example.com" for i in range(count)]
        ids = upsert_contacts(session, [{"email": e} for e in emails])
        version_id = session.scalar(select(JourneyVersion.id).where(
            JourneyVersion.journey_id == "leases", JourneyVersion.version == version))
        now = rt.clock.now()
        session.execute(insert(Enrollment), [
            {"contact_id": ids[e], "journey_id": "leases", "journey_version_id": version_id,
             "status": "active", "state": {}, "entered_at": now, "next_run_at": now}
            for e in emails])
        return sorted(session.scalars(select(Enrollment.id)))


def test_a_lease_that_runs_out_is_released_and_its_work_claimed_again(rt, clock):
    ids = _due_enrollments(rt, 3)
    enqueued: list[int] = []
    rt.kick = lambda actor, batch: enqueued.extend(batch)  # a worker that never runs them

    assert tick(rt)["advance_enrollments"] == 3 and sorted(enqueued) == ids
    assert tick(rt)["advance_enrollments"] == 0  # leased: not claimed twice
    clock.advance(rt.lease - timedelta(seconds=1))
    assert tick(rt)["advance_enrollments"] == 0  # the lease still runs
    clock.advance(timedelta(seconds=2))
    enqueued.clear()
    assert tick(rt)["advance_enrollments"] == 3 and sorted(enqueued) == ids
    with rt.db.sessions() as session:
        leases = set(session.scalars(select(Enrollment.lease_until)))
    assert leases == {clock.now() + rt.lease}  # held again, by the new claim


def test_finished_work_keeps_no_lease_and_is_not_claimed(rt, clock):
    _due_enrollments(rt, 2)
    tick(rt)
    rt.transport.join()  # the real worker advances them: the journey ends
    clock.advance(rt.lease * 2)
    assert tick(rt)["advance_enrollments"] == 0
    with rt.db.sessions() as session:
        rows = session.execute(select(Enrollment.status, Enrollment.next_run_at,
                                      Enrollment.lease_until)).all()
    assert rows and all(row == ("completed", None, None) for row in rows)


def test_a_send_left_sending_when_its_lease_runs_out_fails_and_is_never_claimed(rt, clock):
    from nurture.sending.ledger import SendLedger
    from nurture.sending.models import Send

    _due_enrollments(rt, 2)
    kick = rt.kick  # the enrollments advance; the sends they make are never delivered
    rt.kick = lambda actor, batch: kick(actor, batch) if actor == "advance_enrollments" else None
    tick(rt)
    rt.transport.join()
    with rt.db.sessions() as session:
        dead, queued = sorted(session.scalars(select(Send.id)))
    with SendLedger(rt.db.engine) as ledger:  # a worker marks one, then is killed
        now = clock.now()
        assert ledger.commit(dead, now + rt.lease, now + rt.lease / 2)
    clock.advance(rt.lease + timedelta(seconds=1))
    enqueued: list[int] = []
    # The journey's email is transactional: the priority lane's (nurture/sending/lanes.py).
    rt.kick = lambda actor, batch: (enqueued.extend(batch)
                                    if actor == "deliver_priority_sends" else None)
    assert tick(rt)["deliver_priority_sends"] == 1 and enqueued == [queued]
    with rt.db.sessions() as session:
        row = session.get(Send, dead)
    assert (row.status, row.reason) == ("failed", "interrupted: outcome unknown")
    clock.advance(rt.lease * 2)
    enqueued.clear()
    tick(rt)
    assert dead not in enqueued
