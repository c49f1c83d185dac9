"""The guard: a journey whose complaints (or hard bounces) pass their rate, once it has sent
enough to be judged, has its marketing mail paused. Nothing is dropped: its queued sends wait,
its contacts stay where they are, its owner is told once, and a resume with a reason lets
everything go on under the frequency cap and quiet hours."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import insert

from nurture.app import guard
from nurture.app.cli import main
from nurture.contacts.services import upsert_contacts
from nurture.sending.dsn import Bounce
from nurture.sending.errors import PauseError
from nurture.sending.models import Pause, Send
from tests.helpers import (
    advance_clock,
    contact,
    csrf,
    enrollments,
    event,
    mail_to,
    outbox,
    publish_text,
    rows,
    run_due,
    sends,
    signed_in,
)

NEWS = """
    id: news
    name: News
    owner: owner@example.com
    entry: {event: custom.joined}
    steps:
      - {id: first, send: prospect-case-study}
      - {id: later, wait: 2d}
      - {id: second, send: prospect-case-study}
"""
HELLO = """
    id: hello
    name: Hello
    entry: {event: custom.greeted}
    steps:
      - {id: hello, send: trial-welcome, class: transactional}
"""


def _history(rt, journey: str, count: int, days_ago: int = 1) -> list[str]:
    """`count` contacts who each got one marketing email of `journey` a day ago; their
    addresses."""
    now = rt.clock.now()
    addresses = [f"reader{i}@list.example" for i in range(count)]
    with rt.db.transaction() as session:
        ids = upsert_contacts(session, [{"email": a, "consent_marketing": True}
                                        for a in addresses])
        session.execute(insert(Send), [{
            "send_key": f"old:{journey}:{i}", "contact_id": ids[a], "to_email": a,
            "journey_id": journey, "step_id": "first", "template": "prospect-case-study",
            "variant": "", "message_class": "marketing", "topic": "", "status": "sent",
            "created_at": now - timedelta(days=days_ago),
            "sent_at": now - timedelta(days=days_ago)} for i, a in enumerate(addresses)])
    return addresses


def _complaints(rt, addresses: list[str]) -> dict[str, int]:
    """Abuse reports naming no send (as feedback loops send them), through the intake."""
    return guard.intake(rt, [Bounce(a, "", "", "complaint", "abuse")
                             for a in addresses], "webhook")


def _queued(rt, cid: int, address: str, key: str, message_class: str = "marketing",
            due: datetime | None = None) -> None:
    """A send of the news journey waiting for its time, as its step left it."""
    with rt.db.transaction() as session:
        session.execute(insert(Send), [{
            "send_key": key, "contact_id": cid, "to_email": address, "journey_id": "news",
            "step_id": "first", "template": "prospect-case-study" if message_class ==
            "marketing" else "onboarding-welcome", "variant": "",
            "message_class": message_class, "topic": "", "status": "queued",
            "created_at": rt.clock.now(), "due_at": due or rt.clock.now()}])


def _state(rt, key: str) -> Send:
    [row] = rows(rt, Send, Send.send_key == key)
    return row


@pytest.fixture
def paused(rt):
    """The news journey after 1,000 emails and 2 complaints (0.2%): ann waits in it for its
    second email, and bob's email is queued for an hour from now."""
    publish_text(rt, NEWS)
    publish_text(rt, HELLO)
    listed = _history(rt, "news", 1000)
    ann = contact(rt, "ann@example.com", consent_marketing=True)
    event(rt, ann, "custom.joined")
    bob = contact(rt, "bob@example.com", consent_marketing=True)
    _queued(rt, bob, "bob@example.com", "news:bob", due=rt.clock.now() + timedelta(hours=1))
    counts = _complaints(rt, listed[:2])
    assert counts["complaint"] == 2
    run_due(rt)
    return {"ann": ann, "bob": bob, "listed": listed}


def test_complaints_past_the_rate_pause_the_journey_with_the_reason(rt, paused) -> None:
    [pause] = rows(rt, Pause)
    assert (pause.source_kind, pause.source_id, pause.reason, pause.paused_by) == \
        ("journey", "news", "paused: complaints", "guard")
    assert pause.sent == 1001 and pause.complaint_rate == pytest.approx(2 / 1001)
    assert pause.resumed_at is None


