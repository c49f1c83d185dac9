"""`nurture broadcasts`: create, list, show, pause, resume, cancel and send-winner, on the
real services; a refusal is a sentence and exit status 1."""

from __future__ import annotations

from click.testing import CliRunner

from nurture.app.cli import main
from tests.helpers import run_due
from tests.nurture.broadcasts.conftest import TEMPLATE_A, TEMPLATE_B, audience


def _run(rt, *args: str):
    return CliRunner().invoke(main, ["broadcasts", *args], obj=rt)


def test_the_command_line_runs_a_broadcast_from_creation_to_cancel(rt):
    audience(rt, 10)
    made = _run(rt, "create", "Spring news", "--list", "Newsletter", "--template", TEMPLATE_A,
                "--template", TEMPLATE_B, "--sample", "40")
    assert made.exit_code == 0, made.output
    assert "Broadcast #" in made.output and "10 recipients, " in made.output
    broadcast_id = made.output.split("#")[1].split()[0]
    sample = int(made.output.split("recipients, ")[1].split()[0])  # 40%, give or take
    assert 0 < sample < 10
    assert "Spring news" in _run(rt, "list").output
    assert _run(rt, "pause", broadcast_id, "--reason", "wrong link").exit_code == 0
    resumed = _run(rt, "resume", broadcast_id, "--reason", "fixed")
    assert f"{sample} sends released" in resumed.output
    run_due(rt)
    winner = _run(rt, "send-winner", broadcast_id)
    assert winner.exit_code == 0, winner.output
    assert "goes to the rest" in winner.output
    cancelled = _run(rt, "cancel", broadcast_id)
    assert f"{10 - sample} sends will never be sent" in cancelled.output
    shown = _run(rt, "show", broadcast_id)
    assert f"{10 - sample} never sent" in shown.output and "arm A" in shown.output
    again = _run(rt, "cancel", broadcast_id)
    assert again.exit_code == 1 and "was cancelled" in again.output


def test_the_command_line_refuses_a_bad_broadcast_with_every_reason(rt):
    refused = _run(rt, "create", "", "--list", "Nope", "--template", "no-such-template",
                   "--local", "25:00")
    assert refused.exit_code == 1
    assert "A broadcast needs a name." in refused.output
    missing = _run(rt, "show", "999")
    assert missing.exit_code == 1 and "There is no broadcast #999." in missing.output


def test_the_guard_commands_send_a_broadcast_to_its_own_pause(rt):
    audience(rt, 2)
    made = _run(rt, "create", "News", "--list", "Newsletter", "--template", TEMPLATE_A)
    broadcast_id = made.output.split("#")[1].split()[0]
    assert _run(rt, "pause", broadcast_id, "--reason", "typo").exit_code == 0
    refused = CliRunner().invoke(main, ["guard", "resume", f"broadcast:{broadcast_id}",
                                        "--reason", "fixed"], obj=rt)
    assert refused.exit_code == 1
    assert f"nurture broadcasts pause|resume {broadcast_id}" in refused.output
    run_due(rt)
    shown = _run(rt, "show", broadcast_id).output
    assert "paused (typo)" in shown and "sent 0" in shown


def test_the_command_line_tests_subject_lines_on_one_template(rt):
    audience(rt, 10)
    made = _run(rt, "create", "Subjects", "--list", "Newsletter", "--template", TEMPLATE_A,
                "--subject", "Line one", "--subject", "Line two", "--sample", "100")
    assert made.exit_code == 0, made.output
    broadcast_id = made.output.split("#")[1].split()[0]
    shown = _run(rt, "show", broadcast_id).output
    assert f"arm A ({TEMPLATE_A}, subject 'Line one')" in shown
    assert f"arm B ({TEMPLATE_A}, subject 'Line two')" in shown
    refused = _run(rt, "create", "Bad", "--list", "Newsletter", "--template", TEMPLATE_A,
                   "--subject", "{{ contact.__class__ }}")
    assert refused.exit_code == 1
    assert "templates cannot reach Python internals" in refused.output
