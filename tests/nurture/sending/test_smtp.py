"""The SMTP sender against real servers: Nurture's fast sink in a thread, and aiosmtpd for
STARTTLS, implicit TLS and AUTH."""

from __future__ import annotations

import json
import mailbox
import re
import shutil
import socket
import ssl
import subprocess
import time
from datetime import timedelta

import pytest

from nurture.sending.senders import SendError, SMTPConfig, SMTPSender, retry_delay
from nurture.sending.sink import Faults, SinkThread, SMTPSink, Store

MESSAGE = (b"From: hello@nurture.localhost\r\nTo: ann@example.com\r\n"
           b"Message-ID: <m1@nurture.localhost>\r\nSubject: Hi\r\n\r\n"
           b".a line that starts with a dot\r\n..two dots\r\nend\r\n")


@pytest.fixture
def run_sink():
    started: list[SinkThread] = []

    def start(faults: Faults | None = None, store: Store | None = None) -> SinkThread:
        sink = SinkThread(SMTPSink(port=0, faults=faults or Faults(), store=store or Store()))
        started.append(sink)
        return sink

    yield start
    for sink in started:
        sink.stop()


def _send(sender: SMTPSender, recipient: str) -> None:
    sender.send("hello@nurture.localhost", recipient, "<m1@nurture.localhost>", MESSAGE)


def test_messages_go_over_one_reused_connection(run_sink):
    sink = run_sink()
    sender = SMTPSender(f"smtp://127.0.0.1:{sink.port}")
    for i in range(25):
        _send(sender, f"c{i}@example.com")
    sender.close()
    assert (sink.stats.messages, sink.stats.connections) == (25, 1)


def test_sender_reconnects_when_the_server_drops_the_connection(run_sink):
    sink = run_sink(Faults(drop_after=3))
    sender = SMTPSender(f"smtp://127.0.0.1:{sink.port}")
    for i in range(10):
        _send(sender, f"c{i}@example.com")
    sender.close()
    assert (sink.stats.messages, sink.stats.connections) == (10, 4)


def test_a_421_reply_reconnects_once_then_is_a_temporary_error(run_sink):
    sink = run_sink(Faults.parse(["^busy@=421 4.3.2 Closing, too busy"]))
    sender = SMTPSender(f"smtp://127.0.0.1:{sink.port}")
    with pytest.raises(SendError) as caught:
        _send(sender, "busy@example.com")
    assert not caught.value.permanent and caught.value.code == 421
    assert sink.stats.connections == 2  # the first try and exactly one reconnect
    _send(sender, "ann@example.com")
    assert sink.stats.messages == 1
    sender.close()


def test_a_4xx_reply_is_a_temporary_error_and_the_connection_stays_usable(run_sink):
    sink = run_sink(Faults.parse(["^later@=451 4.3.0 Try again later"]))
    sender = SMTPSender(f"smtp://127.0.0.1:{sink.port}")
    with pytest.raises(SendError) as caught:
        _send(sender, "later@example.com")
    error = caught.value
    assert (error.permanent, error.hard_bounce, error.code) == (False, False, 451)
    assert "451 4.3.0 Try again later" in str(error)
    _send(sender, "ann@example.com")
    sender.close()
    assert (sink.stats.messages, sink.stats.connections) == (1, 1)


def test_a_5xx_reply_to_the_recipient_is_a_permanent_hard_bounce(run_sink):
    sink = run_sink(Faults.parse(["^gone@=550 5.1.1 No such user"]))
    sender = SMTPSender(f"smtp://127.0.0.1:{sink.port}")
    with pytest.raises(SendError) as caught:
        _send(sender, "gone@example.com")
    error = caught.value
    assert (error.permanent, error.hard_bounce, error.code, error.stage) == (
        True, True, 550, "rcpt")
    assert "550 5.1.1 No such user" in str(error)
    sender.close()


