"""What one incoming message is, decided from the message alone (pure: no database).

A report (a DSN or an ARF complaint, or anything sent to a VERP return path) goes to the
bounce intake; mail to unsubscribe@ is an unsubscribe, by the signed token in its subject or
else by its sender; the rest is kept for a person to read.
"""

from __future__ import annotations

import email
import hashlib
import re
from dataclasses import dataclass
from email.message import Message
from email.policy import compat32
from email.utils import getaddresses, parseaddr

from nurture.sending.dsn import Bounce, parse_report
from nurture.sending.errors import DSNError
from nurture.sending.verp import Verp
from nurture.tokens import TokenError, Tokens

UNSUBSCRIBE = "unsubscribe"
# Where a relay or the mail server names the recipient besides To and Cc.
_RECIPIENT_HEADERS = ("To", "Cc", "Delivered-To", "X-Original-To", "Envelope-To")
_DAEMONS = ("mailer-daemon", "postmaster")
_FAILURE = re.compile(r"undeliver|delivery (?:status|failure|has failed)|failure notice"
                      r"|returned mail|not delivered|delivery notification", re.I)
# A signed token (`nurture.tokens`): payload, time and signature in URL-safe base64.
_TOKEN = re.compile(r"[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{20,}")


@dataclass(frozen=True)
class Envelope:
    """What the handler keeps of a message, whatever it is."""

    key: str  # the Message-ID, or "sha256:<hex>" of a message without one
    sender: str  # the From address, lower-cased ("" when it has none)
    recipient: str  # the first address it was sent to
    subject: str
    senders: tuple[str, ...]  # From, Sender and Return-Path: who may be unsubscribed


@dataclass(frozen=True)
class Unsubscribe:
    """Mail to unsubscribe@: the contact id and address key of a valid token, if any."""

    token: tuple[int, str] | None


@dataclass(frozen=True)
class Report:
    """Bounces and complaints read from the message, and the send its VERP return path
    names (None when it came to no VERP address). `readable` is False for a failure
    report to a VERP address that says nothing usable."""

    bounces: tuple[Bounce, ...]
    verp_send: int | None
    readable: bool = True


@dataclass(frozen=True)
class Keep:
    """Nothing to act on: kept for a person, with the reason."""

    reason: str


Decision = Unsubscribe | Report | Keep


@dataclass(frozen=True)
class Mailboxes:
    """Our addresses: the From domain (unsubscribe@ lives there) and the domains of VERP
    return paths, with their signer, and the signer of unsubscribe tokens."""

    domain: str
    verp_domains: tuple[str, ...]
    verp: Verp
    tokens: Tokens


def envelope(data: bytes) -> Envelope:
    msg = _parse(data)
    message_id = _storable(" ".join(str(msg.get("Message-ID", "")).split()))[:300]
    key = message_id or "sha256:" + hashlib.sha256(data).hexdigest()
    senders = tuple(dict.fromkeys(
        a for a in (_address(msg.get(h)) for h in ("From", "Sender", "Return-Path")) if a))
    recipients = _recipients(msg)
    return Envelope(key, _storable(_address(msg.get("From"))),
                    _storable(recipients[0] if recipients else ""),
                    _storable(" ".join(str(msg.get("Subject", "")).split()))[:300],
                    tuple(_storable(s) for s in senders))


def classify(data: bytes, ours: Mailboxes) -> Decision:
    """What to do with one message (raw RFC 822 bytes)."""
    msg = _parse(data)
    recipients = _recipients(msg)
    verp_send = _verp_send(recipients, ours)
    report = _looks_like_report(msg)
    if verp_send is not None or report:
        try:
            bounces = tuple(parse_report(data))
        except DSNError:
            bounces = ()
        if bounces:
            return Report(bounces, verp_send)
        if verp_send is None:
            return Keep("A delivery report that names no failed recipient and no complaint.")
        # Out-of-office replies go to the return path too (RFC 3834): only a mail server's
        # failure notice is a bounce.
        if report or _FAILURE.search(str(msg.get("Subject", ""))):
            return Report((), verp_send, readable=False)
        return Keep("A message for a person came to a bounce address.")
    if f"{UNSUBSCRIBE}@{ours.domain}" in recipients:
        token = _token(str(msg.get("Subject", "")), ours.tokens)
        if token is None and _auto_reply(msg):
            return Keep("An automatic reply came to the unsubscribe address.")
        return Unsubscribe(token)
    return Keep("A message for a person: no unsubscribe, bounce or complaint.")


def verp_send(data: bytes, ours: Mailboxes) -> int | None:
    """The send whose VERP return path this message was sent to, if any."""
    return _verp_send(_recipients(_parse(data)), ours)


def _verp_send(recipients: list[str], ours: Mailboxes) -> int | None:
    return next((send for send in (_verp(a, ours) for a in recipients) if send), None)


def _storable(value: str) -> str:
    """Header text as a database stores it: no NUL, and undecodable bytes (which the
    parser keeps as lone surrogates) as the replacement character."""
    return value.encode("utf-8", "replace").decode("utf-8").replace("\x00", "")


def _parse(data: bytes) -> Message:
    return email.message_from_bytes(data, policy=compat32)


def _address(value: object) -> str:
    return parseaddr(" ".join(str(value or "").split()))[1].strip().lower()


def _recipients(msg: Message) -> list[str]:
    values = [str(v) for h in _RECIPIENT_HEADERS for v in msg.get_all(h, [])]
    return list(dict.fromkeys(a.strip().lower() for _, a in getaddresses(values) if "@" in a))


def _verp(address: str, ours: Mailboxes) -> int | None:
    return next((send for send in (ours.verp.send_id(address, d) for d in ours.verp_domains)
                 if send is not None), None)


def _looks_like_report(msg: Message) -> bool:
    """A delivery or feedback report, or a bounce from a mail server: never a person's."""
    return (msg.get_content_type() == "multipart/report"
            or _address(msg.get("From")).split("@")[0] in _DAEMONS
            or str(msg.get("Return-Path", "")).strip() == "<>")


def _auto_reply(msg: Message) -> bool:
    """An out-of-office or other automatic reply (RFC 3834, and the usual others)."""
    submitted = str(msg.get("Auto-Submitted", "no")).strip().lower()
    precedence = str(msg.get("Precedence", "")).strip().lower()
    return (submitted.startswith("auto-replied") or precedence in ("auto_reply", "junk")
            or any(msg.get(h) is not None for h in ("X-Autoreply", "X-Autorespond")))


def _token(subject: str, tokens: Tokens) -> tuple[int, str] | None:
    """The contact a valid unsubscribe token in the subject names (mail clients may add
    "Re:" or another word around it)."""
    for candidate in _TOKEN.findall(subject):
        try:
            payload = tokens.load("subscription", candidate)
        except TokenError:
            continue
        if (isinstance(payload, list) and len(payload) == 3 and isinstance(payload[0], int)
                and isinstance(payload[1], str)):
            return payload[0], payload[1]
    return None
