"""`nurture inbound imap` against a real IMAP server (a private Dovecot, see conftest.py):
unsubscribes by email, bounces and complaints, and mail kept for a person; a message is
handled once and never lost. About 0.1 s a test beyond the shared runtime set-up."""

from __future__ import annotations

import re
import threading
from datetime import timedelta

import pytest
from click.testing import CliRunner

from nurture.app.cli import main
from nurture.app.scheduler.loop import run as run_scheduler
from nurture.config import InboundSettings
from nurture.inbound.errors import MailboxError
from nurture.inbound.imap import Mailbox, poll, poll_mailbox
from nurture.inbound.services import handle, mailboxes
from tests.helpers import (
    advance_clock,
    contact,
    get_contact,
    running,
    sends,
    signed_in,
    wait_for,
)
from tests.nurture.inbound.mail import (
    DSN,
    UNSUBSCRIBE,
    mail,
    mailto_of,
    subscribed,
    suppressed,
    withdrawals,
)


@pytest.fixture
def rt(settings, clock, dovecot, mailbox_user):
    """A runtime that reads its own mailbox on the test's Dovecot."""
    reading = settings.with_(inbound=InboundSettings(imap_url=dovecot.url(mailbox_user)))
    with running(reading, clock) as runtime:
        yield runtime


@pytest.fixture
def mailbox(dovecot, mailbox_user):
    return lambda: dovecot.inbox(mailbox_user)


@pytest.fixture
def deliver(dovecot, mailbox_user):
    return lambda message: dovecot.deliver(mailbox_user, message)


def test_a_mailto_unsubscribe_with_its_token_unsubscribes_at_once_with_proof(
        rt, deliver, mailbox):
    cid = subscribed(rt)
    address, token = mailto_of(rt)
    assert address == UNSUBSCRIBE
    # Sent from another address of the reader's: the token names the contact.
    request = mail(address, token, sender="Ann <ann.private@example.net>")
    deliver(request)

    assert poll_mailbox(rt, rt.settings) == {"unsubscribed": 1}

    assert get_contact(rt, cid).consent_marketing is False
    assert suppressed(rt) == {"ann@example.com": "unsubscribed"}
    [proof] = withdrawals(rt)
    message_id = re.search(rb"Message-ID: (\S+)", request)[1].decode()
    assert proof.method == "mailto"
    assert message_id in proof.page and "ann.private@example.net" in proof.page
    assert mailbox() == [], "a message acted on leaves the mailbox"
    advance_clock(rt, timedelta(days=3), step=timedelta(hours=6))
    statuses = {s.step_id: (s.status, s.reason) for s in sends(rt, cid)}
    assert statuses["more"] == ("skipped", "suppressed:unsubscribed")


def test_mail_to_the_unsubscribe_address_without_a_token_unsubscribes_its_sender(
        rt, deliver):
    cid = subscribed(rt)
    deliver(mail(UNSUBSCRIBE, "unsubscribe", sender="Ann <Ann@Example.com>"))

    assert poll_mailbox(rt, rt.settings) == {"unsubscribed": 1}
    assert get_contact(rt, cid).consent_marketing is False
    assert [w.method for w in withdrawals(rt)] == ["mailto"]


def test_mail_from_a_stranger_is_kept_whole_and_listed_in_the_console(rt, deliver, mailbox):
    subscribed(rt)
    deliver(mail(UNSUBSCRIBE, "Who are you?", sender="eve@stranger.example",
                 body="I never signed up for this."))

    assert poll_mailbox(rt, rt.settings) == {"kept": 1}
    assert withdrawals(rt) == [] and suppressed(rt) == {}
    [(flags, _)] = mailbox()
    assert rb"\Seen" in flags and rb"\Deleted" not in flags, "kept whole in the mailbox"

    console = signed_in(rt, "marketer")
    assert "Inbound mail</a>: replies and other mail for a person, 1 not read yet" in \
        console.get("/").text
    listed = console.get("/inbound").text
    assert "eve@stranger.example" in listed and "Who are you?" in listed
    opened = console.get(re.search(r'href="(/inbound/\d+)"', listed)[1]).text
    assert "I never signed up for this." in opened
    token = re.search(r'name="csrf_token" value="([^"]+)"', opened)[1]
    path = re.search(r'action="(/inbound/\d+/read)"', opened)[1]
    assert console.post(path, data={"csrf_token": token}).status_code == 303
    assert "0 not read yet" in console.get("/").text


