"""`POST /api/inbound`: one raw message forwarded by a relay, handled as the IMAP poller
handles it; bad requests are refused with a sentence, never a 5xx. And no mailto
unsubscribe is promised unless one of the two paths reads it."""

from __future__ import annotations

import logging
import threading
from datetime import timedelta

import pytest

from nurture.app.scheduler.loop import run as run_scheduler
from nurture.config import InboundSettings
from nurture.inbound.queries import kept_page
from nurture.inbound.services import forget_old
from tests.helpers import contact, get_contact, outbox, running, signed_in, web_client
from tests.nurture.inbound.mail import (
    DSN,
    UNSUBSCRIBE,
    events_of,
    mail,
    mailto_of,
    subscribed,
    suppressed,
    withdrawals,
)

KEY = {"Authorization": "Bearer test-api-key"}
RFC822 = "message/rfc822"


@pytest.fixture
def rt(settings, clock):
    """A relay forwards the unsubscribe mailbox to the API."""
    with running(settings.with_(inbound=InboundSettings(webhook=True)), clock) as runtime:
        yield runtime


def _post(rt, data: bytes, content_type: str = RFC822, headers=KEY):
    return web_client(rt).post("/api/inbound", data=data, content_type=content_type,
                               headers=headers)


def test_a_forwarded_mailto_unsubscribe_unsubscribes_at_once_and_once(rt):
    cid = subscribed(rt)
    address, token = mailto_of(rt)
    request = mail(address, f"Re: {token}", sender="someone.else@example.net")

    first = _post(rt, request)
    assert first.status_code == 200
    assert first.json["handled"] == "unsubscribed" and first.json["duplicate"] is False
    assert "by the token in its subject" in first.json["detail"]
    assert get_contact(rt, cid).consent_marketing is False

    again = _post(rt, request)
    assert again.json == {**first.json, "detail": "", "duplicate": True}
    assert len(withdrawals(rt)) == 1


def test_a_forwarded_dsn_and_arf_complaint_go_through_the_bounce_intake(rt):
    contact(rt, "complainer@yahoo.com", consent_marketing=True)
    bounce = _post(rt, (DSN / "postfix_hard_bounce.eml").read_bytes())
    complaint = _post(rt, (DSN / "arf_complaint.eml").read_bytes())
    assert (bounce.json["handled"], complaint.json["handled"]) == ("bounce", "complaint")
    assert suppressed(rt) == {"nobody@example.com": "bounced",
                              "complainer@yahoo.com": "complained"}
    [complained] = events_of(rt, "email.complained")
    assert complained.source == "inbound-api"


def test_an_out_of_office_reply_is_kept_not_taken_for_an_unsubscribe(rt):
    cid = subscribed(rt)
    reply = mail(UNSUBSCRIBE, "Out of office", sender="ann@example.com",
                 auto_submitted="auto-replied")
    assert _post(rt, reply).json["handled"] == "kept"
    assert get_contact(rt, cid).consent_marketing is True


def test_bad_requests_are_refused_with_a_sentence(rt):
    wrong_type = _post(rt, b'{"a": 1}', content_type="application/json")
    assert wrong_type.status_code == 415
    assert wrong_type.json["detail"] == ("The body must be one raw email message, sent with "
                                         "Content-Type: message/rfc822.")
    empty = _post(rt, b"  \r\n")
    assert empty.status_code == 400 and empty.json["detail"].endswith("raw email message.")
    huge = _post(rt, b"Subject: big\r\n\r\n" + b"x" * (11 * 2**20))
    assert huge.status_code == 413 and "10 MB" in huge.json["detail"]
    assert _post(rt, mail(UNSUBSCRIBE, "hi"), headers={}).status_code == 401