def test_a_connection_lost_after_the_message_text_is_never_retried(run_sink):
    sink = run_sink(Faults(vanish=re.compile("^lost@")))
    sender = SMTPSender(f"smtp://127.0.0.1:{sink.port}")
    with pytest.raises(SendError) as caught:
        _send(sender, "lost@example.com")
    assert (caught.value.permanent, caught.value.hard_bounce, caught.value.stage) == (
        True, False, "payload")
    assert "outcome is unknown" in str(caught.value)
    _send(sender, "ann@example.com")  # a new connection for the next message
    sender.close()
    assert (sink.stats.messages, sink.stats.connections) == (2, 2)


def test_the_commit_comes_when_the_server_waits_for_the_text_and_a_no_sends_nothing(
        run_sink):
    sink = run_sink(Faults.parse(["^gone@=550 5.1.1 No such user"]))
    sender = SMTPSender(f"smtp://127.0.0.1:{sink.port}")
    calls: list[str] = []

    def refuse() -> bool:
        calls.append("refuse")
        return False

    assert sender.send("hello@nurture.localhost", "ann@example.com", "<m1@nurture.localhost>",
                       MESSAGE, commit=refuse) is False
    assert (calls, sink.stats.messages) == (["refuse"], 0)  # the open transaction dropped
    with pytest.raises(SendError):
        sender.send("hello@nurture.localhost", "gone@example.com", "<m1@nurture.localhost>",
                    MESSAGE, commit=lambda: calls.append("gone") or True)
    assert calls == ["refuse"]  # refused before the text: never committed
    assert sender.send("hello@nurture.localhost", "ann@example.com", "<m1@nurture.localhost>",
                       MESSAGE, commit=lambda: True) is True
    sender.close()
    assert (sink.stats.messages, sink.stats.connections) == (1, 2)


def test_bare_line_feeds_and_display_names_are_made_smtp_safe(run_sink, tmp_path):
    sink = run_sink(store=Store(log=tmp_path / "log.jsonl"))
    sender = SMTPSender(f"smtp://127.0.0.1:{sink.port}")
    sender.send("Nurture <hello@nurture.localhost>", "ann@example.com", "<m2@x>",
                b"Message-ID: <m2@x>\nSubject: Hi\n\n.dot\nline\rend")
    with pytest.raises(SendError) as caught:
        sender.send("hello@nurture.localhost", "ann@example.com\r\nRCPT TO:<x@y>", "<m3@x>",
                    MESSAGE)
    assert caught.value.permanent
    sender.close()
    assert sink.stats.messages == 1 and sink.stats.recipients == 1
    assert json.loads((tmp_path / "log.jsonl").read_text())["message_id"] == "<m2@x>"


def test_only_a_bad_address_is_a_hard_bounce():
    def error(text: str, code: int, stage: str = "rcpt") -> SendError:
        return SendError(f"The mail server refused the recipient: {text}", code >= 500,
                         code=code, stage=stage)

    assert error("550 5.1.1 unknown user", 550, stage="payload").hard_bounce
    assert error("550 No such mailbox", 550).hard_bounce
    assert error("553 5.1.3 Bad address syntax", 553).hard_bounce
    assert not error("550 5.7.1 Relaying denied", 550).hard_bounce
    assert not error("554 5.7.1 Message refused as spam", 554, stage="payload").hard_bounce
    assert not error("552 5.2.2 Mailbox full", 552).hard_bounce
    assert not error("452 4.2.2 Mailbox full", 452).hard_bounce


def test_an_unreachable_server_is_temporary_and_the_password_never_shows():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again when the block ends: nothing listens
    sender = SMTPSender(f"smtp://mailer:s3cr%40t@127.0.0.1:{port}?timeout=2")
    with pytest.raises(SendError) as caught:
        _send(sender, "ann@example.com")
    assert not caught.value.permanent
    assert "s3cr" not in str(caught.value) and "s3cr" not in repr(sender)
    assert "s3cr" not in repr(sender.config)