def test_a_dsn_and_an_arf_complaint_suppress_as_the_file_intake_does(rt, deliver, mailbox):
    ann = contact(rt, "complainer@yahoo.com", consent_marketing=True)
    deliver((DSN / "postfix_hard_bounce.eml").read_bytes())
    deliver((DSN / "arf_complaint.eml").read_bytes())

    assert poll_mailbox(rt, rt.settings) == {"bounce": 1, "complaint": 1}
    assert suppressed(rt) == {"nobody@example.com": "bounced",
                              "complainer@yahoo.com": "complained"}
    assert get_contact(rt, ann).consent_marketing is False
    assert mailbox() == []


def test_a_message_that_fails_to_be_handled_stays_in_the_mailbox_for_the_next_poll(
        rt, deliver, mailbox):
    cid = subscribed(rt)
    deliver(mail(UNSUBSCRIBE, "unsubscribe", sender="ann@example.com"))
    deliver(mail(UNSUBSCRIBE, "Hello", sender="eve@stranger.example"))
    box, ours = Mailbox.from_url(rt.settings.inbound.imap_url), mailboxes(rt.settings)

    def failing_on_ann(data: bytes):
        if b"ann@example.com" in data:  # e.g. the database went away for this one
            raise ConnectionError("the database is out of reach")
        return handle(rt, ours, data, "imap")

    assert poll(box, failing_on_ann) == {"failed": 1, "kept": 1}
    assert get_contact(rt, cid).consent_marketing is True
    waiting = [m for flags, m in mailbox() if rb"\Seen" not in flags]
    assert len(waiting) == 1 and b"ann@example.com" in waiting[0]

    assert poll_mailbox(rt, rt.settings) == {"unsubscribed": 1}
    assert get_contact(rt, cid).consent_marketing is False
    assert len(mailbox()) == 1, "only the kept message remains"


def test_polling_twice_handles_a_message_once(rt, deliver, mailbox):
    subscribed(rt)
    request = mail(UNSUBSCRIBE, "unsubscribe", sender="ann@example.com")
    deliver(request)
    deliver(request)  # the same message twice (a relay's retry)

    assert poll_mailbox(rt, rt.settings) == {"unsubscribed": 1, "duplicate": 1}
    assert poll_mailbox(rt, rt.settings) == {}
    assert len(withdrawals(rt)) == 1
    assert mailbox() == []


def test_a_mailbox_that_refuses_the_sign_in_is_a_sentence(dovecot):
    box = Mailbox("127.0.0.1", dovecot.port, "none", "someone", "wrong-password")
    with pytest.raises(MailboxError, match=r"^Could not read the IMAP mailbox someone@"):
        poll(box, lambda data: pytest.fail("nothing to handle"))


def test_the_scheduler_polls_the_mailbox_with_its_periodic_jobs(rt, deliver):
    cid = subscribed(rt)
    deliver(mail(UNSUBSCRIBE, "unsubscribe", sender="ann@example.com"))
    stop = threading.Event()
    scheduler = threading.Thread(target=run_scheduler, args=(rt, stop), daemon=True)
    scheduler.start()
    try:
        wait_for(lambda: get_contact(rt, cid).consent_marketing is False, 10)
    finally:
        stop.set()
        scheduler.join(10)


def test_nurture_inbound_imap_polls_once_and_says_what_it_did(rt, deliver, tmp_path):
    subscribed(rt)
    deliver(mail(UNSUBSCRIBE, "unsubscribe", sender="ann@example.com"))
    deliver(mail(UNSUBSCRIBE, "Lunch?", sender="eve@stranger.example"))
    env = {"SECRET_KEY": rt.settings.secret_key, "DATABASE_URL": rt.settings.database_url,
           "NURTURE_VAR_DIR": str(tmp_path), "NURTURE_INBOUND_IMAP_URL":
           rt.settings.inbound.imap_url}
    result = CliRunner().invoke(main, ["inbound", "imap"], env=env)
    assert result.exit_code == 0, result.output
    assert result.output == "Inbound mail: 1 kept, 1 unsubscribed.\n"
    again = CliRunner().invoke(main, ["inbound", "imap"], env=env)
    assert again.output == "Inbound mail: nothing new.\n"
    unset = CliRunner().invoke(main, ["inbound", "imap"], env={
        **env, "NURTURE_INBOUND_IMAP_URL": ""})
    assert unset.exit_code == 1 and "NURTURE_INBOUND_IMAP_URL is not set" in unset.output


def test_a_mailbox_elsewhere_is_read_over_tls_and_plaintext_only_on_this_machine():
    assert Mailbox.from_url("imaps://ann%40example.com:p%2Fw@imap.example.com/Bounces") == \
        Mailbox("imap.example.com", 993, "implicit", "ann@example.com", "p/w", "Bounces")
    assert Mailbox.from_url("imap://u:p@imap.example.com").tls == "starttls"
    assert Mailbox.from_url("imap://u:p@localhost:1143/INBOX").tls == "none"
