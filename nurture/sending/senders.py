"""Senders behind one small interface, chosen by SMTP_URL: real SMTP or a file outbox.

SMTP_URL forms: `smtp://host:25`, `smtps://host:465` (implicit TLS), `smtp+starttls://host:587`
or `smtp://host:587?starttls=1`, with `user:password@` (URL-encoded) for AUTH and an optional
`?timeout=SECONDS`.
"""

from __future__ import annotations

import contextlib
import email.utils
import functools
import os
import random
import re
import smtplib
import socket
import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlparse

from nurture.config import Settings
from nurture.env import check_smtp_url
from nurture.sending import addresses, rate

RETRY_FIRST = timedelta(minutes=5)
RETRY_CAP = timedelta(hours=4)
_STATUS = re.compile(r"\b([245]\.\d{1,3}\.\d{1,3})\b")  # RFC 3463 enhanced status
# The reason a send records when its address needs SMTPUTF8 and the server lacks it.
NO_SMTPUTF8 = ("Not sent: the address has characters beyond ASCII and the mail server does "
               "not offer SMTPUTF8 (RFC 6531), which such an address needs.")
# The reason a send records when the connection dropped after the message text went.
DROPPED_AFTER_DATA = ("The connection dropped after the message was sent; its outcome is "
                      "unknown, so it is not sent again.")


class SendError(Exception):
    """Raised when a message was not delivered: `permanent` for 5xx replies (record it
    failed), temporary for 4xx replies and connection trouble (retry later with backoff)."""

    def __init__(self, message: str, permanent: bool, *, code: int | None = None,
                 stage: str | None = None, outcome_unknown: bool = False):
        super().__init__(message[:200])  # fits sends.reason
        self.permanent = permanent
        # The server may have the message: it must never be sent again by itself.
        self.outcome_unknown = outcome_unknown
        self.code = code
        self.stage = stage  # the SMTP step that was refused: mail, rcpt, data or payload
        found = _STATUS.search(message)
        self.status = found.group(1) if found else None

    @property
    def hard_bounce(self) -> bool:
        """The address itself is bad: a 5.1.x status (unknown mailbox or domain) at any
        step, or a bare 550/551/553 to RCPT. A policy refusal (5.7.x: relaying, spam) or a
        full mailbox is not the address's fault and is no hard bounce."""
        if not self.permanent:
            return False
        if self.status is not None and self.status != "5.0.0":
            return self.status.startswith("5.1.")
        return self.stage == "rcpt" and self.code in (550, 551, 553)


def retry_delay(attempt: int, jitter: float | None = None) -> timedelta:
    """How long to wait before retry number `attempt` (1, 2, ...) after a temporary failure:
    5 min doubling up to 4 h, shortened by up to a quarter at random so that a batch refused
    together does not come back together. `jitter` in [0, 1) makes it deterministic."""
    base = min(RETRY_CAP, RETRY_FIRST * 2 ** max(0, min(attempt - 1, 16)))
    return base * (1 - 0.25 * (random.random() if jitter is None else jitter))


class Sender:
    def send(self, sender: str, recipient: str, message_id: str, data: bytes, *,
             canonical: bool = False, commit: Callable[[], bool] | None = None) -> bool:
        """Deliver one message. `canonical` says data is already as SMTP carries it (CRLF
        line ends only, no line starting with a dot), as `build_mime` writes it, so the
        SMTP sender need not scan it (three scans of a 20 KB message cost 60 µs here).

        `commit`, when given, is called once, at the last moment before the message can
        reach anyone (for SMTP: the server accepted the envelope and waits for the text);
        when it returns False nothing is sent and this returns False. A SendError raised
        before that call means the message never went. Returns True when it went."""
        raise NotImplementedError

    def close(self) -> None:
        """Release connections."""


