"""The simulator: the real engine on synthetic contacts, repeatable, usable as a CI check."""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

import journeys.ensemble_run as ensemble_run
import journeys.simulator as simulator
from journeys import decisions as d
from journeys.behavior import BehaviorError, behavior_from_text, load_behavior
from journeys.definition import Journey, with_classes
from journeys.loader import load_file, load_text
from journeys.simulator import simulate
from nurture.config import PROJECT_ROOT
from nurture.sending.render import store_for

LIBRARY = Path(__file__).resolve().parents[2] / "journeys" / "library"


def journey(text: str) -> Journey:
    loaded = load_text(text)
    assert loaded.journey is not None, [str(v) for v in loaded.violations]
    return loaded.journey


@pytest.fixture(scope="module")
def trial() -> Journey:
    loaded = load_file(LIBRARY / "trial-nurture.yaml")
    assert loaded.journey is not None, [str(v) for v in loaded.violations]
    # Each send's class as its template declares it, as `nurture simulate` runs it.
    return with_classes(loaded.journey, store_for(PROJECT_ROOT / "templates").message_class)


TIGHT = """
id: tight
name: Five sends an hour apart
entry: {event: contact.created}
exit_on: [trial.started]
steps:
  - {id: one, send: t1}
  - {id: w1, wait: 1h}
  - {id: two, send: t2}
  - {id: w2, wait: 1h}
  - {id: three, send: t3}
  - {id: w3, wait: 1h}
  - {id: four, send: t4}
  - {id: w4, wait: 1h}
  - {id: five, send: t5}
"""


def without_timing(report: simulator.SimulationReport) -> dict:
    data = report.to_json()
    data.pop("seconds")
    return data


def test_the_same_seed_gives_the_same_report(trial):
    first, second = simulate(trial, 300, 60, seed=7), simulate(trial, 300, 60, seed=7)
    assert first == second
    assert without_timing(first) == without_timing(second)


def test_another_seed_gives_another_report(trial):
    assert without_timing(simulate(trial, 300, 60, seed=7)) != without_timing(
        simulate(trial, 300, 60, seed=8))


def test_trial_every_contact_gets_the_transactional_welcome(trial):
    report = simulate(trial, 500, 90, seed=1)
    welcome = report.steps["welcome"]
    assert report.enrolled == 500
    assert welcome["entered"] == welcome["sent"] == report.enrolled
    # `to: [contact, technical_contact]`: a second recipient when the trial names one
    assert report.enrolled < welcome["recipients"] <= 2 * report.enrolled
    assert sum(report.transactional[:8]) >= report.enrolled  # arrivals come within 7 days
    assert report.exits["goal:trial.converted"] > 0
    assert report.steps["tips"]["entered"] > 0  # a seat activation woke the wait_for
    assert report.events["trial.started"] == 500
    assert report.active_at_end == 0
    assert sum(report.exits.values()) == report.enrolled


def test_the_trigger_filter_and_audience_apply():
    big = journey("""
id: big
name: Big trials
stages: [try]
entry: {event: trial.started, where: "properties.seats >= 5"}
steps:
  - {id: hello, send: hello, class: transactional}
""")
    report = simulate(big, 1000, 30, seed=1)  # default seats: 5 or 10 for one trial in five
    assert 120 < report.enrolled < 280
    assert report.steps["hello"]["sent"] == report.enrolled
    retail = journey("""
id: retail-only
name: Retail only
vertical: retail
entry: {event: contact.created}
steps:
  - {id: hello, send: hello}
""")
    assert simulate(retail, 300, 10, seed=1).enrolled == 300  # contacts get the vertical


def test_the_report_reads_as_text_and_as_json(trial):
    report = simulate(trial, 100, 45, seed=3)
    data = json.loads(json.dumps(report.to_json()))
    assert list(data["steps"]) == [s.id for s in trial.steps]
    assert len(data["sends_per_day"]) == 45
    assert data["sends_per_day"][0] == {"day": 1, "date": "2025-01-06",
                                        "marketing": report.marketing[0],
                                        "service": report.service[0],
                                        "transactional": report.transactional[0]}
    assert data["totals"]["enrolled"] == 100
    assert set(data["deferrals"]) >= {"frequency_cap", "quiet_hours"}
    text = report.format_text()
    assert "trial-nurture" in text and "ending-notice" in text and "Deferrals:" in text


