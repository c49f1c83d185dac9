"""The live engine end to end: events, entries, waits, goals, pacing and versions."""

from __future__ import annotations

from datetime import timedelta

from journeys.services import backfill
from tests.helpers import (
    activity,
    advance_clock,
    contact,
    enrollments,
    event,
    get_contact,
    publish_text,
    run_due,
    sends,
)

WELCOME = """
id: welcome
name: Welcome
entry: {{event: contact.created}}
exit_on: [trial.started]
steps:
  - id: hello
    send: {template}
    class: transactional
  - id: pause
    wait: 2d
  - id: tips
    send: {template}
  - id: clicked
    wait_for: email.clicked
    timeout: 3d
    on_event: thanks
    on_timeout: nudge
  - id: thanks
    set: {{stage: try, attributes: {{welcome: {{clicked: true}}}}}}
    next: done
  - id: nudge
    send: {template}
  - id: done
    exit: finished
"""


def welcome(template: str = "trial-welcome") -> str:
    return WELCOME.format(template=template)


def test_event_enters_contact_and_transactional_send_goes_out_at_once(rt):
    publish_text(rt, welcome())
    ann = contact(rt)
    event(rt, ann, "contact.created")
    assert [s.step_id for s in sends(rt, ann)] == ["hello"]
    assert enrollments(rt, ann)[0].step_id == "pause"


def test_wait_for_wakes_on_the_event_without_waiting_for_the_timeout(rt):
    publish_text(rt, welcome())
    ann = contact(rt)
    event(rt, ann, "contact.created")
    advance_clock(rt, timedelta(days=2, hours=1))
    assert enrollments(rt, ann)[0].step_id == "clicked"
    event(rt, ann, "email.clicked")
    row = enrollments(rt, ann)[0]
    assert (row.status, row.exit_reason) == ("exited", "finished")
    stored = get_contact(rt, ann)
    assert stored.stage == "try" and stored.attributes["welcome"] == {"clicked": True}
    assert "nudge" not in [s.step_id for s in sends(rt, ann)]


def test_wait_for_times_out_to_its_timeout_path(rt):
    publish_text(rt, welcome())
    ann = contact(rt)
    event(rt, ann, "contact.created")
    advance_clock(rt, timedelta(days=6), step=timedelta(hours=6))
    assert [s.step_id for s in sends(rt, ann)] == ["hello", "tips", "nudge"]
    assert enrollments(rt, ann)[0].exit_reason == "finished"


def test_exit_goal_ends_the_journey_wherever_the_contact_is(rt):
    publish_text(rt, welcome())
    ann = contact(rt)
    event(rt, ann, "contact.created")
    event(rt, ann, "trial.started")
    row = enrollments(rt, ann)[0]
    assert (row.status, row.exit_reason, row.next_run_at) == ("exited", "goal:trial.started",
                                                               None)
    advance_clock(rt, timedelta(days=7), step=timedelta(days=1))
    assert [s.step_id for s in sends(rt, ann)] == ["hello"]


def test_processing_the_same_batch_twice_changes_nothing_twice(rt):
    from nurture.app.tasks import run_advance

    publish_text(rt, welcome())
    ann = contact(rt)
    event(rt, ann, "contact.created")
    rt.clock.advance(timedelta(days=2, hours=1))
    ids = [e.id for e in enrollments(rt, ann)]
    run_advance(rt, ids)
    run_advance(rt, ids)  # a redelivered message
    rt.transport.join()
    assert [s.step_id for s in sends(rt, ann)] == ["hello", "tips"]
    assert [a.step_id for a in activity(rt, "entered")] == ["hello", "pause", "tips", "clicked"]
    assert enrollments(rt, ann)[0].step_id == "clicked"


def test_new_version_takes_new_entries_while_contacts_in_flight_stay(rt):
    assert publish_text(rt, welcome()) == 1
    ann, bob = contact(rt, "ann@example.com"), contact(rt, "bob@example.com")
    event(rt, ann, "contact.created")
    assert publish_text(rt, welcome()) == 1  # unchanged: no new version
    assert publish_text(rt, welcome("trial-ending")) == 2
    event(rt, bob, "contact.created")
    ann_row, bob_row = enrollments(rt, ann)[0], enrollments(rt, bob)[0]
    assert ann_row.journey_version_id != bob_row.journey_version_id
    advance_clock(rt, timedelta(days=2, hours=1), step=timedelta(hours=12))
    assert {s.template for s in sends(rt, ann)} == {"trial-welcome"}
    assert {s.template for s in sends(rt, bob)} == {"trial-ending"}


def test_reentry_once_never_enrolls_twice(rt):
    publish_text(rt, welcome())
    ann = contact(rt)
    event(rt, ann, "contact.created")
    event(rt, ann, "trial.started")  # goal: exits
    event(rt, ann, "contact.created")
    assert len(enrollments(rt, ann)) == 1


def test_reentry_after_a_period_allows_a_second_enrollment_only_after_it(rt):
    publish_text(rt, welcome().replace("exit_on:", "reentry: {after: 10d}\nexit_on:"))
    ann = contact(rt)
    event(rt, ann, "contact.created")
    event(rt, ann, "trial.started")
    event(rt, ann, "contact.created")
    assert len(enrollments(rt, ann)) == 1
    rt.clock.advance(timedelta(days=10))
    event(rt, ann, "contact.created")
    assert len(enrollments(rt, ann)) == 2


