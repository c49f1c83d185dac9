"""The activity of enrollments that finished long ago is pruned, counted first: the journey's
page, its split's arms and the deferral count show what they showed, and a contact who may
enter a journey once still cannot enter it again."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from sqlalchemy import func, select

from journeys.models import Activity, Enrollment
from journeys.queries import overview
from journeys.retention import MIN_DAYS, retention, run_retention_jobs
from nurture.app import journeys_console
from tests.helpers import contact, event, publish_text, run_due

JOURNEY = """
id: angles
name: Two angles
entry: {event: custom.joined}
exit_on: [trial.started]
steps:
  - id: ab
    split:
      - {weight: 50, goto: a}
      - {weight: 50, goto: b}
  - id: a
    send: trial-welcome
    class: transactional
    next: pause
  - id: b
    send: trial-welcome
    class: transactional
  - id: pause
    wait: 2d
  - id: done
    exit: finished
"""


def _seen(rt) -> tuple:
    shown = journeys_console.journey_page(rt, "angles", "")
    steps = {k: (v.entered, v.waiting, v.completed, dict(v.exited), v.converted)
             for k, v in shown.page.steps.items()}
    arms = [(a.goto, a.trials, a.successes) for a in shown.splits[0].arms]
    return steps, arms, shown.page.entered, shown.page.converted, overview(rt.db).deferred


def _activity(rt) -> int:
    with rt.db.sessions() as session:
        return session.scalar(select(func.count()).select_from(Activity))


def test_pruned_activity_leaves_the_journeys_counts_and_its_once_only_entry_as_they_were(rt):
    publish_text(rt, JOURNEY)
    people = [contact(rt, f"c{i}@example.com") for i in range(12)]
    for cid in people:
        event(rt, cid, "custom.joined")
    for cid in people[:5]:
        event(rt, cid, "trial.started")  # the goal, while waiting
    rt.clock.advance(timedelta(days=3))
    run_due(rt)
    late = contact(rt, "late@example.com")
    rt.clock.advance(timedelta(days=410))
    event(rt, late, "custom.joined")  # in the journey now: its activity stays
    before, rows = _seen(rt), _activity(rt)
    assert before[2:4] == (13, 5) and sum(t for _, t, _ in before[1]) == 13

    pruned = run_retention_jobs(rt, rt.settings)["pruned"]
    assert pruned > 0 and _activity(rt) == rows - pruned
    with rt.db.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Activity)
                              .where(Activity.contact_id != late)) == 0
    assert _seen(rt) == before
    assert run_retention_jobs(rt, rt.settings) == {"pruned": 0}

    event(rt, people[0], "custom.joined")  # entered once, long ago: not again
    with rt.db.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Enrollment)
                              .where(Enrollment.contact_id == people[0])) == 1


def test_the_retention_outlives_a_splits_test(rt):
    short = rt.settings.with_(retention=replace(rt.settings.retention, enrollment_days=1))
    assert retention(short) == timedelta(days=MIN_DAYS)
    assert retention(rt.settings) == timedelta(days=400)