def test_a_complaint_naming_no_send_is_marked_on_the_newest_send_to_that_address(rt) -> None:
    publish_text(rt, NEWS)
    [address] = _history(rt, "news", 1, days_ago=3)
    cid = rows(rt, Send)[0].contact_id
    # A newer email of the same journey to the same person, then an old one of another.
    with rt.db.transaction() as session:
        session.execute(insert(Send), [{
            "send_key": key, "contact_id": cid, "to_email": address, "journey_id": journey,
            "template": "prospect-case-study", "variant": "", "message_class": "marketing",
            "topic": "", "status": "sent", "created_at": at, "sent_at": at}
            for key, journey, at in (("newer", "news", rt.clock.now() - timedelta(hours=5)),
                                     ("older", "other", rt.clock.now() - timedelta(days=9)))])
    _complaints(rt, [address.upper()])
    marked = {s.send_key: s.feedback for s in rows(rt, Send)}
    assert marked == {"old:news:0": None, "newer": "complaint", "older": None}


def test_the_paused_journeys_queued_marketing_stays_queued_and_is_not_delivered(
        rt, paused) -> None:
    advance_clock(rt, timedelta(hours=3))
    bob = _state(rt, "news:bob")
    assert (bob.status, bob.reason, bob.due_at) == ("queued", "paused: complaints", None)
    assert mail_to(rt, "bob@example.com") == []


def test_contacts_in_a_paused_journey_stay_where_they_are(rt, paused) -> None:
    before = [s.template for s in sends(rt, paused["ann"])]
    advance_clock(rt, timedelta(days=3), step=timedelta(hours=6))
    [ann] = enrollments(rt, paused["ann"])
    assert (ann.status, ann.step_id, ann.next_run_at) == ("active", "later", None)
    assert ann.held_run_at is not None
    assert [s.template for s in sends(rt, paused["ann"])] == before  # no second email


def test_service_and_transactional_mail_keeps_flowing_while_paused(rt, paused) -> None:
    cy = contact(rt, "cy@example.com", stage="onboard")
    _queued(rt, cy, "cy@example.com", "news:cy:service", "service")
    dee = contact(rt, "dee@example.com")
    event(rt, dee, "custom.greeted")  # another journey's transactional email
    run_due(rt)
    assert _state(rt, "news:cy:service").status == "sent"
    assert [m["Subject"] for m in mail_to(rt, "dee@example.com")]


def test_the_owner_is_emailed_once_with_the_rates_and_the_console_link(rt, paused) -> None:
    [notice] = mail_to(rt, "owner@example.com")
    assert "news" in notice["Subject"] and "complaints" in notice["Subject"]
    text = notice.get_body(("plain",)).get_content()
    assert "0.20%" in text and "0.10%" in text
    assert "http://localhost:5000/deliverability" in text
    _complaints(rt, paused["listed"][2:4])  # more feedback: judged again, still paused
    guard.run_guard_jobs(rt)
    run_due(rt)
    assert len(mail_to(rt, "owner@example.com")) == 1
    assert len(rows(rt, Pause)) == 1


def test_fewer_than_a_thousand_sends_are_not_judged(rt) -> None:
    publish_text(rt, NEWS)
    listed = _history(rt, "news", 998)
    _complaints(rt, listed[:50])  # 5%, but of too few
    guard.run_guard_jobs(rt)
    assert rows(rt, Pause) == []


def test_hard_bounces_past_their_rate_pause_the_journey(rt) -> None:
    publish_text(rt, NEWS)
    listed = _history(rt, "news", 1000)
    guard.intake(rt, [Bounce(a, "failed", "5.1.1", "hard", "no such user")
                      for a in listed[:21]], "dsn-import")
    assert [p.reason for p in rows(rt, Pause)] == ["paused: bounces"]


def test_a_resume_needs_a_reason(rt, paused) -> None:
    with pytest.raises(PauseError, match="needs a reason"):
        guard.resume(rt, "news", "   ", "marketer@example.com")
    assert rows(rt, Pause)[0].resumed_at is None


def test_resuming_releases_the_held_mail_within_quiet_hours_and_the_cap(rt, paused) -> None:
    # Cap (3 a week) already reached by cap@ two days ago: their release waits for the window.
    capped = contact(rt, "cap@example.com", consent_marketing=True)
    now = rt.clock.now()
    with rt.db.transaction() as session:
        session.execute(insert(Send), [{
            "send_key": f"cap:{i}", "contact_id": capped, "to_email": "cap@example.com",
            "journey_id": "other", "template": "prospect-case-study", "variant": "",
            "message_class": "marketing", "topic": "", "status": "sent",
            "created_at": now - timedelta(days=2), "sent_at": now - timedelta(days=2, hours=i)}
            for i in range(3)])
    _queued(rt, capped, "cap@example.com", "news:cap")
    run_due(rt)
    assert _state(rt, "news:cap").status == "queued"  # held by the pause
    rt.clock.advance(timedelta(hours=12))  # 22:00 UTC: quiet hours until 08:00
    released = guard.resume(rt, "journey:news", "Removed the purchased list.",
                            "marketer@example.com")
    assert released == {"sends": 2, "enrollments": 1}
    morning = datetime(2026, 3, 3, 8, 0, tzinfo=UTC)
    assert _state(rt, "news:bob").due_at == morning
    assert _state(rt, "news:cap").due_at == now - timedelta(days=2, hours=2) + timedelta(days=7)
    run_due(rt)
    assert mail_to(rt, "bob@example.com") == []  # not in the night
    advance_clock(rt, timedelta(hours=10))
    assert len(mail_to(rt, "bob@example.com")) == 1
    advance_clock(rt, timedelta(days=1, hours=4), step=timedelta(hours=6))  # her wait ends
    assert len(mail_to(rt, "ann@example.com")) == 2  # the journey moved on: her second email
    [pause] = rows(rt, Pause)
    assert (pause.resumed_by, pause.resume_reason) == \
        ("marketer@example.com", "Removed the purchased list.")


