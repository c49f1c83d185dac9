"""A draft replayed on recorded histories: who reaches each step, sends per week, the cap's
collisions with live journeys' emails, goals, and the contact copied, never changed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from journeys.facts import ContactFacts, EventRecord
from journeys.forecast import History, forecast
from journeys.loader import load_text
from journeys.schedule import Pacing

START = datetime(2026, 2, 2, 9, 0, tzinfo=UTC)  # a Monday
DRAFT = load_text("""\
id: draft
name: Draft
entry: {event: trial.started}
exit_on: [trial.converted]
steps:
  - {id: hello, send: trial-welcome, class: marketing}
  - {id: pause, wait: 8d}
  - {id: nudge, send: trial-welcome, class: marketing}
  - {id: promote, set: {stage: buy}}
  - {id: done, exit: finished}
""").journey
PACING = Pacing(cap=1, window=timedelta(days=7))


def _history(cid: int, *events: tuple[str, float], live: tuple[float, ...] = ()) -> History:
    return History(ContactFacts(cid, f"c{cid}@example.com", stage="try"),
                   tuple(EventRecord(t, START + timedelta(days=day)) for t, day in events),
                   tuple(START + timedelta(days=day) for day in live))


def test_who_reaches_each_step_sends_per_week_and_goals():
    ann = _history(1, ("trial.started", 0))
    bob = _history(2, ("trial.started", 1), ("trial.converted", 3))
    cy = _history(3, ("page.viewed", 2))
    result = forecast(DRAFT, [ann, bob, cy], START, 21, PACING)
    assert result.entered == 2
    assert result.reached["hello"] == 2 and result.reached["nudge"] == 1
    assert result.reached_by["nudge"] == ["c1@example.com"]
    assert result.sends_per_week == [2, 1, 0]
    assert result.exits == {"goal": 1, "finished": 1}
    assert ann.contact.stage == "try"  # replayed on a copy


def test_a_send_held_by_the_cap_because_of_a_live_journey_is_a_collision():
    busy = _history(1, ("trial.started", 0.5), live=(0.2,))
    result = forecast(DRAFT, [busy], START, 21, PACING)
    assert result.collisions == 1 and result.deferrals == {"frequency_cap": 1}
    assert result.reached["hello"] == 1 and sum(result.sends_per_week) == 2


def test_a_send_waiting_for_the_cap_is_deferred_once_whatever_events_come():
    busy = _history(1, ("trial.started", 0.5), ("page.viewed", 1), ("page.viewed", 2),
                    live=(0.2,))
    result = forecast(DRAFT, [busy], START, 21, PACING)
    assert result.deferrals == {"frequency_cap": 1} and result.collisions == 1


def test_a_wait_for_wakes_on_the_recorded_event():
    waiting = load_text("""\
id: waiting
name: Waiting
entry: {event: trial.started}
steps:
  - {id: watch, wait_for: email.clicked, timeout: 5d, on_event: clicked, on_timeout: gave_up}
  - {id: clicked, exit: clicked}
  - {id: gave_up, exit: gave_up}
""").journey
    ann = _history(1, ("trial.started", 0), ("email.clicked", 2))
    bob = _history(2, ("trial.started", 0))
    result = forecast(waiting, [ann, bob], START, 14, PACING)
    assert result.reached["clicked"] == 1 and result.reached["gave_up"] == 1
