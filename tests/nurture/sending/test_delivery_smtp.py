"""Journey email over real SMTP: a 5xx on the recipient suppresses the address, a 4xx is
retried later, and `nurture bounces import` suppresses from a delivery status report."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from nurture.consent.models import Suppression
from nurture.events.models import Event
from nurture.sending.sink import Faults, SinkThread, SMTPSink, Store
from tests.helpers import HELLO, contact, event, publish_text, run_due, running, sends

FIXTURES = Path(__file__).parent / "fixtures" / "dsn"


@pytest.fixture
def smtp_rt(settings, clock):
    sink = SinkThread(SMTPSink(port=0, store=Store(), faults=Faults.parse(
        ["^gone@=550 5.1.1 No such user here", "^busy@=451 4.3.0 Try again later"])))
    with running(settings.with_(smtp_url=f"smtp://127.0.0.1:{sink.port}"), clock, 2) as rt:
        yield rt, sink
    sink.stop()


def test_hard_bounce_suppresses_and_a_4xx_is_retried_later(smtp_rt):
    rt, sink = smtp_rt
    publish_text(rt, HELLO)
    people = {name: contact(rt, f"{name}@example.com") for name in ("ok", "gone", "busy")}
    for cid in people.values():
        event(rt, cid, "custom.joined")
    run_due(rt)
    status = {s.to_email.split("@")[0]: s for s in sends(rt)}
    assert status["ok"].status == "sent" and sink.stats.messages == 1
    assert status["gone"].status == "failed" and "550" in status["gone"].reason
    assert status["busy"].status == "queued" and status["busy"].due_at > rt.clock.now()
    with rt.db.sessions() as session:
        suppressed = dict(session.execute(select(Suppression.email_key, Suppression.reason))
                          .all())
        bounced = session.scalars(select(Event.contact_id).where(Event.type == "email.bounced"))
        assert list(bounced) == [people["gone"]]
    assert suppressed == {"gone@example.com": "bounced"}
    # The refused send is marked for the guard's hard-bounce rate; the others are not.
    marked = {s.to_email: s.feedback for s in sends(rt)}
    assert marked == {"ok@example.com": None, "gone@example.com": "hard_bounce",
                      "busy@example.com": None}


def test_bounces_import_suppresses_from_a_dsn_file(settings, monkeypatch, rt):
    contact(rt, "ann@example.com", consent_marketing=True)
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    monkeypatch.setenv("NURTURE_VAR_DIR", str(settings.var_dir))
    monkeypatch.setenv("SECRET_KEY", "x")
    from nurture.app.cli import main

    fixture = FIXTURES / "postfix_hard_bounce.eml"
    recipient = __import__("nurture.sending.dsn", fromlist=["x"]).parse_report(
        fixture.read_bytes())[0].recipient
    result = CliRunner().invoke(main, ["bounces", "import", str(fixture)])
    assert result.exit_code == 0, result.output
    assert "Recorded 1 bounce reports: 1 hard" in result.output
    with rt.db.sessions() as session:
        assert session.scalar(select(Suppression.reason).where(
            Suppression.email_key == recipient)) == "bounced"
    missing = CliRunner().invoke(main, ["bounces", "import", "/nonexistent.eml"])
    assert missing.exit_code == 2 and "does not exist" in missing.output