def test_a_tight_journey_is_deferred_by_the_cap_and_quiet_hours(monkeypatch):
    sent: dict[int, list] = defaultdict(list)
    real_advance = ensemble_run.advance

    def recording(journey, state, facts, now, pacing):
        result = real_advance(journey, state, facts, now, pacing)
        sent[facts.contact.id] += [now for x in result.decisions
                                   if isinstance(x, d.SendEmail) and x.message_class == "marketing"]
        return result

    monkeypatch.setattr(ensemble_run, "advance", recording)
    quiet = behavior_from_text("email: {unsubscribe: 0}")
    report = simulate(journey(TIGHT), 400, 30, seed=5, behavior=quiet)
    assert report.deferrals["frequency_cap"] > 0
    assert report.deferrals["quiet_hours"] > 0
    assert report.steps["five"]["sent"] == report.steps["five"]["entered"] > 0
    assert report.max_marketing_in_window == 3
    week = timedelta(days=7)
    for times in sent.values():
        for index, moment in enumerate(times):
            assert sum(1 for t in times[index:] if t < moment + week) <= 3


def test_quiet_hours_hold_in_the_contacts_zone(monkeypatch):
    seen = []
    real_advance = ensemble_run.advance

    def recording(journey, state, facts, now, pacing):
        result = real_advance(journey, state, facts, now, pacing)
        if any(isinstance(x, d.SendEmail) for x in result.decisions):
            seen.append(now.astimezone(ZoneInfo(facts.contact.timezone)).hour)
        return result

    monkeypatch.setattr(ensemble_run, "advance", recording)
    simulate(journey(TIGHT), 200, 14, seed=2)
    assert seen and all(8 <= hour < 20 for hour in seen)


def test_unsubscribing_ends_marketing_journeys_but_not_the_trials_service_mail(trial):
    leaving = behavior_from_text("email: {open: 1.0, unsubscribe: 1.0}")
    loaded = load_file(LIBRARY / "prospect-retail.yaml")
    assert loaded.journey is not None, [str(v) for v in loaded.violations]
    report = simulate(loaded.journey, 200, 60, seed=4, behavior=leaving)
    assert report.exits == {"goal:email.unsubscribed": report.enrolled}
    assert report.events["email.unsubscribed"] == report.enrolled
    # The trial's tips and notices are service email: no list to leave, nobody leaves it.
    trial_report = simulate(trial, 200, 60, seed=4, behavior=leaving)
    assert "email.unsubscribed" not in trial_report.events
    assert sum(trial_report.marketing) == 0 and sum(trial_report.service) > 0


def test_marketing_mail_to_the_unsubscribed_is_suppressed():
    leaving = behavior_from_text("email: {open: 1.0, unsubscribe: 1.0}")
    report = simulate(journey(TIGHT), 100, 14, seed=4, behavior=leaving)
    assert report.suppressed > 0
    assert report.steps["one"]["sent"] == 100
    assert report.steps["five"]["sent"] == 0


def test_a_wait_for_wakes_as_soon_as_the_event_comes():
    text = """
id: clicks
name: Clicks
entry: {event: contact.created}
steps:
  - {id: hello, send: hello}
  - {id: clicked, wait_for: email.clicked, timeout: 10d, on_event: thanks,
     on_timeout: gave-up}
  - {id: gave-up, exit: no-click}
  - {id: thanks, send: thanks, class: transactional}
"""
    always = behavior_from_text("email: {open: 1.0, click: 1.0, unsubscribe: 0}")
    report = simulate(journey(text), 100, 20, seed=9, behavior=always)
    assert report.steps["thanks"]["sent"] == 100
    assert report.exits == {"completed": 100}
    never = behavior_from_text("email: {open: 1.0, click: 0, unsubscribe: 0}")
    report = simulate(journey(text), 100, 20, seed=9, behavior=never)
    assert report.exits == {"no-click": 100}


