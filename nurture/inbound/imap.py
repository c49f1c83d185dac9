"""Polling the IMAP mailbox that receives the unsubscribe address and bounces
(`NURTURE_INBOUND_IMAP_URL`, such as imaps://user:password@imap.example.com:993/INBOX).

Each poll fetches the unseen messages (without marking them), hands each to `handle`, and
only then marks it: a message acted on is flagged \\Seen and \\Deleted and expunged at the
end; a message kept for a person stays in the mailbox, \\Seen, whole. A message whose
handling failed is left unseen for the next poll: never lost. Handling is idempotent by
Message-ID, so a message seen twice (two pollers, a crash before the flag) does no harm.

`imaps://` is TLS from the start (port 993); `imap://` upgrades with STARTTLS (port 143),
and may stay plaintext only to this machine (tests, a local relay).
"""

from __future__ import annotations

import imaplib
import logging
import ssl
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit

from nurture.config import Settings
from nurture.inbound.errors import MailboxError
from nurture.inbound.services import Handled, handle, mailboxes
from nurture.unit_of_work import Works

log = logging.getLogger(__name__)
LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1")
TIMEOUT = 30.0  # seconds for any one IMAP exchange


@dataclass(frozen=True)
class Mailbox:
    host: str
    port: int
    tls: str  # implicit | starttls | none (this machine only)
    user: str
    password: str = field(repr=False)
    folder: str = "INBOX"

    @classmethod
    def from_url(cls, url: str) -> Mailbox:
        """The mailbox in a URL the settings checked (scheme, user and password)."""
        parts = urlsplit(url)
        host = parts.hostname or "localhost"
        if parts.scheme == "imaps":
            tls, port = "implicit", 993
        else:
            tls, port = ("none" if host in LOCAL_HOSTS else "starttls"), 143
        return cls(host, parts.port or port, tls, unquote(parts.username or ""),
                   unquote(parts.password or ""), unquote(parts.path.strip("/")) or "INBOX")


@contextmanager
def opened(box: Mailbox) -> Iterator[imaplib.IMAP4]:
    """A signed-in connection with the folder selected, logged out afterwards."""
    where = f"the IMAP mailbox {box.user}@{box.host}:{box.port}/{box.folder}"
    try:
        if box.tls == "implicit":
            conn: imaplib.IMAP4 = imaplib.IMAP4_SSL(
                box.host, box.port, ssl_context=ssl.create_default_context(), timeout=TIMEOUT)
        else:
            conn = imaplib.IMAP4(box.host, box.port, timeout=TIMEOUT)
            if box.tls == "starttls":
                conn.starttls(ssl.create_default_context())
        conn.login(box.user, box.password)
        status, _ = conn.select(_quoted(box.folder))
        if status != "OK":
            raise MailboxError(f"{where} has no folder {box.folder!r}.")
    except (TimeoutError, OSError, imaplib.IMAP4.error) as exc:
        raise MailboxError(f"Could not read {where}: {exc}.") from None
    try:
        yield conn
    finally:
        with suppress(OSError, imaplib.IMAP4.error):
            conn.logout()


def poll_mailbox(works: Works, settings: Settings) -> dict[str, int]:
    """One poll of the configured mailbox (the CLI and the scheduler's job)."""
    if settings.inbound.imap_url is None:
        return {}
    ours = mailboxes(settings)
    return poll(Mailbox.from_url(settings.inbound.imap_url),
                lambda data: handle(works, ours, data, "imap"))


def poll(box: Mailbox, handler: Callable[[bytes], Handled]) -> dict[str, int]:
    """Handle every unseen message once; counts by what was done, and `failed` for those
    left for the next poll."""
    counts = Counter[str]()
    with opened(box) as conn:
        try:
            _handle_unseen(conn, handler, counts)
        except (OSError, imaplib.IMAP4.error) as exc:  # handled ones are not handled again
            raise MailboxError(f"The IMAP mailbox {box.user}@{box.host} stopped answering "
                               f"during a poll ({exc}); the messages left are read at the "
                               "next one.") from None
    return dict(counts)


def _handle_unseen(conn: imaplib.IMAP4, handler: Callable[[bytes], Handled],
                   counts: Counter[str]) -> None:
    status, found = conn.uid("SEARCH", "UNSEEN")
    uids = [u.decode() for u in found[0].split()] if status == "OK" and found[0] else []
    deleted = False
    for uid in uids:
        data = _fetch(conn, uid)
        if data is None:
            continue  # gone meanwhile (another poller expunged it)
        try:
            done = handler(data)
        except Exception:  # this message waits for the next poll; the others go on
            log.exception("inbound: message UID %s could not be handled; it stays in "
                          "the mailbox for the next poll", uid)
            counts["failed"] += 1
            continue
        counts["duplicate" if done.duplicate else done.handled] += 1
        if done.handled == "kept":  # the whole message stays for a person
            conn.uid("STORE", uid, "+FLAGS", r"(\Seen)")
        else:
            conn.uid("STORE", uid, "+FLAGS", r"(\Seen \Deleted)")
            deleted = True
    if deleted:
        conn.expunge()


def _fetch(conn: imaplib.IMAP4, uid: str) -> bytes | None:
    status, parts = conn.uid("FETCH", uid, "(BODY.PEEK[])")
    if status != "OK":
        return None
    for part in parts:
        if isinstance(part, tuple) and len(part) == 2:
            return part[1]
    return None


def _quoted(folder: str) -> str:
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'
