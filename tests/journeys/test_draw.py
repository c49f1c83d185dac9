"""The hand-written SVG drawing of a journey."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from journeys import definition as j
from journeys.draw import draw_svg
from journeys.loader import load_file, load_text

LIBRARY = Path(__file__).resolve().parents[2] / "journeys" / "library"
SVG = "{http://www.w3.org/2000/svg}"


def _text(svg: str) -> str:
    """All the text in a drawing (labels and tooltips), unescaped, as one string."""
    return "\n".join(ET.fromstring(svg).itertext())


@pytest.fixture(scope="module")
def trial() -> j.Journey:
    loaded = load_file(LIBRARY / "trial-nurture.yaml")
    assert loaded.journey is not None, loaded.violations
    return loaded.journey


def test_draws_the_trial_journey_as_well_formed_svg(trial: j.Journey) -> None:
    svg = draw_svg(trial)
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg"
    assert root.get("viewBox", "").startswith("0 0 ")
    text = _text(svg)
    assert "Trial nurture" in text and "trial-nurture" in text
    for step in trial.steps:
        assert step.id in text
    for label in ("When trial.started", "Send: trial-welcome", "Hand off to sales",
                  "Exit: trial-outcome-not-recorded", "End (completed)", "on event", "timeout",
                  "otherwise", "Wait until trial.ends_at \u2212 5d", "Re-entry: after 180d",
                  "trial.converted", "50%"):
        assert label in text, label


def test_shows_branch_conditions_and_wait_durations(trial: j.Journey) -> None:
    text = _text(draw_svg(trial))
    assert "count('trial.seat_activated') >= 3 and score >= 50" in text  # full, in a tooltip
    assert "Wait 7d" in text
    assert "timeout 2d" in text


def test_escapes_user_text(trial: j.Journey) -> None:
    evil = replace(trial, name="<script>alert('x')</script> & co", description="a < b")
    svg = draw_svg(evil)
    assert "<script>" not in svg
    assert "<script>alert('x')</script> & co" in _text(svg)
    ET.fromstring(svg)


def test_draws_a_loop_back_to_an_earlier_step() -> None:
    journey = j.Journey(
        id="loop", name="Loop", trigger=j.ConditionTrigger("stage == 'onboard'"),
        reentry=j.ReEntry("always"),
        steps=(
            j.Send("remind", "reminder"),
            j.Wait("pause", duration=timedelta(days=3)),
            j.Branch("check", (j.Case("has('app.login')", "done"),
                               j.Case("score < 10", "pause")), default="again"),
            j.Wait("again", duration=timedelta(hours=12), next="remind"),
            j.Exit("done", "activated"),
        ),
    )
    svg = draw_svg(journey)
    root = ET.fromstring(svg)
    text = _text(svg)
    assert "When stage == 'onboard'" in text and "Wait 12h" in text and "score < 10" in text
    loops = [p for p in root.iter(f"{SVG}path") if "nurture-loop" in (p.get("marker-end") or "")]
    assert len(loops) == 2  # again → remind, and the branch case back to pause


def test_draws_every_kind_of_step() -> None:
    loaded = load_text("""
id: everything
name: Every step
entry: {date: "commitment.ends_at - 60d"}
exit_on:
  - {event: email.clicked, where: "properties.url == 'https://example.com/pricing'"}
steps:
  - {id: until-monday, wait: {until: "monday 09:00"}}
  - {id: ab, split: [{weight: 30, goto: mark}, {weight: 70, goto: hook}]}
  - {id: mark, set: {stage: onboard, attributes: {onboarding: started}}, next: done}
  - {id: hook, webhook: {url: "https://crm.example.com/hooks/nurture", event: trial.engaged}}
  - {id: done, exit: converted}
""")
    assert loaded.journey is not None, loaded.violations
    text = _text(draw_svg(loaded.journey))
    for label in ("On commitment.ends_at \u2212 60d", "Wait until Monday 09:00", "30%", "70%",
                  "Set stage=onboard", "onboarding=started", "Webhook", "Exit: converted"):
        assert label in text, label