def test_smtp_urls_choose_tls_port_credentials_and_timeout():
    implicit = SMTPConfig.from_url("smtps://mail.example.com")
    assert (implicit.tls, implicit.port) == ("implicit", 465)
    assert SMTPConfig.from_url("smtp+starttls://mail.example.com").port == 587
    for url in ("smtp://h:2525?starttls=1", "smtp://h:2525?starttls", "smtp+starttls://h:2525"):
        assert SMTPConfig.from_url(url).tls == "starttls", url
    plain = SMTPConfig.from_url("smtp://h?starttls=0&timeout=2.5")
    assert (plain.tls, plain.port, plain.timeout, plain.user) == ("none", 25, 2.5, None)
    auth = SMTPConfig.from_url("smtp://apikey:p%40ss%3Aw%2Ford@h:587")
    assert (auth.user, auth.password) == ("apikey", "p@ss:w/ord")
    with pytest.raises(ValueError, match="SMTP_URL must start with"):
        SMTPConfig.from_url("http://h")


def test_retry_delay_doubles_from_five_minutes_up_to_four_hours_with_jitter():
    assert retry_delay(1, jitter=0) == timedelta(minutes=5)
    assert retry_delay(2, jitter=0) == timedelta(minutes=10)
    assert retry_delay(30, jitter=0) == timedelta(hours=4)
    assert timedelta(minutes=7.5) <= retry_delay(2) <= timedelta(minutes=10)
    assert retry_delay(30, jitter=0.99) >= timedelta(hours=3)


def test_sink_unstuffs_dots_and_keeps_a_maildir_and_a_log(run_sink, tmp_path):
    sink = run_sink(store=Store(tmp_path / "mail", tmp_path / "log.jsonl"))
    sender = SMTPSender(f"smtp://127.0.0.1:{sink.port}")
    _send(sender, "ann@example.com")
    sender.close()
    (kept,) = list(mailbox.Maildir(tmp_path / "mail"))
    assert kept.get_payload().splitlines() == [".a line that starts with a dot", "..two dots",
                                               "end"]
    logged = [json.loads(line) for line in (tmp_path / "log.jsonl").read_text().splitlines()]
    assert [{k: v for k, v in line.items() if k != "at"} for line in logged] == [
        {"recipient": "ann@example.com", "message_id": "<m1@nurture.localhost>"}]
    assert abs(logged[0]["at"] - time.time()) < 60  # when it was accepted, for latencies


def test_sink_answers_pipelined_commands_in_order(run_sink):
    sink = run_sink()
    with socket.create_connection(("127.0.0.1", sink.port), timeout=5) as conn:
        conn.recv(1024)  # greeting
        conn.sendall(b"EHLO me\r\nMAIL FROM:<a@x>\r\nRCPT TO:<b@x>\r\nDATA\r\n"
                     b"Subject: x\r\n\r\nhi\r\n.\r\nXSTATS\r\nQUIT\r\n")
        replies = b""
        while not replies.endswith(b"221 2.0.0 Bye\r\n"):
            chunk = conn.recv(4096)
            assert chunk, replies
            replies += chunk
    codes = [line[:3] for line in replies.decode().splitlines() if line[3:4] == " "]
    assert codes == ["250", "250", "250", "354", "250", "250", "221"]
    assert "messages=1 recipients=1" in replies.decode()


# STARTTLS, implicit TLS and AUTH against aiosmtpd, with a self-signed certificate.

@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make a test certificate.")
    folder = tmp_path_factory.mktemp("tls")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-keyout", folder / "key.pem", "-out", folder / "cert.pem",
                    "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, capture_output=True)
    return folder / "cert.pem", folder / "key.pem"


class _Recorder:
    def __init__(self):
        self.messages: list[tuple[str, list[str], str | None]] = []

    async def handle_DATA(self, server, session, envelope):
        login = session.auth_data if session.authenticated else None
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), login))
        return "250 OK"