class FileOutbox(Sender):
    """One .eml file per message, named by Message-ID: writing twice keeps one file."""

    def __init__(self, directory: Path):
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)

    def path_for(self, message_id: str) -> Path:
        return self.directory / (message_id.strip("<>").replace("@", "_at_") + ".eml")

    def send(self, sender: str, recipient: str, message_id: str, data: bytes, *,
             canonical: bool = False, commit: Callable[[], bool] | None = None) -> bool:
        final = self.path_for(message_id)
        tmp = final.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")
        # What a mailbox's final delivery adds: the envelope sender, where bounces go
        # (a VERP address when that is on). Above any DKIM signature, which never signs it.
        return_path = email.utils.parseaddr(sender)[1]
        tmp.write_bytes(f"Return-Path: <{return_path}>\r\n".encode() + data)
        try:
            if commit is not None and not commit():
                return False
            os.replace(tmp, final)
            return True
        finally:
            tmp.unlink(missing_ok=True)


@dataclass(frozen=True)
class SMTPConfig:
    host: str
    port: int
    tls: str = "none"  # none, implicit (smtps) or starttls
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    timeout: float = 30.0

    @classmethod
    def from_url(cls, url: str) -> SMTPConfig:
        """The relay in `url`; a ConfigError for one that cannot be used (the settings
        check `SMTP_URL` with the same sentence at start-up)."""
        check_smtp_url("SMTP_URL", url)
        parsed = urlparse(url)
        query = parse_qs(parsed.query, keep_blank_values=True)
        starttls = query.get("starttls", ["0"])[-1].lower() in ("", "1", "true", "yes")
        tls = {"smtps": "implicit", "smtp+starttls": "starttls"}.get(parsed.scheme, "none")
        if tls == "none" and starttls:
            tls = "starttls"
        default_port = {"implicit": 465, "starttls": 587}.get(tls, 25)
        return cls(host=parsed.hostname or "localhost", port=parsed.port or default_port,
                   tls=tls, user=unquote(parsed.username) if parsed.username else None,
                   password=unquote(parsed.password) if parsed.password else None,
                   timeout=float(query.get("timeout", ["30"])[-1]))


class _Dropped(Exception):
    """Raised inside one attempt when the connection is gone before the server took the
    message, so one reconnect and retry cannot deliver it twice."""

    def __init__(self, reason: str, code: int | None = None):
        super().__init__(reason)
        self.code = code


