"""Journeys triggered by a segment: a contact who enters (or leaves) it is taken in, when an
event moves them at once, and by the periodic sweep when nothing recorded says so (a list);
the segment's first look records who is already in without starting their journeys."""

from __future__ import annotations

from journeys.loader import load_text
from nurture.audiences import services
from nurture.audiences.triggers import run_segment_jobs
from nurture.contacts import lists
from nurture.events.bus import NewEvent
from nurture.events.services import record_many
from tests.helpers import contact, enrollments, publish_text

ON_ENTER = """
    id: welcome-vip
    name: Welcome to the VIPs
    entry: {segment: VIP clickers, on: enter}
    steps:
      - {id: hello, send: trial-welcome, class: transactional}
"""
ON_LEAVE = """
    id: miss-vip
    name: We miss you
    entry: {segment: VIP clickers, on: leave}
    steps:
      - {id: hello, send: trial-welcome, class: transactional}
"""


def _journeys_of(rt, cid: int) -> set[str]:
    return {e.journey_id for e in enrollments(rt, cid)}


def test_contacts_entering_or_leaving_a_segment_start_its_journeys(rt):
    ann = contact(rt, "ann@example.com")
    bob = contact(rt, "bob@example.com")
    now = rt.clock.now()
    with rt.db.transaction() as session:
        segment = services.create(session, "VIP clickers",
                                  "in_list('VIP') and clicked('30d') >= 1", now)
        vip = lists.ensure(session, "VIP", now)
        lists.add(session, vip, [ann, bob], now)
    record_many(rt, [NewEvent(ann, "email.clicked", {"machine": False})])
    publish_text(rt, ON_ENTER)
    publish_text(rt, ON_LEAVE)
    run_segment_jobs(rt.db, rt.versions, rt.clock.now())  # the first look: Ann was in
    assert _journeys_of(rt, ann) == set()
    # Bob's click is an event: he enters at once, no sweep needed.
    record_many(rt, [NewEvent(bob, "email.clicked", {"machine": False})])
    assert _journeys_of(rt, bob) == {"welcome-vip"}
    # Ann leaves the list: no event says so, the sweep finds it.
    with rt.db.transaction() as session:
        lists.remove(session, vip, [ann])
    assert _journeys_of(rt, ann) == set()
    run_segment_jobs(rt.db, rt.versions, rt.clock.now())
    assert _journeys_of(rt, ann) == {"miss-vip"}
    run_segment_jobs(rt.db, rt.versions, rt.clock.now())  # nothing moved: nothing new
    assert len(enrollments(rt)) == 2
    # An edited condition is a new baseline: Ann, back in by the edit, did not "enter".
    with rt.db.transaction() as session:
        services.update(session, segment, "VIP clickers", "clicked('30d') >= 1",
                        rt.clock.now())
    run_segment_jobs(rt.db, rt.versions, rt.clock.now())
    run_segment_jobs(rt.db, rt.versions, rt.clock.now())
    assert len(enrollments(rt)) == 2


def test_a_segment_entry_names_the_segment_and_enter_or_leave():
    loaded = load_text("id: x\nname: X\nentry: {segment: VIP, on: arrive}\n"
                       "steps:\n  - {id: a, send: trial-welcome}\n", "x.yaml")
    assert [str(v) for v in loaded.violations] == [
        "x.yaml:3: 'on' must be 'enter' or 'leave'."]