def _authenticate(server, session, envelope, mechanism, auth_data):
    from aiosmtpd.smtp import AuthResult

    ok = auth_data.login == b"mailer" and auth_data.password == b"p@ss word"
    return AuthResult(success=ok, handled=False, auth_data=auth_data.login.decode())


@pytest.fixture
def aiosmtpd_server(certificate):
    pytest.importorskip("aiosmtpd")
    from aiosmtpd.controller import Controller

    cert, key = certificate
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(cert, key)
    controllers = []

    def start(implicit: bool):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        handler = _Recorder()
        # aiosmtpd only counts STARTTLS as TLS for AUTH; with implicit TLS all of it is TLS.
        tls = ({"ssl_context": server_tls, "auth_require_tls": False} if implicit else
               {"tls_context": server_tls, "require_starttls": True, "auth_require_tls": True})
        controller = Controller(handler, hostname="127.0.0.1", port=port,
                                authenticator=_authenticate, **tls)
        controller.start()
        controllers.append(controller)
        return handler, port

    yield start
    for controller in controllers:
        controller.stop()


@pytest.mark.parametrize("scheme", ["smtp+starttls", "smtps"])
def test_tls_and_login_with_the_url_credentials(aiosmtpd_server, certificate, scheme):
    handler, port = aiosmtpd_server(implicit=scheme == "smtps")
    client_tls = ssl.create_default_context(cafile=str(certificate[0]))
    sender = SMTPSender(f"{scheme}://mailer:p%40ss%20word@127.0.0.1:{port}", client_tls)
    _send(sender, "ann@example.com")
    sender.close()
    assert handler.messages == [("hello@nurture.localhost", ["ann@example.com"], "mailer")]


def test_a_refused_login_is_temporary_and_does_not_show_the_password(aiosmtpd_server,
                                                                     certificate):
    handler, port = aiosmtpd_server(implicit=False)
    client_tls = ssl.create_default_context(cafile=str(certificate[0]))
    sender = SMTPSender(f"smtp://mailer:wrong-secret@127.0.0.1:{port}?starttls=1", client_tls)
    with pytest.raises(SendError) as caught:
        _send(sender, "ann@example.com")
    assert not caught.value.permanent and caught.value.stage == "auth"
    assert "wrong-secret" not in str(caught.value)
    assert handler.messages == []


def test_built_messages_arrive_whole_without_the_senders_scan(run_sink, tmp_path):
    """`build_mime` writes SMTP's own form (CRLF only, no leading dot, even for a long
    non-ASCII subject or a header value with a line break), so `canonical=True` is safe."""
    from nurture.sending.mime import build_mime
    from nurture.sending.senders import _dot_stuffed

    data = build_mime(sender="Nurture <hello@nurture.localhost>", to="ann@example.com",
                      subject="Ihr Testzeitraum endet bald — bitte prüfen Sie Ihre Zugänge " * 3,
                      html_body="<p>.5 seats\n.left</p>\r\n" * 400, text_body=".5 seats\n" * 50,
                      msg_id="<m9@nurture.localhost>",
                      headers={"X-Nurture-Send": "v1:1:2:welcome\r\nBcc: x@evil.example"})
    assert _dot_stuffed(data) == data + b".\r\n"
    sink = run_sink(store=Store(maildir=tmp_path / "box"))
    sender = SMTPSender(f"smtp://127.0.0.1:{sink.port}")
    sender.send("hello@nurture.localhost", "ann@example.com", "<m9@nurture.localhost>", data,
                canonical=True)
    sender.close()
    (kept,) = mailbox.Maildir(tmp_path / "box").values()
    assert kept["Bcc"] is None and kept["Subject"].startswith("=?utf-8?")
    html, = (p for p in kept.walk() if p.get_content_type() == "text/html")
    assert html.get_payload(decode=True).decode() == "<p>.5 seats\n.left</p>\r\n" * 400
