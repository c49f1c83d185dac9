"""`nurture journeys validate`: every violation, with its file and line, and exit codes."""

from __future__ import annotations

from pathlib import Path
from textwrap import dedent

from click.testing import CliRunner

from nurture.app.cli import main

BROKEN = """\
id: broken
name: Broken
entry:
  event: trial.startd
steps:
  - id: hello
    send: no-such-template
    next: nowhere
  - id: orphan
    wait: 3 days
  - id: spin
    branch:
      - when: score >= 50
        goto: spin2
    default: spin2
  - id: spin2
    exit: done
"""


def run_validate(*paths: str):
    return CliRunner().invoke(main, ["journeys", "validate", *paths])


def test_shipped_library_is_valid():
    result = run_validate("journeys/library")
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "" or "are valid" in result.output


def test_every_violation_is_reported_with_file_and_line(tmp_path: Path):
    path = tmp_path / "broken.yaml"
    path.write_text(BROKEN)
    result = run_validate(str(path))
    assert result.exit_code == 1
    lines = [line for line in result.output.splitlines() if line.startswith(str(path))]
    text = "\n".join(lines)
    assert f"{path}:4: The event type 'trial.startd' is unknown" in text
    assert f"{path}:7: The template 'no-such-template' is unknown" in text
    assert f"{path}:10: The wait duration is not valid" in text
    # The graph is checked too, though steps have problems of their own.
    assert f"{path}:8: The step 'hello' goes to 'nowhere'" in text
    assert f"{path}:9: The step 'orphan' can never be reached." in text


def test_graph_violations_unknown_target_unreachable_and_loop_without_wait(tmp_path: Path):
    path = tmp_path / "graph.yaml"
    path.write_text(dedent("""\
        id: graph
        name: Graph
        entry: {event: contact.created}
        steps:
          - id: a
            send: trial-welcome
            next: b
          - id: b
            branch:
              - {when: "score > 1", goto: a}
            default: c
          - id: c
            exit: done
          - id: lost
            wait: 2d
            next: nowhere
    """))
    result = run_validate(str(path))
    assert result.exit_code == 1
    out = result.output
    assert f"{path}:16: The step 'lost' goes to 'nowhere'" in out
    path.write_text(path.read_text().replace("next: nowhere", "next: c"))
    out = run_validate(str(path)).output
    assert f"{path}:14: The step 'lost' can never be reached." in out
    assert "form a loop with no wait" in out and f"{path}:5:" in out


def test_yaml_syntax_error_names_its_line_and_nothing_half_loads(tmp_path: Path):
    path = tmp_path / "syntax.yaml"
    path.write_text("id: x\nname: X\nsteps:\n  - id: a\n    send: [unclosed\n")
    result = run_validate(str(path))
    assert result.exit_code == 1
    assert f"{path}:" in result.output and "The YAML is not valid" in result.output
    from journeys.loader import load_file

    assert load_file(path).journey is None


def test_several_files_are_all_checked(tmp_path: Path):
    good = Path("journeys/library/trial-nurture.yaml").resolve()
    bad = tmp_path / "bad.yaml"
    bad.write_text("id: bad\nname: Bad\n")
    result = run_validate(str(good), str(bad))
    assert result.exit_code == 1
    assert f"{bad}:1: 'entry' is required" in result.output
    assert f"{bad}:1: 'steps' must be a non-empty list" in result.output
    assert str(good) not in result.output


def test_a_duration_too_long_to_count_is_a_violation_at_its_line(tmp_path: Path):
    path = tmp_path / "long.yaml"
    path.write_text(dedent("""\
        id: long
        name: Long
        entry:
          event: trial.started
        steps:
          - id: forever
            wait: 99999999999d
          - id: done
            exit: done
        """))
    result = run_validate(str(path))
    assert result.exit_code == 1
    assert f"{path}:7: The wait duration is not valid: The duration '99999999999d' is too long" \
        in result.output


def test_an_owner_must_be_one_email_address():
    from journeys.loader import load_text

    good = load_text("id: j\nname: J\nowner: ann@example.com\nentry: {event: custom.x}\n"
                     "steps:\n  - {id: a, exit: done}\n")
    assert good.violations == [] and good.journey.owner == "ann@example.com"
    bad = load_text("id: j\nname: J\nowner: ann, bob\nentry: {event: custom.x}\n"
                    "steps:\n  - {id: a, exit: done}\n")
    assert ["'owner' must be one email address" in v.message for v in bad.violations] == [True]
    assert bad.violations[0].line == 3