HOSTILE = [
    b"\x00" * 64,
    b"From: \xff\xfe\xfd\r\nTo: unsubscribe@nurture.localhost\r\nSubject: \xc0\x80\r\n\r\nx",
    b"Subject: " + b"A" * 200_000 + b"\r\n\r\nbody",
    b"Message-ID: <" + b"m" * 5000 + b">\r\nFrom: a@b.example\r\n\r\nx",
    b"Content-Type: multipart/report; report-type=delivery-status\r\nFrom: MAILER-DAEMON@x\r\n"
    b"\r\nno boundary at all",
    b"Content-Type: multipart/mixed; boundary=b\r\n\r\n" + b"--b\r\nContent-Type: "
    b"multipart/mixed; boundary=b\r\n\r\n" * 2000,
    b"To: unsubscribe@nurture.localhost\r\nSubject: =?utf-8?b?!!!?= a.b.c\r\n"
    b"Content-Transfer-Encoding: base64\r\n\r\n@@@@",
    b"To: bounces+ffffffffffffffff-000000000000@nurture.localhost\r\nFrom: postmaster@x\r\n\r\n",
    b"From: =?unknown-8bit?q?=FF?= <\x00@x>\r\nTo: <>, ,;; unsubscribe@nurture.localhost\r\n\r\n",
]


@pytest.mark.parametrize("message", HOSTILE, ids=range(len(HOSTILE)))
def test_no_hostile_message_makes_a_5xx(rt, message):
    answer = _post(rt, message)
    assert answer.status_code < 500, answer.text
    assert answer.json["handled"] in ("kept", "bounce", "unsubscribed", "complaint")


def _unsubscribe_header(settings, clock, **inbound) -> str:
    with running(settings.with_(inbound=InboundSettings(**inbound)), clock) as rt:
        subscribed(rt)
        return outbox(rt)[0]["List-Unsubscribe"]


def test_no_mailto_unsubscribe_is_offered_without_a_reader(settings, clock):
    assert "mailto:" not in _unsubscribe_header(settings, clock)
    assert "mailto:" not in _unsubscribe_header(settings.with_(api_key=None), clock,
                                                webhook=True), "the API is off"
    assert "mailto:unsubscribe@" in _unsubscribe_header(settings, clock, webhook=True)
    assert "mailto:unsubscribe@" in _unsubscribe_header(
        settings, clock, imap_url="imaps://u:p@imap.example.com/INBOX")


def test_the_start_up_log_says_why_there_is_no_mailto_and_how_to_offer_it(
        settings, clock, caplog):
    with running(settings, clock) as rt, caplog.at_level(logging.WARNING):
        stop = threading.Event()
        stop.set()
        run_scheduler(rt, stop)
    [said] = [r.getMessage() for r in caplog.records if "mailto" in r.getMessage()]
    assert said.startswith("Marketing email offers only the one-click unsubscribe link, "
                           "no mailto: nothing reads unsubscribe@nurture.localhost.")
    assert "NURTURE_INBOUND_IMAP_URL" in said and "NURTURE_INBOUND_WEBHOOK=1" in said


def test_a_large_message_is_taken_and_the_console_pages_kept_mail(rt):
    big = mail(UNSUBSCRIBE, "Our brochure", sender="eve@stranger.example",
               body="x" * (3 * 2**20))
    assert _post(rt, big).json["handled"] == "kept"
    relay = web_client(rt)
    for n in range(50):
        relay.post("/api/inbound", headers=KEY, content_type=RFC822, data=mail(
            "hello@nurture.localhost", f"Reply {n}", sender=f"r{n}@example.org"))
    console = signed_in(rt, "marketer")
    first = console.get("/inbound").text
    assert "51 in all" in first and "Page 1 of 2." in first and "Reply 49" in first
    second = console.get("/inbound?page=2").text
    assert "Our brochure" in second and "Reply 49" not in second
    assert "Page 2 of 2." in console.get("/inbound?page=99").text


def test_messages_acted_on_are_forgotten_after_90_days_and_kept_ones_stay(rt):
    subscribed(rt)
    _post(rt, mail(UNSUBSCRIBE, "unsubscribe", sender="ann@example.com"))
    _post(rt, mail(UNSUBSCRIBE, "Hello", sender="eve@stranger.example"))
    rt.clock.advance(timedelta(days=89))
    assert forget_old(rt) == 0
    rt.clock.advance(timedelta(days=2))
    assert forget_old(rt) == 1
    assert kept_page(rt).total == 1
    assert len(withdrawals(rt)) == 1, "the proof stays"
