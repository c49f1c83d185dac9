"""The scoring rules file: the shipped one is valid, and a bad one gets every problem with
its line, like journey validation."""

from __future__ import annotations

from textwrap import dedent

from click.testing import CliRunner

from nurture.app.cli.scoring import scoring
from scoring.loader import DEFAULT_FILE, load_rules_file, load_rules_text

BAD = dedent("""\
    half_life: forever
    grades: {A: 10, B: 20}
    fit:
      - id: vertical
        points: ten
        when: {industry: []}
      - id: size
        points: 5
        when: {headcount: {min: 10}}
      - id: vertical
        points: 3
        when: {role: {matches: "(unclosed"}}
    engagement:
      - id: visits
        event: page.viewed
        points: 2
        cap: {points: 10, per: fortnight}
      - id: Opens!
        event: email.opened
        points: 1
        decays: maybe
    handoff:
      threshold: high
      min_grade: E
      velocity: {events: 3}
      hand_raisers: [demo.wanted]
      colour: blue
    """)


def test_the_shipped_rules_are_valid():
    loaded = load_rules_file(DEFAULT_FILE)
    assert loaded.violations == []
    assert {r.id for r in loaded.rules.engagement} >= {"email-open", "hard-bounce"}


def test_every_problem_is_reported_with_its_line():
    loaded = load_rules_text(BAD, "rules.yaml")
    assert loaded.rules is None
    lines = sorted({v.line for v in loaded.violations})
    assert lines == [1, 2, 5, 6, 9, 10, 12, 15, 17, 18, 21, 23, 24, 25, 26, 27], \
        [str(v) for v in loaded.violations]
    messages = " ".join(v.message for v in loaded.violations)
    for expected in ("The half-life is not valid", "Grades must need fewer points",
                     "The rule's points must be a number", "The list for 'industry' is empty",
                     "'headcount' is not a contact field", "The rule id 'vertical' is used twice",
                     "not a valid regular expression", "'page.viewed' is not in the catalogue",
                     "period must be day, week or month", "Every rule needs an 'id'",
                     "'decays' must be true or false", "The threshold must be a number",
                     "'min_grade' must be A, B, C or D", "'velocity' must be a mapping",
                     "The hand-raiser 'demo.wanted' is not a known event type",
                     "unknown key 'colour'"):
        assert expected in messages, expected


def test_the_validate_command_prints_file_line_and_sentence(tmp_path):
    path = tmp_path / "rules.yaml"
    path.write_text(BAD)
    result = CliRunner().invoke(scoring, ["validate", str(path)])
    assert result.exit_code == 1
    assert f"{path}:5: The rule's points must be a number." in result.output
    good = CliRunner().invoke(scoring, ["validate", str(DEFAULT_FILE)])
    assert good.exit_code == 0 and "hand-off at 50" in good.output


def test_a_rules_file_that_is_not_utf8_is_a_problem_at_line_one(tmp_path):
    path = tmp_path / "rules.yaml"
    path.write_bytes("fit: []\nhalf_life: 30d # Grüße\n".encode("latin-1"))
    result = CliRunner().invoke(scoring, ["validate", str(path)])
    assert result.exit_code == 1
    assert f"{path}:1: The rules file cannot be read: 'utf-8' codec can't decode" in result.output
