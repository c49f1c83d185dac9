"""VERP: each message's envelope sender names its send (`bounces+TOKEN@DOMAIN`), so a
bounce is matched to its send even when the report itself says nothing usable."""

from __future__ import annotations

import re

import pytest
from click.testing import CliRunner

from nurture.app.cli import main
from nurture.config import ConfigError, InboundSettings, Settings
from nurture.sending.verp import Verp
from tests.helpers import get_contact, outbox, running, sends, web_client
from tests.nurture.inbound.mail import DSN, events_of, subscribed, suppressed

KEY = {"Authorization": "Bearer test-api-key"}
DOMAIN = "nurture.localhost"
# A failure notice that names no recipient, no status and quotes nothing of the message.
UNREADABLE = b"""From: MAILER-DAEMON@mx.example.org
To: %s
Subject: Delivery failure
Message-ID: <unreadable-1@mx.example.org>
Auto-Submitted: auto-replied

Sorry, we were unable to deliver your message. Goodbye.
"""


@pytest.fixture
def rt(settings, clock):
    with running(settings.with_(inbound=InboundSettings(verp=True)), clock) as runtime:
        yield runtime


def _return_path(rt) -> str:
    return outbox(rt)[0]["Return-Path"].strip("<>")


def test_a_return_path_names_its_send_and_is_a_short_dot_atom():
    verp = Verp("secret")
    address = verp.address(2**63 - 1, DOMAIN)
    local = address.split("@")[0]
    assert len(local) <= 64 and re.fullmatch(r"[a-z0-9+-]+", local)
    assert verp.send_id(address, DOMAIN) == 2**63 - 1
    assert verp.send_id(address.upper(), DOMAIN) == 2**63 - 1, "a server may fold case"
    assert verp.send_id(address, "other.example") is None
    assert Verp("another secret").send_id(address, DOMAIN) is None
    forged = re.sub(r"-[0-9a-f]{12}@", "-000000000000@", address)
    assert verp.send_id(forged, DOMAIN) is None


def test_each_message_goes_from_a_return_path_naming_its_send(rt):
    cid = subscribed(rt)
    [send] = [s for s in sends(rt, cid) if s.status == "sent"]
    assert Verp(rt.settings.secret_key).send_id(_return_path(rt), DOMAIN) == send.id
    assert outbox(rt)[0]["From"].addresses[0].addr_spec == f"hello@{DOMAIN}"


def test_without_verp_the_return_path_is_the_from_address(settings, clock):
    with running(settings, clock) as rt:
        subscribed(rt)
        assert _return_path(rt) == f"hello@{DOMAIN}"


def test_an_unreadable_bounce_to_a_return_path_is_a_soft_bounce_of_its_send(rt):
    cid = subscribed(rt)
    [send] = [s for s in sends(rt, cid) if s.status == "sent"]
    answer = web_client(rt).post("/api/inbound", data=UNREADABLE % _return_path(rt).encode(),
                                 content_type="message/rfc822", headers=KEY)
    assert answer.status_code == 200 and answer.json["handled"] == "bounce"
    assert "soft bounce of ann@example.com" in answer.json["detail"]
    [bounced] = events_of(rt, "email.bounced")
    assert (bounced.contact_id, bounced.properties["kind"], bounced.properties["send"]) == \
        (cid, "soft", send.send_key)
    assert suppressed(rt) == {}, "no suppression on a report nobody could read"
    assert get_contact(rt, cid).consent_marketing is True


def test_an_out_of_office_reply_to_a_return_path_is_kept_not_a_bounce(rt):
    subscribed(rt)
    reply = (b"From: ann@example.com\nTo: %s\nSubject: Out of office\n"
             b"Auto-Submitted: auto-replied\n\nBack on Monday.\n" % _return_path(rt).encode())
    answer = web_client(rt).post("/api/inbound", data=reply, content_type="message/rfc822",
                                 headers=KEY)
    assert answer.json["handled"] == "kept" and events_of(rt, "email.bounced") == []