class SMTPSender(Sender):
    """SMTP with one connection per thread reused across messages, reopened when dropped.

    A dropped connection (disconnect, reset, 421) before the message text was sent is
    reopened and the message retried once at once. A drop after the text was sent leaves
    the outcome unknown: that is a permanent failure, never a second copy. `commit` runs
    between the server's 354 and the text, so a worker that dies before it has sent
    nothing (the server drops a transaction whose text never ended).
    """

    def __init__(self, url: str, context: ssl.SSLContext | None = None):
        self.config = SMTPConfig.from_url(url)
        self.context = context or ssl.create_default_context()
        self._local = threading.local()
        self._open: set[smtplib.SMTP] = set()
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        c = self.config
        return f"<SMTPSender {c.tls} {c.user + '@' if c.user else ''}{c.host}:{c.port}>"

    def send(self, sender: str, recipient: str, message_id: str, data: bytes, *,
             canonical: bool = False, commit: Callable[[], bool] | None = None) -> bool:
        payload = data + b".\r\n" if canonical else _dot_stuffed(data)
        for attempt in (1, 2):
            try:
                return self._transaction(self._connection(), sender, recipient, payload,
                                         commit)
            except _Dropped as exc:
                self._discard()
                if attempt == 2:
                    raise SendError(f"The mail server dropped the connection: {exc}", False,
                                    code=exc.code) from None
        raise AssertionError("unreachable: the second attempt returns or raises")

    def _transaction(self, conn: smtplib.SMTP, sender: str, recipient: str, payload: bytes,
                     commit: Callable[[], bool] | None) -> bool:
        mail_from, rcpt_to = _address(sender), _address(recipient)
        options = ""
        if not (mail_from + rcpt_to).isascii():  # RFC 6531: the server must say it can
            if not conn.has_extn("smtputf8"):
                raise SendError(NO_SMTPUTF8, True, stage="mail")
            conn.command_encoding = "utf-8"
            options = " SMTPUTF8 BODY=8BITMIME" if conn.has_extn("8bitmime") else " SMTPUTF8"
        stage = "mail"
        try:
            if conn.has_extn("pipelining"):
                stage = self._pipelined(conn, f"FROM:<{mail_from}>{options}", f"TO:<{rcpt_to}>")
            else:
                self._expect(conn, "mail", conn.docmd("MAIL", f"FROM:<{mail_from}>{options}"),
                             (250,))
                stage = "rcpt"
                self._expect(conn, "rcpt", conn.docmd("RCPT", f"TO:<{rcpt_to}>"), (250, 251))
                stage = "data"
                self._expect(conn, "data", conn.docmd("DATA"), (354,))
            if commit is not None and not self._committed(commit):
                return False
            stage = "payload"
            conn.send(payload)
            self._expect(conn, "payload", conn.getreply(), (250,))
            return True
        except (smtplib.SMTPServerDisconnected, OSError) as exc:
            if stage != "payload":
                raise _Dropped(type(exc).__name__) from None
            self._discard()
            raise SendError(DROPPED_AFTER_DATA, True, stage="payload",
                            outcome_unknown=True) from None

    def _committed(self, commit: Callable[[], bool]) -> bool:
        """Run `commit` while the server waits for the text. Unless it says go, close the
        connection: the server drops a transaction whose text never ended (RFC 5321)."""
        went = False
        try:
            went = commit()
        finally:
            if not went:
                self._discard()
        return went

    def _pipelined(self, conn: smtplib.SMTP, mail: str, rcpt: str) -> str:
        """MAIL, RCPT and DATA in one write (RFC 2920): one round trip instead of three.
        Returns the stage reached; raises as the step-by-step exchange would."""
        conn.send(f"MAIL {mail}\r\nRCPT {rcpt}\r\nDATA\r\n")
        replies: list[tuple[int, bytes]] = []
        try:
            for _ in range(3):
                replies.append(conn.getreply())
        except smtplib.SMTPServerDisconnected:
            if not any(code >= 400 for code, _ in replies):
                raise  # dropped before refusing anything: reconnect and try again
        accepted = [code for code, _ in replies[:2]] in ([250, 250], [250, 251])
        if len(replies) == 3 and replies[2][0] == 354 and not accepted:
            conn.send(b".\r\n")  # the server opened DATA anyway: close it empty
            conn.getreply()
        for stage, reply, ok in zip(("mail", "rcpt", "data"), replies,
                                    ((250,), (250, 251), (354,)), strict=False):
            self._expect(conn, stage, reply, ok)
        return "data"

    def _expect(self, conn: smtplib.SMTP, stage: str, reply: tuple[int, bytes],
                ok: tuple[int, ...]) -> None:
        code, text = reply
        if code in ok:
            return
        if code == -1:  # not an SMTP reply: treated as a lost connection
            raise smtplib.SMTPServerDisconnected(_text(text))
        if code == 421:  # the server refuses and is closing this connection
            raise _Dropped(f"{code} {_text(text)}", code)
        with contextlib.suppress(smtplib.SMTPException, OSError):
            conn.rset()  # keep the connection usable for the next message
        what = {"mail": "sender", "rcpt": "recipient"}.get(stage, "message")
        raise SendError(f"The mail server refused the {what}: {code} {_text(text)}",
                        code >= 500, code=code, stage=stage)

    def _connection(self) -> smtplib.SMTP:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            return conn
        c = self.config
        try:
            if c.tls == "implicit":
                conn = smtplib.SMTP_SSL(c.host, c.port, timeout=c.timeout, context=self.context)
            else:
                conn = smtplib.SMTP(c.host, c.port, timeout=c.timeout)
                if c.tls == "starttls":
                    conn.starttls(context=self.context)
            conn.ehlo_or_helo_if_needed()
            if c.user:
                conn.login(c.user, c.password or "")
        except smtplib.SMTPAuthenticationError as exc:
            raise SendError(f"The mail server refused the login for {c.user}: "
                            f"{exc.smtp_code} {_text(exc.smtp_error)}", False,
                            code=exc.smtp_code, stage="auth") from None
        except (smtplib.SMTPException, OSError) as exc:
            # The message was never offered: try again later, whatever the reply was.
            raise SendError(f"Could not open an SMTP session with {c.host}:{c.port}: "
                            f"{_describe(exc)}", False, stage="connect") from None
        with self._lock:
            self._open.add(conn)
        self._local.conn = conn
        return conn

    def _discard(self) -> None:
        conn = getattr(self._local, "conn", None)
        self._local.conn = None
        if conn is not None:
            with self._lock:
                self._open.discard(conn)
            with contextlib.suppress(OSError):
                conn.close()

    def close(self) -> None:
        """Quit every thread's connection (called once the worker threads have stopped)."""
        with self._lock:
            connections, self._open = list(self._open), set()
        for conn in connections:
            with contextlib.suppress(smtplib.SMTPException, OSError):
                conn.quit()
            with contextlib.suppress(OSError):
                conn.close()
        self._local = threading.local()