def _journey_sends(rt, contact_id: int) -> list:
    """The contact's sends from journeys (a purchase's activation email is not one)."""
    return [s for s in sends(rt, contact_id) if s.journey_id]


def test_condition_trigger_enters_contacts_when_they_change_and_on_publish(rt):
    early = contact(rt, "early@example.com", industry="retail")
    publish_text(rt, """
        id: onboarders
        name: Onboarders
        entry: {when: "stage == 'onboard'"}
        steps:
          - {id: hi, send: trial-welcome, class: transactional}
    """)
    with rt.db.transaction() as session:
        assert backfill(session, rt.versions, "onboarders", rt.clock.now()) == 0
    event(rt, early, "purchase.completed", amount=100)
    assert [s.step_id for s in _journey_sends(rt, early)] == ["hi"]
    assert get_contact(rt, early).stage == "onboard"


def test_date_trigger_enters_at_the_date_and_follows_it_when_it_moves(rt):
    publish_text(rt, """
        id: renewal
        name: Renewal
        entry: {date: "commitment.ends_at - 60d"}
        reentry: {after: 300d}
        steps:
          - {id: quote, send: trial-ending, class: transactional}
    """)
    ann = contact(rt)
    event(rt, ann, "purchase.completed")  # commitment ends in 12 months: 365 days
    assert _journey_sends(rt, ann) == []
    advance_clock(rt, timedelta(days=300), step=timedelta(days=5))
    assert _journey_sends(rt, ann) == []
    event(rt, ann, "subscription.renewed",
          commitment_ends_at=(rt.clock.now() + timedelta(days=100)).isoformat())
    advance_clock(rt, timedelta(days=39), step=timedelta(days=1))
    assert _journey_sends(rt, ann) == []
    advance_clock(rt, timedelta(days=2), step=timedelta(hours=6))
    assert [s.step_id for s in _journey_sends(rt, ann)] == ["quote"]


def test_frequency_cap_across_journeys_defers_and_never_drops(rt):
    for name in ("one", "two"):
        publish_text(rt, f"""
            id: {name}
            name: {name}
            entry: {{event: contact.created}}
            steps:
              - {{id: a, send: trial-activation-tips, class: marketing}}
              - {{id: b, send: trial-activation-tips, class: marketing}}
              - {{id: c, send: trial-activation-tips, class: marketing}}
        """)
    ann = contact(rt)
    event(rt, ann, "contact.created")
    assert len(sends(rt, ann)) == 3
    deferred = activity(rt, "deferred")
    assert deferred and all(d.reason.startswith("frequency_cap") for d in deferred)
    advance_clock(rt, timedelta(days=8), step=timedelta(hours=6))
    assert len(sends(rt, ann)) == 6
    times = sorted(s.created_at for s in sends(rt, ann))
    for i, t in enumerate(times):
        assert sum(1 for u in times[: i + 1] if t - u < timedelta(days=7)) <= 3


def test_quiet_hours_are_in_the_contacts_time_zone_and_transactional_is_exempt(rt):
    publish_text(rt, """
        id: mixed
        name: Mixed
        entry: {event: contact.created}
        steps:
          - {id: login, send: trial-welcome, class: transactional}
          - {id: tips, send: trial-activation-tips, class: marketing}
    """)
    # 10:00 UTC is 19:00 in Tokyo... and 23:00 in Auckland: quiet.
    kiwi = contact(rt, "kiwi@example.com", timezone="Pacific/Auckland")
    event(rt, kiwi, "contact.created")
    assert [s.step_id for s in sends(rt, kiwi)] == ["login"]
    (deferral,) = activity(rt, "deferred")
    assert deferral.reason.startswith("quiet_hours")
    advance_clock(rt, timedelta(hours=12))
    (tips,) = [s for s in sends(rt, kiwi) if s.step_id == "tips"]
    local = tips.created_at.astimezone(__import__("zoneinfo").ZoneInfo("Pacific/Auckland"))
    assert 8 <= local.hour < 20


def test_split_is_sticky_and_roughly_follows_weights(rt):
    publish_text(rt, """
        id: ab
        name: AB
        entry: {event: contact.created}
        steps:
          - id: pick
            split:
              - {weight: 70, goto: a}
              - {weight: 30, goto: b}
          - {id: a, send: trial-welcome, class: transactional, next: end}
          - {id: b, send: trial-ending, class: transactional}
          - {id: end, exit: done}
    """)
    people = [contact(rt, f"p{i}@example.com") for i in range(60)]
    from nurture.events.bus import NewEvent
    from nurture.events.services import record_many

    record_many(rt, [NewEvent(p, "contact.created") for p in people])
    run_due(rt)
    chosen = {s.contact_id: s.step_id for s in sends(rt)}
    assert len(chosen) == 60
    assert 30 <= sum(1 for v in chosen.values() if v == "a") <= 54


def test_send_to_technical_contact_goes_to_the_address_in_the_attribute(rt):
    publish_text(rt, """
        id: trial
        name: Trial
        entry: {event: trial.started}
        steps:
          - {id: welcome, send: trial-welcome, to: [contact, technical_contact],
             class: transactional}
    """)
    ann = contact(rt)
    event(rt, ann, "trial.started", seats=3, technical_contact="it@example.com")
    assert sorted(s.to_email for s in sends(rt, ann)) == ["ann@example.com", "it@example.com"]
