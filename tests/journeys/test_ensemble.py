"""Several journeys simulated together: collisions under the cap, sends per contact per week,
and `nurture simulate` with several files or --all."""

from __future__ import annotations

import json
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

from click.testing import CliRunner

from journeys.behavior import behavior_from_text
from journeys.definition import Journey
from journeys.ensemble import simulate_together
from journeys.ensemble_report import weekly_table
from journeys.loader import iter_files, load_file, load_text
from journeys.schedule import Pacing
from nurture.app.cli import main
from tests.helpers import invoke_cli

LIBRARY = Path(__file__).resolve().parents[2] / "journeys" / "library"
CUSTOMER_JOURNEYS = ("onboarding", "renewal", "nps-survey", "quarterly-review",
                     "customer-recovery", "referral-thanks", "referral-reward")

# A sends at once, an hour later and two hours later; B sends half an hour after it starts.
FIRST = """
id: first
name: Three sends an hour apart
entry: {event: contact.created}
steps:
  - {id: a1, send: retail-nurture-2}
  - {id: w1, wait: 1h}
  - {id: a2, send: retail-nurture-3}
  - {id: w2, wait: 1h}
  - {id: a3, send: retail-nurture-4}
"""
SECOND = """
id: second
name: One send half an hour in
entry: {event: contact.created}
steps:
  - {id: pause, wait: 30m}
  - {id: b1, send: prospect-case-study}
"""
SILENT = behavior_from_text("email: {open: 0, unsubscribe: 0}\nevents: {trial.started: null}")
NO_QUIET_HOURS = Pacing(cap=2, quiet_start=time(0, 0), quiet_end=time(0, 0))


def journey(text: str) -> Journey:
    loaded = load_text(text)
    assert loaded.journey is not None, [str(v) for v in loaded.violations]
    return loaded.journey


def library(*names: str) -> list[Journey]:
    loaded = [load_file(LIBRARY / f"{name}.yaml").journey for name in names]
    assert all(loaded)
    return [j for j in loaded if j is not None]


def test_two_journeys_together_count_the_sends_one_held_back_for_the_other():
    # Cap 2: a1 and b1 fill the window, so every contact's a2 waits a week for a1 to leave
    # it, charged to `second`; a3 then goes an hour after a2. b1 came within a day of a1.
    report = simulate_together([journey(FIRST), journey(SECOND)], 40, 20, seed=3,
                               behavior=SILENT, pacing=NO_QUIET_HOURS)
    assert report.collisions() == [
        {"journey": "first", "because_of": "second", "held_by_cap": 40, "same_day": 0},
        {"journey": "second", "because_of": "first", "held_by_cap": 0, "same_day": 40}]
    first = report.reports["first"]
    assert first.steps["a2"]["deferred"] == 40
    assert first.steps["a3"]["sent"] == first.steps["a3"]["deferred"] + 40 == 40
    assert report.emails == {"first": {"marketing": 120}, "second": {"marketing": 40}}
    assert report.max_capped_in_window == 2
    # Alone, `first` is never held: three sends in a week is within a cap of three.
    alone = simulate_together([journey(FIRST)], 40, 20, seed=3, behavior=SILENT,
                              pacing=Pacing(cap=3, quiet_start=time(0), quiet_end=time(0)))
    assert alone.collisions() == []


def test_the_same_seed_gives_the_same_run_of_several_journeys():
    journeys = library("onboarding", "nps-survey", "customer-recovery")
    first, second = (simulate_together(journeys, 150, 60, seed=5, cohort="customers")
                     for _ in range(2))
    assert first == second
    assert first.to_json() | {"seconds": 0} == second.to_json() | {"seconds": 0}
    assert simulate_together(journeys, 150, 60, seed=6, cohort="customers") != first


def test_the_weekly_table_counts_every_contact_from_its_own_anchor():
    t0 = datetime(2025, 1, 6, tzinfo=UTC)
    hours = [timedelta(hours=h) for h in (1, 24, 48, 72, 96)]
    ann = [(t0 + h, c) for h, c in zip(hours, ("marketing", "marketing", "service",
                                               "marketing", "transactional"), strict=True)]
    ann.append((t0 + timedelta(days=8), "marketing"))
    bob = [(t0 + timedelta(days=7, hours=11), "marketing")]  # bought half a day later
    cat: list[tuple[datetime, str]] = []
    rows = weekly_table([ann, bob, cat], [t0, t0 + timedelta(hours=12), t0], 3, cap=3)
    first, second, third = rows
    assert (first.week, first.contacts, first.max, first.p50, first.p90) == (1, 3, 5, 1, 5)
    assert first.mean == 2.0  # (5 + 1 + 0) / 3: Bob's email is in his first week
    assert first.over_cap == 1  # Ann: four that are not transactional
    assert first.by_class == {"marketing": 1.33, "service": 0.33, "transactional": 0.33}
    assert (second.mean, second.max, second.over_cap) == (0.33, 1, 0)
    assert (third.mean, third.max) == (0.0, 0)