@functools.lru_cache(maxsize=256)
def _parsed(value: str) -> str:
    return email.utils.parseaddr(value)[1]


def _address(value: str) -> str:
    """The bare address for MAIL/RCPT, from `a@b` or `Name <a@b>` (parsed once, cached)."""
    if "\r" in value or "\n" in value:
        raise SendError(f"The address {value[:80]!r} contains a line break.", True,
                        stage="mail")
    value = value.strip()
    return addresses.wire(_parsed(value) if "<" in value or " " in value else value)


def _dot_stuffed(data: bytes) -> bytes:
    """The DATA payload: CRLF line ends, leading dots doubled, the final `.` line."""
    crlf = data.count(b"\r\n")
    if data.count(b"\n") != crlf or data.count(b"\r") != crlf:
        data = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n").replace(b"\n", b"\r\n")
    if data.startswith(b"."):
        data = b"." + data
    data = data.replace(b"\r\n.", b"\r\n..")
    if not data.endswith(b"\r\n"):
        data += b"\r\n"
    return data + b".\r\n"


def _text(reply: bytes | str) -> str:
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
    return " ".join(text.split())[:120]


def _describe(exc: BaseException) -> str:
    if isinstance(exc, smtplib.SMTPResponseException):
        return f"{exc.smtp_code} {_text(exc.smtp_error)}"
    if isinstance(exc, socket.timeout | TimeoutError):
        return "timed out"
    return f"{type(exc).__name__}: {exc}"[:120]


class RateLimitedSender(Sender):
    """Any sender, held to a gate: the message waits for its place, then goes as usual."""

    def __init__(self, inner: Sender, gate: rate.Gate):
        self.inner, self.gate = inner, gate

    def send(self, sender: str, recipient: str, message_id: str, data: bytes, *,
             canonical: bool = False, commit: Callable[[], bool] | None = None) -> bool:
        self.gate.wait()  # before `commit`: a worker that dies waiting leaves it queued
        return self.inner.send(sender, recipient, message_id, data, canonical=canonical,
                               commit=commit)

    def close(self) -> None:
        self.inner.close()


def make_sender(settings: Settings) -> Sender:
    """SMTP when `SMTP_URL` is set, else the file outbox; held to `NURTURE_SEND_RATE`
    messages a second across workers when that is set (`nurture/sending/rate.py`)."""
    inner: Sender = SMTPSender(settings.smtp_url) if settings.smtp_url \
        else FileOutbox(settings.outbox_dir)
    per_second = settings.sending.rate
    if per_second is None:
        return inner
    namespace = settings.queue_namespace
    count = rate.redis_counter(settings.redis_url, namespace) if settings.redis_url \
        else rate.memory_counter()
    return RateLimitedSender(inner, rate.Gate(per_second, count))
