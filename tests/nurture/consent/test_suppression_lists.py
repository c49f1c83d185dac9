"""`nurture suppressions`: a list kept by another tool comes in from CSV and stops queued
email at once, a bad file changes nothing, the list goes out as CSV, and an operator may
lift a bounce but never an unsubscribe."""

from __future__ import annotations

import csv
import io

import pytest
from click.testing import CliRunner
from sqlalchemy import insert, select

from nurture.app.cli.suppressions import suppressions
from nurture.consent.models import Suppression
from nurture.consent.records import suppress
from nurture.sending.models import Send
from tests.helpers import contact


def _listed(rt) -> dict[str, str]:
    with rt.db.sessions() as session:
        return dict(session.execute(select(Suppression.email_key, Suppression.reason)).all())


def _queue(rt, sends: list[tuple[str, bool]]) -> dict[str, int]:
    """A queued send per (address, transactional); returns ids by `address:kind`."""
    now = rt.clock.now()
    rows = []
    for address, transactional in sends:
        cid = contact(rt, address, consent_marketing=True)
        kind = "service" if transactional else "news"
        rows.append({"send_key": f"{address}:{kind}", "contact_id": cid, "to_email": address,
                     "template": "trial-welcome",
                     "message_class": "transactional" if transactional else "marketing",
                     "status": "queued", "created_at": now, "due_at": now})
    with rt.db.transaction() as session:
        session.execute(insert(Send), rows)
    with rt.db.sessions() as session:
        return dict(session.execute(select(Send.send_key, Send.id)).all())


def _statuses(rt) -> dict[str, tuple[str, str | None]]:
    with rt.db.sessions() as session:
        return {key: (status, reason) for key, status, reason in session.execute(
            select(Send.send_key, Send.status, Send.reason))}


def test_an_imported_list_suppresses_and_stops_queued_email_at_once(rt, tmp_path):
    _queue(rt, [("Ann@Example.com", False), ("Ann@Example.com", True),
                ("bob@example.com", True), ("cy@example.com", False)])
    with rt.db.transaction() as session:  # already listed: a weaker and a stronger reason
        suppress(session, "dee@example.com", "unsubscribed", "", "one-click", rt.clock.now())
        suppress(session, "eve@example.com", "bounced", "550 5.1.1", "smtp", rt.clock.now())
    file = tmp_path / "old-esp.csv"
    file.write_text("Email Address,reason,detail\n"
                    "ANN@example.com,unsubscribed,\n"
                    "bob@example.com,Bounced,550 5.1.1 user unknown\n"
                    "dee@example.com,complained,\n"
                    "eve@example.com,unsubscribed,\n"
                    "ann@example.com,unsubscribed,listed twice\n", encoding="utf-8")
    result = CliRunner().invoke(suppressions, ["import", str(file), "--email-column",
                                               "Email Address"], obj=rt)
    assert result.exit_code == 0, result.output
    assert result.output.strip() == ("4 addresses: 2 added, 1 given a stronger reason, "
                                     "1 already listed; 2 queued sends stopped.")
    assert _listed(rt) == {"ann@example.com": "unsubscribed", "bob@example.com": "bounced",
                           "dee@example.com": "complained", "eve@example.com": "bounced"}
    assert _statuses(rt) == {
        "Ann@Example.com:news": ("skipped", "suppressed:unsubscribed"),
        "Ann@Example.com:service": ("queued", None),  # service email still goes out
        "bob@example.com:service": ("skipped", "suppressed:bounced"),  # nothing does
        "cy@example.com:news": ("queued", None)}


@pytest.mark.parametrize(("text", "options", "message"), [
    ("address,reason\nann@example.com,unsubscribed\n", [],
     "The file has no 'email' column; its columns are address, reason."),
    ("email\nann@example.com\n", [],
     "The file has no 'reason' column: add one, or give the reason for every address "
     "with --reason."),
    ("email,reason\nann@example.com,unsubscribed\nnot an address,bounced\n", [],
     "Line 3 has the address 'not an address', which is not an email address."),
    ("email,reason\nann@example.com,spam\n", [],
     "Line 2 has the reason 'spam'; reasons are unsubscribed, bounced, complained."),
    ("email,reason,detail\nann@example.com,bounced,550 mailbox\x00gone\n", [],
     "Line 2, column 'detail': the text contains a NUL character (at position 12), which "
     "cannot be stored; remove it and try again."),
    ("", ["--reason", "bounced"],
     "The file is empty; its first line should name the columns, such as email,reason."),
])
def test_a_bad_file_is_one_sentence_naming_the_line_and_changes_nothing(rt, tmp_path, text,
                                                                        options, message):
    with rt.db.transaction() as session:
        suppress(session, "zed@example.com", "complained", "", "arf", rt.clock.now())
    file = tmp_path / "list.csv"
    file.write_text(text, encoding="utf-8")
    result = CliRunner().invoke(suppressions, ["import", str(file), *options], obj=rt)
    assert result.exit_code == 1
    assert result.output.strip() == f"Error: {file}: {message}"
    assert _listed(rt) == {"zed@example.com": "complained"}


def test_one_reason_for_a_whole_file_and_the_export_reads_back(rt, tmp_path):
    file = tmp_path / "bounces.csv"
    file.write_text("email\nann@example.com\nbob@example.com\n", encoding="utf-8")
    runner = CliRunner()
    assert runner.invoke(suppressions, ["import", str(file), "--reason", "bounced"],
                         obj=rt).exit_code == 0
    with rt.db.transaction() as session:
        suppress(session, "cy@example.com", "unsubscribed", "", "one-click", rt.clock.now())
    result = runner.invoke(suppressions, ["export"], obj=rt)
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [(r["email"], r["reason"], r["source"]) for r in rows] == [
        ("ann@example.com", "bounced", "import:bounces.csv"),
        ("bob@example.com", "bounced", "import:bounces.csv"),
        ("cy@example.com", "unsubscribed", "one-click")]
    only = runner.invoke(suppressions, ["export", "--reason", "unsubscribed"], obj=rt)
    assert [r["email"] for r in csv.DictReader(io.StringIO(only.stdout))] == ["cy@example.com"]


def test_a_bounce_may_be_lifted_but_an_unsubscribe_is_the_persons_to_lift(rt):
    with rt.db.transaction() as session:
        suppress(session, "ann@example.com", "bounced", "550", "smtp", rt.clock.now())
        suppress(session, "bob@example.com", "unsubscribed", "", "one-click", rt.clock.now())
    runner = CliRunner()
    lifted = runner.invoke(suppressions, ["lift", "Ann@example.com"], obj=rt)
    assert lifted.exit_code == 0
    assert lifted.output.strip() == "Ann@example.com is no longer suppressed (it was bounced)."
    refused = runner.invoke(suppressions, ["lift", "bob@example.com"], obj=rt)
    assert refused.exit_code == 1
    assert "only they can lift that, by confirming their subscription again" in refused.output
    unknown = runner.invoke(suppressions, ["lift", "cy@example.com"], obj=rt)
    assert "The address cy@example.com is not on the suppression list." in unknown.output
    assert _listed(rt) == {"bob@example.com": "unsubscribed"}