def test_customers_are_counted_by_the_weeks_after_their_purchase():
    welcome = journey("""
id: welcome-pair
name: Two emails eight days apart
entry: {event: purchase.completed}
steps:
  - {id: hello, send: hello}
  - {id: later, wait: 8d}
  - {id: again, send: again}
""")
    report = simulate_together([welcome], 30, 92, seed=2, behavior=SILENT,
                               cohort="customers", weeks_after="purchase")
    assert [row.week for row in report.weeks] == list(range(1, 14))
    assert [(row.mean, row.max) for row in report.weeks[:3]] == [(1.0, 1), (1.0, 1),
                                                                (0.0, 0)]
    assert all(row.contacts == 30 and row.over_cap == 0 for row in report.weeks)
    assert "Sends per contact per week after purchase" in report.format_text()


def test_the_customer_journeys_together_keep_every_week_after_purchase_within_the_cap():
    report = simulate_together(library(*CUSTOMER_JOURNEYS), 400, 92, seed=1,
                               cohort="customers", weeks_after="purchase")
    assert len(report.weeks) == 13
    assert all(row.over_cap == 0 and row.max <= report.cap for row in report.weeks)
    assert report.reports["onboarding"].enrolled == 400
    assert report.reports["nps-survey"].enrolled > 300
    # The survey waits for onboarding to be over, so neither holds the other back.
    pairs = {(row["journey"], row["because_of"]) for row in report.collisions()}
    assert not pairs & {("nps-survey", "onboarding"), ("onboarding", "nps-survey")}


def test_simulate_with_several_files_shows_collisions_and_weeks(tmp_path):
    files = []
    for name, text in (("first", FIRST), ("second", SECOND)):
        path = tmp_path / f"{name}.yaml"
        path.write_text(text, encoding="utf-8")
        files.append(str(path))
    env = {"SECRET_KEY": "test-secret-key", "NURTURE_VAR_DIR": str(tmp_path / "var"),
           "NURTURE_FREQUENCY_CAP": "2", "NURTURE_QUIET_START": "00:00",
           "NURTURE_QUIET_END": "00:00"}
    behaviour = tmp_path / "silent.yaml"
    behaviour.write_text("email: {open: 0, unsubscribe: 0}\nevents: {trial.started: null}\n")
    args = ["simulate", *files, "--contacts", "25", "--days", "21", "--seed", "4",
            "--behavior", str(behaviour)]
    result = CliRunner().invoke(main, [*args, "--json"], env=env)
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["journeys"] == ["first", "second"]
    assert data["pacing"]["cap"] == 2
    assert data["collisions"][0] == {"journey": "first", "because_of": "second",
                                     "held_by_cap": 25, "same_day": 0}
    assert [row["week"] for row in data["sends_per_contact_per_week"]] == [1, 2, 3]
    assert data["per_journey"]["first"]["steps"]["a2"]["deferred"] == 25
    text = CliRunner().invoke(main, args, env=env).output
    assert "Simulated 2 journeys together (prospects)" in text
    assert "held by cap" in text and "first" in text and "second" in text


def test_simulate_all_runs_every_shipped_journey_together(tmp_path):
    result = invoke_cli(["simulate", "--all", "--contacts", "60", "--days", "30", "--json"],
                        tmp_path)
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    shipped = {load_file(path).journey.id for path in iter_files([LIBRARY])}  # type: ignore[union-attr]
    assert set(data["journeys"]) == shipped == set(data["per_journey"])
    assert data["cohort"] == "prospects"
    assert len(data["sends_per_contact_per_week"]) == 4


def test_simulate_weeks_after_purchase_prints_thirteen_weeks(tmp_path):
    result = invoke_cli(["simulate", "--all", "--weeks-after", "purchase",
                         "--contacts", "50"], tmp_path)
    assert result.exit_code == 0, result.output
    assert "(customers): 50 contacts over 92 days" in result.output
    lines = result.output.split("Sends per contact per week after purchase")[1].splitlines()
    assert lines[2].split()[0] == "1" and lines[14].split()[0] == "13"


def test_simulate_needs_a_journey_and_a_customer_cohort_for_weeks_after_purchase(tmp_path):
    result = invoke_cli(["simulate"], tmp_path)
    assert result.exit_code == 2
    assert "Name one or more journey files, or --all for every shipped journey." in \
        result.output
    result = invoke_cli(["simulate", "--all", "--cohort", "prospects",
                         "--weeks-after", "purchase"], tmp_path)
    assert result.exit_code == 2
    assert "--weeks-after purchase needs the customers cohort." in result.output