def test_condition_and_date_triggers_enter_contacts():
    condition = journey("""
id: strong
name: Strong leads
stages: [learn]
entry: {when: "score >= 60"}
steps:
  - {id: note, send: note}
""")
    report = simulate(condition, 1000, 30, seed=1)
    assert 300 < report.enrolled < 500  # scores are spread over 0..100
    dated = journey("""
id: renew-soon
name: Renewal reminder
stages: [adopt, renew]
entry: {date: "commitment.ends_at - 30d"}
steps:
  - {id: reminder, send: renewal-reminder, class: transactional}
""")
    no_renewals = behavior_from_text("events: {subscription.renewed: null}")
    report = simulate(dated, 1000, 60, seed=1, behavior=no_renewals)
    assert report.enrolled == report.steps["reminder"]["sent"] == 1000
    assert sum(1 for n in report.transactional if n) > 40  # due dates spread over the period
    # by default some renew early, which moves their commitment (and the trigger date) on
    report = simulate(dated, 1000, 60, seed=1)
    assert 500 < report.enrolled < 1000
    assert report.events["subscription.renewed"] > 1000 - report.enrolled


def test_behaviour_rules_produce_events_after_steps():
    text = """
id: survey
name: Survey
stages: [adopt]
entry: {when: "stage == 'adopt'"}
steps:
  - {id: ask, send: nps-survey}
  - {id: answer, wait_for: nps.answered, timeout: 7d, on_event: route, on_timeout: none}
  - {id: none, exit: no-answer}
  - id: route
    branch:
      - {when: "nps.category == 'promoter'", goto: promoter}
    default: other
  - {id: promoter, exit: promoter}
  - {id: other, exit: other}
"""
    answers = behavior_from_text("""
events:
  nps.answered: {probability: 1.0, after: nps-survey, within: 2d, properties: {score: {10: 1}}}
""")
    report = simulate(journey(text), 200, 30, seed=3, behavior=answers)
    assert report.exits == {"promoter": 200}


def test_a_probability_above_one_is_refused_with_its_line(tmp_path):
    path = tmp_path / "behavior.yaml"
    path.write_text("email:\n  open: 0.4\nevents:\n  trial.converted:\n    probability: 1.5\n")
    with pytest.raises(BehaviorError) as caught:
        load_behavior(path)
    assert isinstance(caught.value, ValueError)
    message = str(caught.value)
    assert message.startswith(f"{path}:5: The ")
    assert "1.5" in message and "from 0 to 1" in message and message.endswith(".")


def test_unknown_keys_and_events_are_refused(tmp_path):
    path = tmp_path / "behavior.yaml"
    path.write_text("emails: {open: 0.4}\nevents:\n  trial.bogus: {per_day: 0.1}\n")
    with pytest.raises(BehaviorError) as caught:
        load_behavior(path)
    assert caught.value.violations[0].startswith(f"{path}:1: The key 'emails' is not part")
    assert caught.value.violations[1].startswith(f"{path}:3: The event type 'trial.bogus'")


def test_a_behaviour_file_overrides_the_defaults(tmp_path):
    path = tmp_path / "behavior.yaml"
    path.write_text("arrivals_days: 2\nemail: {click: 0.5}\nsteps: {tips: {open: 0.9}}\n"
                    "events:\n  trial.seat_activated: null\n")
    behavior = load_behavior(path)
    assert behavior.arrivals_days == 2
    assert behavior.email.click == 0.5 and behavior.email.open == 0.35
    assert behavior.rates("tips", "try").open == 0.9
    assert "trial.seat_activated" not in behavior.events
    assert "trial.converted" in behavior.events


def test_the_documented_example_is_a_valid_behaviour_file():
    import textwrap

    import journeys.behavior as module

    example = module.__doc__.split("per key:\n\n")[1].split("\n\nAn event")[0]
    behavior = behavior_from_text(textwrap.dedent(example), "example.yaml")
    assert behavior.initial_stage == "learn"
    assert behavior.rates("tips", "try").click == 0.2
    assert behavior.rates("tips", "try").open == 0.45