def test_a_dsn_without_the_original_headers_is_matched_to_its_send(rt):
    cid = subscribed(rt)
    [send] = [s for s in sends(rt, cid) if s.status == "sent"]
    dsn = (DSN / "postfix_hard_bounce.eml").read_bytes()
    dsn = dsn.replace(b"Nobody@Example.com", b"ann@example.com").replace(
        b"To: bounces@nurture.example", b"To: " + _return_path(rt).encode())
    dsn = dsn.split(b"Content-Description: Undelivered Message")[0]  # no original
    answer = web_client(rt).post("/api/inbound", data=dsn, content_type="message/rfc822",
                                 headers=KEY)
    assert answer.json["handled"] == "bounce"
    [bounced] = events_of(rt, "email.bounced")
    assert (bounced.properties["kind"], bounced.properties["send"]) == ("hard", send.send_key)
    assert suppressed(rt) == {"ann@example.com": "bounced"}


def test_the_file_intake_matches_an_unreadable_bounce_by_its_return_path(rt, tmp_path):
    cid = subscribed(rt)
    [send] = [s for s in sends(rt, cid) if s.status == "sent"]
    report = tmp_path / "bounce.eml"
    report.write_bytes(UNREADABLE % _return_path(rt).encode())
    result = CliRunner().invoke(main, ["bounces", "import", str(report)], env={
        "SECRET_KEY": rt.settings.secret_key, "DATABASE_URL": rt.settings.database_url,
        "NURTURE_VAR_DIR": str(tmp_path / "var"), "NURTURE_VERP": "1"})
    assert result.exit_code == 0, result.output
    assert "Recorded 1 bounce reports: 1 soft." in result.output
    [bounced] = events_of(rt, "email.bounced")
    assert (bounced.properties["send"], bounced.source) == (send.send_key, "dsn-import")


def test_a_bounce_domain_of_its_own_turns_verp_on_and_is_checked():
    base = {"SECRET_KEY": "k", "NURTURE_FROM": "Acme <hello@acme.example>"}
    assert Settings.from_env(base).verp_domain is None
    assert Settings.from_env({**base, "NURTURE_VERP": "1"}).verp_domain == "acme.example"
    own = Settings.from_env({**base, "NURTURE_BOUNCE_DOMAIN": "Bounces.Acme.example"})
    assert own.verp_domain == "bounces.acme.example"
    with pytest.raises(ConfigError, match="NURTURE_BOUNCE_DOMAIN must be a domain"):
        Settings.from_env({**base, "NURTURE_BOUNCE_DOMAIN": "not a domain"})
    with pytest.raises(ConfigError, match="must name the mailbox's user and password"):
        Settings.from_env({**base, "NURTURE_INBOUND_IMAP_URL": "imaps://imap.acme.example"})
    with pytest.raises(ConfigError, match="NURTURE_INBOUND_IMAP_URL must start with"):
        Settings.from_env({**base, "NURTURE_INBOUND_IMAP_URL": "pop3://u:p@acme.example"})


def test_dns_records_name_what_a_bounce_domain_of_its_own_needs(tmp_path):
    result = CliRunner().invoke(main, ["dns", "records"], env={
        "SECRET_KEY": "k", "NURTURE_VAR_DIR": str(tmp_path),
        "NURTURE_FROM": "Acme <hello@acme.example>",
        "NURTURE_BOUNCE_DOMAIN": "bounces.acme.example", "NURTURE_SPF": "ip4:203.0.113.5"})
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert "bounces.acme.example.  MX  10 YOUR-INBOUND-MAIL-SERVER.example." in lines
    assert 'bounces.acme.example.  TXT  "v=spf1 ip4:203.0.113.5 ~all"' in lines
    assert "aligns with it for DMARC" in result.output
