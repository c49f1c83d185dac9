"""An A/B test of a broadcast's subject line: one template, a subject line per arm. The
sample's arms get their lines (personalized in the sandbox, in the HTML title too), the
mail server receives them, a translation keeps its own subject, and the winner's line
goes to the rest. A line that cannot render is refused with a sentence."""

from __future__ import annotations

import mailbox
from email import message_from_bytes, policy
from email.message import EmailMessage

import pytest
from sqlalchemy import select

from nurture.broadcasts import plan, queries, services
from nurture.broadcasts.errors import BroadcastInvalid
from nurture.events.bus import NewEvent
from nurture.events.services import record_many
from nurture.sending import subjects
from nurture.sending.models import Send
from nurture.sending.sink import Faults, SinkThread, SMTPSink, Store
from tests.helpers import html_of, run_due
from tests.nurture.broadcasts.conftest import TEMPLATE_A, TEMPLATE_B, audience, broadcast

LINE_A = "{{ contact.first_name }}, how a 40-person firm moved in three weeks"
LINE_B = "Three weeks to new tools: a case study"
FRENCH = "Comment une entreprise de 40 personnes a migré ses outils du quotidien en trois " \
         "semaines"


@pytest.fixture
def sink(tmp_path):
    running = SinkThread(SMTPSink(port=0, store=Store(maildir=tmp_path / "sink"),
                                  faults=Faults.parse([])))
    yield running
    running.stop()


@pytest.fixture
def settings(settings, sink):
    """Mail goes to the SMTP sink, which keeps every message it accepts."""
    return settings.with_(smtp_url=f"smtp://127.0.0.1:{sink.port}")


def _received(tmp_path) -> dict[str, EmailMessage]:
    """What the sink accepted, by recipient."""
    found: dict[str, EmailMessage] = {}
    for kept in mailbox.Maildir(tmp_path / "sink", create=True):
        message = message_from_bytes(kept.as_bytes(), policy=policy.default)
        assert isinstance(message, EmailMessage)
        found[str(message["To"])] = message
    return found


def _sends(rt, broadcast_id: int) -> list[Send]:
    with rt.db.sessions() as session:
        return list(session.scalars(select(Send).where(Send.broadcast_id == broadcast_id)
                                    .order_by(Send.id)))


def test_each_arm_of_the_sample_gets_its_subject_line_and_the_sink_receives_it(rt, tmp_path):
    audience(rt, 400)
    made = broadcast(rt, templates=(TEMPLATE_A,), subjects=(LINE_A, LINE_B),
                     sample_percent="50")
    assert made.templates == [TEMPLATE_A, TEMPLATE_A] and made.subjects == [LINE_A, LINE_B]
    sample = [s for s in _sends(rt, made.id) if s.status == "queued"]
    assert all(90 <= sum(s.variant == v for s in sample) <= 110 for v in "AB")
    run_due(rt)
    received = _received(tmp_path)
    assert len(received) == len(sample)
    for send in sample:
        message = received[send.to_email]
        first_name = "Reader" + send.to_email.removeprefix("reader").split("@")[0]
        expected = (f"{first_name}, how a 40-person firm moved in three weeks"
                    if send.variant == "A" else LINE_B)
        assert message["Subject"] == expected
        assert f"<title>{expected}</title>" in html_of(message)  # the title follows it


def test_a_reader_of_a_translation_keeps_the_translations_subject(rt, tmp_path):
    audience(rt, 4, language="fr")
    made = broadcast(rt, subjects=(LINE_B,))
    assert queries.shown(rt.db, made.id).test is None  # one arm: a subject line, no test
    run_due(rt)
    received = _received(tmp_path)
    assert len(received) == 4
    assert {str(m["Subject"]).strip() for m in received.values()} == {FRENCH}


def test_the_winners_subject_line_goes_to_the_rest(rt, tmp_path):
    audience(rt, 600)
    made = broadcast(rt, templates=(TEMPLATE_A,), subjects=("", LINE_B), sample_percent="40")
    run_due(rt)
    sent = [s for s in _sends(rt, made.id) if s.status == "sent"]
    arm_b = [s for s in sent if s.variant == "B"]
    record_many(rt, [NewEvent(s.contact_id, "email.clicked", {"send": s.send_key})
                     for s in arm_b[:60]])
    test = queries.shown(rt.db, made.id).test
    assert test is not None
    assert [(a.name, a.subject) for a in test.arms] == [("A", ""), ("B", LINE_B)]
    assert services.winner_sent(rt.db, made.id, "marketer@example.com", rt.clock.now(),
                                "UTC") == "B"
    run_due(rt)
    rest = [s for s in _sends(rt, made.id) if s.variant == services.REST]
    assert len(rest) == 600 - len(sent)
    assert {(s.status, s.subject) for s in rest} == {("sent", LINE_B)}
    received = _received(tmp_path)
    assert {str(received[s.to_email]["Subject"]) for s in rest} == {LINE_B}
    own = {str(received[s.to_email]["Subject"]) for s in sent if s.variant == "A"}
    assert own == {"How a 40-person firm moved its everyday tools in three weeks"}


def test_arms_may_differ_by_template_and_subject_but_never_repeat(rt):
    audience(rt, 10)
    made = broadcast(rt, templates=(TEMPLATE_A, TEMPLATE_B), subjects=("", LINE_B))
    assert made.templates == [TEMPLATE_A, TEMPLATE_B] and made.subjects == ["", LINE_B]
    with pytest.raises(BroadcastInvalid) as refused:
        broadcast(rt, templates=(TEMPLATE_A,), subjects=(LINE_B, LINE_B))
    assert "Each arm of a test differs from the others by its template or its subject " \
           "line." in str(refused.value.violations)


@pytest.mark.parametrize(("line", "says"), [
    ("{{ contact.first_name", "cannot be used: unexpected end of template"),
    ("{{ contact.__class__ }}", "templates cannot reach Python internals"),
    ("{{ 1 / 0 }}", "division by zero"),
    ("{{ contact.first_name | nosuchfilter }}", "No filter named 'nosuchfilter'"),
    ("x" * 201, "A subject line is at most 200 characters."),
])
def test_a_subject_line_that_cannot_render_is_refused_with_a_sentence(rt, line, says):
    audience(rt, 10)
    with pytest.raises(BroadcastInvalid) as refused:
        broadcast(rt, templates=(TEMPLATE_A,), subjects=("Fine", line))
    [violation] = refused.value.violations
    assert violation.field == "subject_b" and violation.message.startswith("Arm B: ")
    assert says in violation.message and violation.message.endswith(".")
    assert queries.listed(rt.db) == []


def test_a_subject_line_is_checked_in_the_sandbox_with_the_sends_variables():
    assert subjects.problem("{{ contact.first_name }} at {{ contact.company }}") is None
    assert subjects.problem("{{ links.unsubscribe }} {{ company.name }}") is None
    assert plan.SUBJECT_MAX == subjects.MAX_LENGTH
