"""Addresses in any script (RFC 6531, 6532): `zoë@…` and `josé@…` get their email over a
server that offers SMTPUTF8 (aiosmtpd with it on), an IDN domain goes as A-labels to any
server, and without SMTPUTF8 the send fails with a sentence the contact lookup shows. The
file outbox and `nurture templates render` write such messages too."""

from __future__ import annotations

import email
import email.policy
import json
import socket

import pytest
from click.testing import CliRunner

from nurture.sending import addresses
from nurture.sending.mime import build_mime
from nurture.sending.senders import NO_SMTPUTF8, SendError, SMTPSender
from tests.helpers import HELLO, contact, event, publish_text, running, sends, signed_in

ZOE, JOSE, IDN = "zoë@example.org", "josé@bücher.de", "ann@bücher.de"


class _Recorder:
    def __init__(self):
        self.received: list[tuple[str, list[str], list[str], bytes]] = []

    async def handle_DATA(self, server, session, envelope):
        self.received.append((envelope.mail_from, list(envelope.rcpt_tos),
                              list(envelope.mail_options), envelope.original_content))
        return "250 OK"


@pytest.fixture
def aiosmtpd():
    """Start aiosmtpd with SMTPUTF8 on or off; returns its recorder and port."""
    pytest.importorskip("aiosmtpd")
    from aiosmtpd.controller import Controller

    controllers = []

    def start(smtputf8: bool) -> tuple[_Recorder, int]:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        recorder = _Recorder()
        controller = Controller(recorder, hostname="127.0.0.1", port=port,
                                enable_SMTPUTF8=smtputf8)
        controller.start()
        controllers.append(controller)
        return recorder, port

    yield start
    for controller in controllers:
        controller.stop()


def _message(to: str) -> bytes:
    return build_mime(sender="Nurture Café <hello@nurture.localhost>", to=to,
                      subject="Bienvenue, Zoë", html_body="<p>Salut</p>", text_body="Salut",
                      msg_id="<m1@nurture.localhost>")


def _parsed(data: bytes) -> email.message.EmailMessage:
    return email.message_from_bytes(data, policy=email.policy.SMTPUTF8)


def test_an_idn_domain_goes_as_a_labels_and_a_local_part_in_another_script_stays_utf8():
    assert addresses.wire("ann@example.com") == "ann@example.com"
    assert addresses.wire(IDN) == "ann@xn--bcher-kva.de"
    assert addresses.wire(JOSE) == "josé@xn--bcher-kva.de"
    assert not addresses.needs_smtputf8(IDN) and addresses.needs_smtputf8(ZOE)
    assert addresses.header("Zoë Martin <zoë@example.org>") == (
        "=?utf-8?q?Zo=C3=AB_Martin?= <zoë@example.org>")
    assert addresses.header('"Lee, Ann" <ann@bücher.de>') == '"Lee, Ann" <ann@xn--bcher-kva.de>'


@pytest.mark.parametrize("to", [ZOE, JOSE])
def test_a_server_with_smtputf8_gets_the_address_in_utf8_in_the_envelope_and_headers(
        aiosmtpd, to):
    recorder, port = aiosmtpd(smtputf8=True)
    sender = SMTPSender(f"smtp://127.0.0.1:{port}")
    sender.send("hello@nurture.localhost", to, "<m1@nurture.localhost>", _message(to),
                canonical=True)
    sender.close()
    ((_, rcpt_tos, options, content),) = recorder.received
    assert rcpt_tos == [addresses.wire(to)] and "SMTPUTF8" in options
    message = _parsed(content)
    assert message["To"] == addresses.wire(to)
    assert str(message["From"]) == "Nurture Café <hello@nurture.localhost>"
    assert message["Subject"] == "Bienvenue, Zoë"


def test_an_idn_domain_with_an_ascii_local_part_needs_no_smtputf8(aiosmtpd):
    recorder, port = aiosmtpd(smtputf8=False)
    sender = SMTPSender(f"smtp://127.0.0.1:{port}")
    sender.send("hello@nurture.localhost", IDN, "<m1@nurture.localhost>", _message(IDN),
                canonical=True)
    sender.close()
    ((_, rcpt_tos, options, content),) = recorder.received
    assert rcpt_tos == ["ann@xn--bcher-kva.de"] and "SMTPUTF8" not in options
    assert content.isascii() and _parsed(content)["To"] == "ann@xn--bcher-kva.de"


def test_without_smtputf8_the_send_fails_with_a_sentence_and_nothing_is_sent(aiosmtpd):
    recorder, port = aiosmtpd(smtputf8=False)
    sender = SMTPSender(f"smtp://127.0.0.1:{port}")
    with pytest.raises(SendError) as caught:
        sender.send("hello@nurture.localhost", ZOE, "<m1@nurture.localhost>", _message(ZOE),
                    canonical=True)
    assert caught.value.permanent and not caught.value.hard_bounce
    assert str(caught.value) == NO_SMTPUTF8 and len(NO_SMTPUTF8) <= 200
    sender.send("hello@nurture.localhost", "ann@example.com", "<m2@nurture.localhost>",
                _message("ann@example.com"), canonical=True)  # the connection still works
    sender.close()
    assert [rcpt for _, rcpt, _, _ in recorder.received] == [["ann@example.com"]]


@pytest.mark.parametrize("smtputf8", [True, False])
def test_a_welcome_to_zoe_is_sent_or_fails_with_the_reason_the_contact_page_shows(
        settings, clock, aiosmtpd, smtputf8):
    recorder, port = aiosmtpd(smtputf8=smtputf8)
    with running(settings.with_(smtp_url=f"smtp://127.0.0.1:{port}"), clock, 2) as rt:
        publish_text(rt, HELLO)
        zoe = contact(rt, ZOE, first_name="Zoë")
        event(rt, zoe, "custom.joined")
        (send,) = sends(rt)
        if smtputf8:
            assert (send.status, send.reason) == ("sent", None)
            ((_, rcpt_tos, _, content),) = recorder.received
            assert rcpt_tos == [ZOE] and _parsed(content)["To"] == ZOE
            return
        assert (send.status, send.reason) == ("failed", NO_SMTPUTF8)
        assert recorder.received == []
        page = signed_in(rt, "marketer").get(f"/contacts?email={ZOE}")
        assert page.status_code == 200 and NO_SMTPUTF8 in page.text


def test_the_file_outbox_writes_messages_to_addresses_in_any_script(rt):
    publish_text(rt, HELLO)
    for to in (ZOE, JOSE, IDN):
        event(rt, contact(rt, to), "custom.joined")
    assert {s.status for s in sends(rt)} == {"sent"}
    written = {_parsed(path.read_bytes())["To"]
               for path in (rt.settings.outbox_dir).glob("*.eml")}
    assert written == {ZOE, "josé@xn--bcher-kva.de", "ann@xn--bcher-kva.de"}


def test_templates_render_writes_the_message_for_a_contact_in_any_script(tmp_path):
    from nurture.app.cli import main

    contact_file = tmp_path / "zoe.json"
    contact_file.write_text(json.dumps({"email": ZOE, "first_name": "Zoë"}), encoding="utf-8")
    out = tmp_path / "out"
    result = CliRunner().invoke(
        main, ["templates", "render", "trial-welcome", "--contact-json", str(contact_file),
               "--out", str(out)],
        env={"SECRET_KEY": "test-secret-key", "NURTURE_VAR_DIR": str(tmp_path / "var")})
    assert result.exit_code == 0, result.output
    message = _parsed((out / "message.eml").read_bytes())
    assert message["To"] == ZOE and "Zoë" in message.get_body(("plain",)).get_content()
