"""A broadcast's sends: made once for its audience, then delivered by the send pipeline
under the rules of every marketing send (consent, suppression, the frequency cap, quiet
hours), timed in each contact's zone, paused, resumed and cancelled."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from nurture.app.scheduler.claims import claim_due
from nurture.audiences import services as segments
from nurture.broadcasts import plan, queries, services
from nurture.consent.records import suppress
from nurture.contacts import lists
from nurture.sending.models import Send
from nurture.sending.services import deliver
from tests.helpers import advance_clock, contact, outbox, run_due
from tests.nurture.broadcasts.conftest import audience, broadcast


def _sends(rt, broadcast_id: int) -> list[Send]:
    with rt.db.sessions() as session:
        return list(session.scalars(select(Send).where(Send.broadcast_id == broadcast_id)
                                    .order_by(Send.contact_id)))


def _progress(rt, broadcast_id: int) -> queries.Progress:
    return queries.progress_of(rt.db, broadcast_id)


def test_the_audience_becomes_sends_once_even_when_made_twice(rt):
    ids = audience(rt, 5)
    made = broadcast(rt)
    with rt.db.transaction() as session:
        again = services.materialize(session, services.get(session, made.id),
                                     rt.clock.now(), "UTC")
    sends = _sends(rt, made.id)
    assert again == made.recipients == 5
    assert [s.contact_id for s in sends] == ids
    assert {s.send_key for s in sends} == {f"broadcast:{made.id}:{i}" for i in ids}
    run_due(rt)
    assert _progress(rt, made.id).sent == 5
    mail = outbox(rt)
    assert len(mail) == 5
    assert f"broadcast-{made.id}." in mail[0]["List-Id"]  # the reader can filter on it
    assert mail[0]["Feedback-ID"].startswith(f"broadcast-{made.id}:prospect-case-study:")


def test_consent_and_suppression_at_send_time_skip_with_their_reason(rt):
    ids = audience(rt, 3)
    made = broadcast(rt)
    with rt.db.transaction() as session:
        suppress(session, "reader1@example.com", "bounced", "550 no such user", "smtp",
                 rt.clock.now())
        session.execute(Send.__table__.update().where(Send.contact_id == ids[2])
                        .values(to_email="reader2@example.com"))
    contact(rt, "reader2@example.com", consent_marketing=False)
    run_due(rt)
    progress = _progress(rt, made.id)
    assert progress.sent == 1
    assert progress.skipped_total == 2
    assert len(progress.skipped) == 2  # two different reasons, each named


def test_a_contact_over_the_frequency_cap_is_deferred_not_dropped(rt):
    ids = audience(rt, 2)
    now = rt.clock.now()
    with rt.db.transaction() as session:  # three marketing emails this week: the cap
        session.execute(Send.__table__.insert(), [
            {"send_key": f"earlier:{n}", "contact_id": ids[0], "to_email": "reader0@example.com",
             "role": "contact", "template": "prospect-case-study", "variant": "",
             "message_class": "marketing", "topic": "", "status": "sent", "attempts": 1,
             "created_at": now - timedelta(days=n), "sent_at": now - timedelta(days=n)}
            for n in (1, 2, 3)])
    made = broadcast(rt)
    run_due(rt)
    progress = _progress(rt, made.id)
    assert progress.sent == 1
    assert progress.deferred == 1
    assert progress.deferred_by == {"deferred: frequency_cap": 1}
    waiting = next(s for s in _sends(rt, made.id) if s.contact_id == ids[0])
    assert waiting.status == "queued"
    assert waiting.due_at == now - timedelta(days=3) + timedelta(days=7)
    advance_clock(rt, timedelta(days=4, hours=1), step=timedelta(hours=12))
    assert _progress(rt, made.id).sent == 2


def test_quiet_hours_in_the_contacts_zone_defer_to_their_end(rt):
    audience(rt, 1, timezone="Asia/Tokyo")  # 10:00 UTC is 19:00 in Tokyo; quiet from 20:00
    rt.clock.advance(timedelta(hours=2))  # 21:00 in Tokyo
    made = broadcast(rt)
    run_due(rt)
    send = _sends(rt, made.id)[0]
    assert send.status == "queued" and send.reason == "deferred: quiet_hours"
    assert send.due_at == datetime(2026, 3, 2, 23, 0, tzinfo=UTC)  # 08:00 in Tokyo


def test_ten_oclock_in_each_contacts_own_zone(rt):
    zones = {"Europe/Berlin": datetime(2026, 3, 3, 9, 0, tzinfo=UTC),
             "America/New_York": datetime(2026, 3, 2, 15, 0, tzinfo=UTC),
             "Asia/Tokyo": datetime(2026, 3, 3, 1, 0, tzinfo=UTC),
             "": datetime(2026, 3, 2, 10, 0, tzinfo=UTC)}  # UTC, the default: now
    for n, zone in enumerate(zones):
        cid = contact(rt, f"z{n}@example.com", timezone=zone, consent_marketing=True)
        with rt.db.transaction() as session:
            lists.add(session, lists.ensure(session, "Zones", rt.clock.now()), [cid],
                      rt.clock.now())
    made = broadcast(rt, list_name="Zones", timing="local", local_time="10:00")
    due = {s.to_email: s.due_at for s in _sends(rt, made.id)}
    assert due == {f"z{n}@example.com": at for n, at in enumerate(zones.values())}


def test_a_pause_holds_the_sends_and_the_resume_releases_them(rt):
    audience(rt, 4)
    made = broadcast(rt)
    with rt.db.transaction() as session:
        assert services.pause(session, made.id, "ann@example.com", "wrong link",
                              rt.clock.now())
    run_due(rt)
    assert _progress(rt, made.id).paused == 4
    assert outbox(rt) == []
    with rt.db.transaction() as session:
        assert services.resume(session, made.id, "ann@example.com", "fixed",
                               rt.clock.now()) == 4
    run_due(rt)
    assert _progress(rt, made.id).sent == 4


def test_a_cancel_midway_stops_exactly_what_was_not_handed_over(rt):
    audience(rt, 10)
    made = broadcast(rt)
    first = [s.id for s in _sends(rt, made.id)][:4]
    assert deliver(rt, rt.mailroom(), first)["sent"] == 4
    with rt.db.transaction() as session:
        never = services.cancel(session, made.id, "ann@example.com", rt.clock.now())
    run_due(rt)
    progress = _progress(rt, made.id)
    assert never == progress.cancelled == 6
    assert progress.sent == 4 and len(outbox(rt)) == 4
    assert queries.shown(rt.db, made.id).broadcast.never_sent == 6


def test_sends_already_claimed_when_the_pause_comes_are_held_at_delivery(rt):
    audience(rt, 3)
    made = broadcast(rt)
    with rt.db.transaction() as session:
        claimed = claim_due(session, "deliver_sends", rt.clock.now(), rt.lease, 100)
        services.pause(session, made.id, "ann@example.com", "wrong link", rt.clock.now())
    assert deliver(rt, rt.mailroom(), claimed)["sent"] == 0
    assert _progress(rt, made.id).paused == 3
    assert outbox(rt) == []


def test_a_contact_without_consent_over_the_cap_is_skipped_not_deferred(rt):
    cid = contact(rt, "nope@example.com", consent_marketing=False)
    now = rt.clock.now()
    with rt.db.transaction() as session:
        lists.add(session, lists.ensure(session, "Newsletter", now), [cid], now)
        session.execute(Send.__table__.insert(), [
            {"send_key": f"earlier:{n}", "contact_id": cid, "to_email": "nope@example.com",
             "role": "contact", "template": "prospect-case-study", "variant": "",
             "message_class": "marketing", "topic": "", "status": "sent", "attempts": 1,
             "created_at": now - timedelta(days=n), "sent_at": now - timedelta(days=n)}
            for n in (1, 2, 3)])
    made = broadcast(rt)
    run_due(rt)
    progress = _progress(rt, made.id)
    assert (progress.skipped_total, progress.deferred) == (1, 0)


def test_a_segment_audience_and_a_moment_to_come(rt):
    audience(rt, 2, stage="try")
    contact(rt, "learner@example.com", stage="learn", consent_marketing=True)
    with rt.db.transaction() as session:
        segments.create(session, "Trialists", "stage == 'try'", rt.clock.now())
    now = rt.clock.now()
    with rt.db.transaction() as session:
        made = services.create(session, plan.check(
            name="Trial tips", audience="segment", audience_ref="Trialists",
            templates=["prospect-case-study"], topic="tips", timing="at",
            send_at="2026-03-03 09:00", known_templates={"prospect-case-study"}, now=now),
            now, by="ann@example.com")
        made_id = made.id
    sends = _sends(rt, made_id)
    assert [s.to_email for s in sends] == ["reader0@example.com", "reader1@example.com"]
    assert {(s.due_at, s.topic) for s in sends} == {
        (datetime(2026, 3, 3, 9, 0, tzinfo=UTC), "tips")}
    run_due(rt)
    assert _progress(rt, made_id).queued == 2  # not before its moment