def test_the_console_shows_the_rates_and_the_pause_and_resumes_with_a_reason(
        rt, paused) -> None:
    client = signed_in(rt, "marketer")
    page = client.get("/deliverability")
    assert page.status_code == 200
    assert "0.20%" in page.text and "paused: complaints" in page.text
    refused = client.post("/deliverability/resume", data={
        "csrf_token": csrf(page.text), "source": "news", "reason": ""})
    assert refused.status_code == 400 and "A resume needs a reason" in refused.text
    done = client.post("/deliverability/resume", data={
        "csrf_token": csrf(page.text), "source": "news", "reason": "List cleaned."},
        follow_redirects=True)
    assert done.status_code == 200 and "is resumed" in done.text
    assert "List cleaned." in done.text  # in the history
    paused_again = client.post("/deliverability/pause", data={
        "csrf_token": csrf(done.text), "source": "news", "reason": "Checking the copy."},
        follow_redirects=True)
    assert "paused: by marketer@example.com: Checking the copy." in paused_again.text


def test_mail_with_a_source_carries_a_feedback_id(rt) -> None:
    publish_text(rt, NEWS)
    ann = contact(rt, "ann@example.com", consent_marketing=True)
    event(rt, ann, "custom.joined")
    [message] = outbox(rt)
    assert message["Feedback-ID"] == "news:prospect-case-study:marketing:nurture"


def test_the_command_line_shows_pauses_and_resumes_only_with_a_reason(rt, paused) -> None:
    def cli(*args: str):
        return CliRunner().invoke(main, ["guard", *args], obj=rt)

    shown = cli("status")
    assert shown.exit_code == 0, shown.output
    assert "journey:news  sent 1001  complaints 2 (0.20%)" in shown.output
    assert "PAUSED" in shown.output and "paused: complaints" in shown.output
    refused = cli("resume", "news", "--reason", "")
    assert refused.exit_code == 1 and "A resume needs a reason" in refused.output
    done = cli("resume", "news", "--reason", "Removed the purchased list.", "--by", "ann")
    assert done.exit_code == 0 and "1 held sends released" in done.output
    again = cli("pause", "news", "--reason", "Checking the copy.")
    assert again.exit_code == 0 and "paused: by cli: Checking the copy." in again.output
    unknown = cli("pause", "nope", "--reason", "Typo.")
    assert unknown.exit_code == 1 and "No journey 'nope' is published" in unknown.output


def test_a_feedback_id_field_never_holds_a_colon_and_mail_without_a_source_has_none() -> None:
    from nurture.sending.compose import feedback_id

    assert feedback_id("spring:promo", "offer@retail", "marketing") == {
        "Feedback-ID": "spring-promo:offer-retail:marketing:nurture"}
    assert feedback_id(None, "sales-handoff", "transactional") == {}


def test_a_contact_who_reaches_the_goal_while_paused_stays_out_after_the_resume(rt) -> None:
    publish_text(rt, NEWS.replace("steps:", "exit_on: [custom.bought]\n    steps:"))
    _history(rt, "news", 1000)
    ann = contact(rt, "ann@example.com", consent_marketing=True)
    event(rt, ann, "custom.joined")
    guard.pause(rt, "news", "Checking the copy.", "marketer@example.com")
    event(rt, ann, "custom.bought")
    guard.resume(rt, "news", "Copy checked.", "marketer@example.com")
    advance_clock(rt, timedelta(days=3), step=timedelta(hours=6))
    [enrollment] = enrollments(rt, ann)
    assert (enrollment.status, enrollment.next_run_at, enrollment.held_run_at) == \
        ("exited", None, None)
    assert len(mail_to(rt, "ann@example.com")) == 1
