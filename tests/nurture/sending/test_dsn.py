"""Bounce and complaint reports: DSNs, ARF complaints, plain-text bounces, mbox and JSON."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from nurture.sending.dsn import parse_json_event, parse_mbox_or_message, parse_report
from nurture.sending.errors import DSNError

FIXTURES = Path(__file__).parent / "fixtures" / "dsn"


RCPT_TO = b"Original-Rcpt-To: <Complainer@yahoo.com>\n"


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def test_postfix_dsn_is_a_hard_bounce_that_names_the_send():
    [bounce] = parse_report(fixture("postfix_hard_bounce.eml"))
    assert bounce.recipient == "nobody@example.com"
    assert (bounce.action, bounce.status, bounce.kind) == ("failed", "5.1.1", "hard")
    assert bounce.diagnostic == ("550 5.1.1 <nobody@example.com>: Recipient address rejected: "
                                 "User unknown in virtual mailbox table")
    assert bounce.send_key == "3:17:0:welcome:contact"
    assert bounce.message_id == "<5f2b9c1e8d7a4b3c9e0f1a2b3c4d5e6f@nurture.example>"
    assert bounce.reported_at == datetime(2024, 6, 4, 10, 15, 1, tzinfo=UTC)


def test_postfix_dsn_with_crlf_line_endings_parses_the_same():
    crlf = fixture("postfix_hard_bounce.eml").replace(b"\n", b"\r\n")
    assert parse_report(crlf) == parse_report(fixture("postfix_hard_bounce.eml"))


def test_exim_dsn_gives_one_bounce_per_recipient_block():
    gone, busy = parse_report(fixture("exim_two_recipients.eml"))
    assert (gone.recipient, gone.action, gone.status, gone.kind) == (
        "gone@example.org", "failed", "5.1.1", "hard")
    assert (busy.recipient, busy.action, busy.status, busy.kind) == (
        "busy@example.org", "delayed", "4.2.2", "soft")
    assert {gone.send_key, busy.send_key} == {"4:52:1:day-3-tips:contact"}
    assert gone.message_id == "<9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d@nurture.example>"


def test_report_date_is_used_in_utc_when_there_is_no_arrival_date():
    gone, _ = parse_report(fixture("exim_two_recipients.eml"))
    assert gone.reported_at == datetime(2024, 6, 5, 6, 2, 11, tzinfo=UTC)


def test_gmail_dsn_is_a_hard_bounce_with_the_returned_message_ids():
    [bounce] = parse_report(fixture("gmail_hard_bounce.eml"))
    assert (bounce.recipient, bounce.kind, bounce.status) == (
        "no.such.user.zz@gmail.com", "hard", "5.1.1")
    assert bounce.diagnostic.startswith("550-5.1.1 The email account that you tried to reach")
    assert bounce.send_key == "3:40:2:trial-ending:contact"
    assert bounce.message_id == "<7e1d2c3b4a5f6e7d8c9b0a1f2e3d4c5b@nurture.example>"
    assert bounce.reported_at == datetime(2024, 6, 4, 10, 42, 9, tzinfo=UTC)


def test_success_notices_in_a_dsn_are_not_bounces():
    delivered = fixture("exim_two_recipients.eml").replace(b"Action: delayed", b"Action: delivered")
    delivered = delivered.replace(b"Status: 4.2.2", b"Status: 2.0.0")
    assert [b.recipient for b in parse_report(delivered)] == ["gone@example.org"]


def test_arf_abuse_report_is_a_complaint_for_the_original_recipient():
    [complaint] = parse_report(fixture("arf_complaint.eml"))
    assert (complaint.recipient, complaint.kind) == ("complainer@yahoo.com", "complaint")
    assert complaint.diagnostic == "abuse"
    assert complaint.send_key == "3:21:2:upgrade-offer:contact"
    assert complaint.message_id == "<c0ffee00d15ea5e0badc0de5f00dbabe@nurture.example>"
    assert complaint.reported_at == datetime(2024, 6, 6, 14, 18, 2, tzinfo=UTC)


def test_arf_without_original_rcpt_to_falls_back_to_the_returned_message_to():
    report = fixture("arf_complaint.eml").replace(RCPT_TO, b"")
    [complaint] = parse_report(report)
    assert complaint.recipient == "complainer@yahoo.com"


def test_arf_with_a_redacted_recipient_gives_nothing_to_suppress():
    report = fixture("arf_complaint.eml").replace(RCPT_TO, b"")
    assert parse_report(report.replace(b"To: complainer@yahoo.com", b"To: redacted")) == []


def test_arf_not_spam_report_is_not_a_complaint():
    report = fixture("arf_complaint.eml").replace(b"Type: abuse", b"Type: not-spam")
    assert parse_report(report) == []


def test_qmail_plain_text_bounce_is_read_from_the_text_and_the_quoted_copy():
    [bounce] = parse_report(fixture("qmail_plain_text.eml"))
    assert (bounce.recipient, bounce.action, bounce.status, bounce.kind) == (
        "old.customer@example.net", "failed", "5.1.1", "hard")
    assert bounce.send_key == "5:88:0:win-back:contact"
    assert bounce.message_id == "<0123456789abcdef0123456789abcdef@nurture.example>"
    assert bounce.reported_at == datetime(2024, 6, 7, 9, 1, 44, tzinfo=UTC)


def test_a_bare_smtp_rejection_line_is_a_hard_bounce():
    [bounce] = parse_report(b"550 5.1.1 <User@Example.com>: Recipient address rejected\n")
    assert (bounce.recipient, bounce.status, bounce.kind) == ("user@example.com", "5.1.1", "hard")
    assert (bounce.message_id, bounce.send_key, bounce.reported_at) == (None, None, None)


def test_plain_text_bounce_without_an_enhanced_code_uses_the_smtp_reply_class():
    text = (b"Subject: failure notice\n\n<full@example.net>:\n"
            b"Remote host said: 452 Mailbox over quota\n")
    [bounce] = parse_report(text)
    assert (bounce.recipient, bounce.action, bounce.status, bounce.kind) == (
        "full@example.net", "delayed", "4.0.0", "soft")


def test_junk_gives_no_bounces():
    assert parse_report(fixture("junk_out_of_office.eml")) == []
    assert parse_report(b"\x00\xff\x10 not an email \x80\x81") == []
    assert parse_report(b"Subject: hello\n\nCall me on 555 0100, bob@example.com.\n") == []


def test_empty_input_is_not_an_email_message():
    with pytest.raises(DSNError, match=r"^The report is empty.*\.$"):
        parse_report(b"")
    with pytest.raises(DSNError):
        parse_mbox_or_message(b" \r\n\n")


def test_mbox_results_are_concatenated_in_file_order():
    bounces = parse_mbox_or_message(fixture("three_reports.mbox"))
    assert [(b.recipient, b.kind) for b in bounces] == [
        ("nobody@example.com", "hard"), ("gone@example.org", "hard"),
        ("busy@example.org", "soft"), ("complainer@yahoo.com", "complaint")]


def test_a_single_message_is_accepted_where_an_mbox_is():
    assert parse_mbox_or_message(fixture("gmail_hard_bounce.eml")) == parse_report(
        fixture("gmail_hard_bounce.eml"))


def test_json_bounce_event():
    [bounce] = parse_json_event({
        "type": "bounce", "email": "Someone@Example.com", "status": "5.1.1",
        "diagnostic": "550 5.1.1 user unknown", "message_id": "<abc@nurture.example>",
        "occurred_at": "2024-06-04T12:15:00+02:00"})
    assert (bounce.recipient, bounce.action, bounce.status, bounce.kind) == (
        "someone@example.com", "failed", "5.1.1", "hard")
    assert bounce.message_id == "<abc@nurture.example>"
    assert bounce.reported_at == datetime(2024, 6, 4, 10, 15, tzinfo=UTC)


def test_json_events_list_mixes_soft_bounces_and_complaints():
    soft, complaint = parse_json_event({"events": [
        {"type": "bounce", "email": "a@example.com", "status": "4.2.2"},
        {"type": "complaint", "email": "b@example.com", "occurred_at": "2024-06-04T10:00:00Z"},
    ]})
    assert (soft.kind, soft.status) == ("soft", "4.2.2")
    assert (complaint.kind, complaint.recipient) == ("complaint", "b@example.com")
    assert complaint.reported_at == datetime(2024, 6, 4, 10, tzinfo=UTC)


def test_json_bounce_without_a_status_counts_as_hard():
    [bounce] = parse_json_event({"type": "bounce", "email": "a@example.com"})
    assert bounce.kind == "hard"


@pytest.mark.parametrize(("event", "field"), [
    ({"type": "bounce"}, "'email' is required"),
    ({"type": "bounce", "email": "not-an-address"}, "'email' must be an email address"),
    ({"type": "bounce", "email": 42}, "'email' must be a string"),
    ({"type": "unsubscribe", "email": "a@example.com"}, "'type'"),
    ({"email": "a@example.com"}, "'type'"),
    ({"type": "bounce", "email": "a@example.com", "status": "250 ok"}, "'status'"),
    ({"type": "bounce", "email": "a@example.com", "occurred_at": "yesterday"}, "'occurred_at'"),
    ({"type": "bounce", "email": "a@example.com", "occurred_at": "2024-06-04T10:00:00"},
     "'occurred_at'"),
    ({"events": [{"type": "bounce", "email": "a@example.com"}, {"type": "bounce"}]},
     "'events[1].email' is required"),
    ({"events": "nope"}, "'events'"),
    ({"events": ["nope"]}, "'events[0]'"),
])
def test_invalid_json_events_are_rejected_naming_the_field(event, field):
    with pytest.raises(DSNError) as raised:
        parse_json_event(event)
    message = str(raised.value)
    assert field in message
    assert message[0].isupper() and message.endswith(".")


def test_json_payload_that_is_not_an_object_is_rejected():
    with pytest.raises(DSNError, match="JSON object"):
        parse_json_event(["not", "an", "object"])  # type: ignore[arg-type]
