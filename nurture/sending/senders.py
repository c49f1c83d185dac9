"""Senders behind one small interface, chosen by SMTP_URL: real SMTP or a file outbox."""

from __future__ import annotations

import contextlib
import os
import smtplib
import ssl
import threading
from pathlib import Path
from urllib.parse import unquote, urlparse

from nurture.config import Settings


class SendError(Exception):
    """Raised when a mail server refuses a message; `permanent` for 5xx replies."""

    def __init__(self, message: str, permanent: bool):
        super().__init__(message)
        self.permanent = permanent


class Sender:
    def send(self, sender: str, recipient: str, message_id: str, data: bytes) -> None:
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

    def send(self, sender: str, recipient: str, message_id: str, data: bytes) -> None:
        final = self.path_for(message_id)
        tmp = final.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")
        tmp.write_bytes(data)
        os.replace(tmp, final)


class SMTPSender(Sender):
    """SMTP with one reused connection per thread, reopened when the server drops it."""

    def __init__(self, url: str):
        parsed = urlparse(url)
        self.scheme = parsed.scheme
        self.host = parsed.hostname or "localhost"
        self.port = parsed.port or (465 if parsed.scheme == "smtps" else 25)
        self.user = unquote(parsed.username) if parsed.username else None
        self.password = unquote(parsed.password) if parsed.password else None
        self.starttls = "starttls" in (parsed.query or "")
        self._local = threading.local()

    def _connection(self) -> smtplib.SMTP:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            return conn
        if self.scheme == "smtps":
            conn = smtplib.SMTP_SSL(self.host, self.port, timeout=30,
                                    context=ssl.create_default_context())
        else:
            conn = smtplib.SMTP(self.host, self.port, timeout=30)
            if self.starttls:
                conn.starttls(context=ssl.create_default_context())
        if self.user:
            conn.login(self.user, self.password or "")
        self._local.conn = conn
        return conn

    def send(self, sender: str, recipient: str, message_id: str, data: bytes) -> None:
        for attempt in (1, 2):
            try:
                self._connection().sendmail(sender, [recipient], data)
                return
            except smtplib.SMTPServerDisconnected:
                self._local.conn = None
                if attempt == 2:
                    raise SendError("The mail server closed the connection.", False) from None
            except smtplib.SMTPRecipientsRefused as exc:
                code, text = next(iter(exc.recipients.values()))
                raise SendError(f"{code} {text!r}", code >= 500) from None
            except smtplib.SMTPResponseException as exc:
                raise SendError(f"{exc.smtp_code} {exc.smtp_error!r}",
                                exc.smtp_code >= 500) from None

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            with contextlib.suppress(smtplib.SMTPException):
                conn.quit()
            self._local.conn = None


def make_sender(settings: Settings) -> Sender:
    if settings.smtp_url:
        return SMTPSender(settings.smtp_url)
    return FileOutbox(settings.outbox_dir)
