"""Bounce and complaint reports turned into plain values, one `Bounce` per recipient.

Reads RFC 3464 delivery status notifications, RFC 5965 (ARF) feedback reports, the common
plain-text bounces that have neither (qmail and friends, best effort), mbox files of these,
and the JSON webhook. Pure: what to suppress or count is the caller's decision.
"""

from __future__ import annotations

import contextlib
import email
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import Message
from email.policy import compat32
from email.utils import getaddresses, parsedate_to_datetime

from nurture.sending.errors import DSNError

ACTIONS = ("failed", "delayed", "delivered", "relayed", "expanded")
COMPLAINT_TYPES = ("abuse", "fraud", "virus")
_EMAIL = re.compile(r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$")
_STATUS = re.compile(r"\b([245])\.\d{1,3}\.\d{1,3}\b")
# A bare reply code counts only where servers put it ("said: 550 ..."), not mid-sentence.
_SMTP_REPLY = re.compile(r"(?:^\s*|:\s*)([45])\d\d(?=[\s-])")
_ADDRESS = re.compile(r"[\w.!#$%&'*+/=?^`{|}~-]+@[\w-]+(?:\.[\w-]+)+")
_ADDRESS_LINE = re.compile(r"^\s*<([^<>\s]+@[^<>\s]+)>:?\s*$")
# Plain-text bounces quote the returned message after one of these lines; addresses and
# numbers below it belong to the original, not to the failure.
_COPY_MARKER = re.compile(
    r"^.*(?:below this line is a copy of the message|this is a copy of the message"
    r"|original message follows|original message headers).*$\n?", re.I | re.M)
_MBOX_SEPARATOR = re.compile(rb"(?:\A|(?<=\n\n)|(?<=\n\r\n))From [^\n]*\n")


@dataclass(frozen=True)
class Bounce:
    """One recipient's bounce or complaint; success notices are not reported.

    `kind` is "hard", "soft" or "complaint". `action` and `status` are empty for complaints;
    an ARF complaint's `diagnostic` is its feedback type.
    """

    recipient: str
    action: str
    status: str
    kind: str
    diagnostic: str = ""
    message_id: str | None = None
    send_key: str | None = None
    reported_at: datetime | None = None


def parse_report(data: bytes) -> list[Bounce]:
    """Bounces in one message (DSN, ARF complaint or plain-text bounce); [] if none found."""
    if not data.strip():
        raise DSNError("The report is empty, so it is not an email message.")
    msg = email.message_from_bytes(data, policy=compat32)
    parts = list(_parts(msg))
    first = {p.get_content_type(): p for p in reversed(parts)}
    date = _date(_header(msg, "Date"))
    if "message/delivery-status" in first:
        return _from_dsn(first["message/delivery-status"], _original(parts), date)
    if "message/feedback-report" in first:
        return _from_arf(first["message/feedback-report"], _original(parts), date)
    return _from_text(parts, date)


def parse_mbox_or_message(data: bytes) -> list[Bounce]:
    """Bounces in one message or in every message of an mbox file, in file order."""
    return [bounce for chunk in messages(data) for bounce in parse_report(chunk)]


def messages(data: bytes) -> list[bytes]:
    """The messages of an mbox file, in file order, or `data` itself when it is one."""
    if not data.lstrip().startswith(b"From "):
        return [data]
    return [c for c in _MBOX_SEPARATOR.split(data.lstrip()) if c.strip()]


def parse_json_event(payload: dict) -> list[Bounce]:
    """Bounces from the webhook: one event, or a list of them under "events".

    An event is {"type": "bounce" | "complaint", "email": "...", "status": "5.1.1",
    "diagnostic": "...", "message_id": "<...>", "send_key": "...", "occurred_at": ISO-8601};
    only type and email are required, and a bounce without a status counts as hard.
    """
    if not isinstance(payload, dict):
        raise DSNError("The payload must be a JSON object.")
    if "events" not in payload:
        return [_json_bounce(payload, "")]
    if not isinstance(payload["events"], list):
        raise DSNError("Field 'events' must be a list of events.")
    return [_json_bounce(event, f"events[{i}].") for i, event in enumerate(payload["events"])]


def _json_bounce(event: object, prefix: str) -> Bounce:
    def fail(field: str, problem: str) -> DSNError:
        return DSNError(f"Field '{prefix}{field}' {problem}.")

    if not isinstance(event, dict):
        raise DSNError(f"Field '{prefix.rstrip('.')}' must be a JSON object.")
    for field in ("email", "status", "diagnostic", "message_id", "send_key", "occurred_at"):
        if event.get(field) is not None and not isinstance(event[field], str):
            raise fail(field, "must be a string")
    if event.get("type") not in ("bounce", "complaint"):
        raise fail("type", 'must be "bounce" or "complaint"')
    address = (event.get("email") or "").strip().lower()
    if not address:
        raise fail("email", "is required")
    if not _EMAIL.match(address):
        raise fail("email", "must be an email address")
    status = (event.get("status") or "").strip()
    if status and not re.fullmatch(r"[45]\.\d{1,3}\.\d{1,3}", status):
        raise fail("status", 'must be a 4.x.x or 5.x.x status code such as "5.1.1"')
    reported_at = None
    if event.get("occurred_at"):
        with contextlib.suppress(ValueError):
            reported_at = datetime.fromisoformat(event["occurred_at"])
        if reported_at is None or reported_at.tzinfo is None:
            raise fail("occurred_at", "must be an ISO-8601 timestamp with a time zone")
        reported_at = reported_at.astimezone(UTC)
    message_id, send_key = event.get("message_id") or None, event.get("send_key") or None
    diagnostic = (event.get("diagnostic") or "").strip()
    if event["type"] == "complaint":
        return Bounce(address, "", "", "complaint", diagnostic, message_id, send_key,
                      reported_at)
    return Bounce(address, "failed", status, _kind("failed", status), diagnostic, message_id,
                  send_key, reported_at)


def _from_dsn(part: Message, original: Message | None, date: datetime | None) -> list[Bounce]:
    blocks = _blocks(part)
    arrival = next((_date(_header(b, "Arrival-Date")) for b in blocks if b["Arrival-Date"]), None)
    bounces = []
    for block in blocks:
        recipient = _address(_header(block, "Final-Recipient")
                             or _header(block, "Original-Recipient"))
        diagnostic = re.sub(r"^[\w-]+\s*;\s*", "", _header(block, "Diagnostic-Code") or "")
        found = _STATUS.search(_header(block, "Status") or "") or _STATUS.search(diagnostic)
        status = found[0] if found else ""
        action = (_header(block, "Action") or "").split(" ")[0].lower()
        if action not in ACTIONS:
            action = {"5": "failed", "4": "delayed"}.get(status[:1], "")
        if recipient and action in ("failed", "delayed"):  # the rest are success notices
            bounces.append(Bounce(recipient, action, status, _kind(action, status), diagnostic,
                                  reported_at=arrival or date, **_refs(original)))
    return bounces


def _from_arf(part: Message, original: Message | None, date: datetime | None) -> list[Bounce]:
    report = next(iter(_blocks(part)), Message())
    feedback = (_header(report, "Feedback-Type") or "").lower()
    if feedback not in COMPLAINT_TYPES:
        return []
    named = [_address(str(v)) for v in report.get_all("Original-Rcpt-To", [])]
    if not any(named) and original is not None:
        named = [_address(a) for _, a in getaddresses([str(v) for v in original.get_all("To", [])])]
    recipients = list(dict.fromkeys(a for a in named if a))
    when = _date(_header(report, "Arrival-Date")) or date
    return [Bounce(r, "", "", "complaint", feedback, reported_at=when, **_refs(original))
            for r in recipients]


def _from_text(parts: list[Message], date: datetime | None) -> list[Bounce]:
    text = "\n".join(_text(p) for p in parts if p.get_content_type() == "text/plain")
    text, *copy = _COPY_MARKER.split(text, maxsplit=1)
    original = _original(parts) or (
        email.message_from_string(copy[0].lstrip(), policy=compat32) if copy else None)
    bounces, seen, current = [], set(), None
    for line in text.splitlines():
        if found := _ADDRESS_LINE.match(line):
            current = _address(found[1])
            continue
        status_found, reply = _STATUS.search(line), _SMTP_REPLY.search(line)
        address = _ADDRESS.search(line)
        recipient = _address(address[0]) if address else current
        status = status_found[0] if status_found else f"{reply[1]}.0.0" if reply else ""
        if status[:1] in ("4", "5") and recipient and recipient not in seen:
            seen.add(recipient)
            action = "failed" if status[0] == "5" else "delayed"
            bounces.append(Bounce(recipient, action, status, _kind(action, status),
                                  " ".join(line.split()), reported_at=date, **_refs(original)))
    return bounces


def _kind(action: str, status: str) -> str:
    """Hard for a permanent failure; soft for a delay or a transient (4.x.x) status."""
    return "hard" if action == "failed" and not status.startswith("4") else "soft"


def _parts(msg: Message) -> Iterator[Message]:
    """The message and its parts, without descending into attached messages or reports."""
    yield msg
    if msg.is_multipart() and msg.get_content_maintype() != "message":
        for part in msg.get_payload():
            if isinstance(part, Message):
                yield from _parts(part)


def _blocks(part: Message) -> list[Message]:
    """Header blocks of a report part: the parser reads message/delivery-status as a list of
    blocks (per-message, then one per recipient) and message/feedback-report as one."""
    payload = part.get_payload()
    return [b for b in payload if isinstance(b, Message)] if isinstance(payload, list) else []


def _original(parts: list[Message]) -> Message | None:
    for part in parts:
        if part.get_content_type() == "message/rfc822":
            payload = part.get_payload()
            first = payload[0] if isinstance(payload, list) and payload else None
            return first if isinstance(first, Message) else None
        if part.get_content_type() == "text/rfc822-headers":
            return email.message_from_string(_text(part).lstrip(), policy=compat32)
    return None


def _refs(original: Message | None) -> dict[str, str | None]:
    return {"message_id": _header(original, "Message-ID"),
            "send_key": _header(original, "X-Nurture-Send")}


def _header(msg: Message | None, name: str) -> str | None:
    """A header with its folding undone, or None when absent or blank."""
    if msg is None or msg.get(name) is None:
        return None
    return " ".join(str(msg[name]).split()) or None


def _address(value: str | None) -> str | None:
    address = (value or "").rpartition(";")[2].strip().strip("<>").strip().lower()
    return address if _EMAIL.match(address) else None


def _date(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, OverflowError, IndexError):
        return None
    return (when if when.tzinfo else when.replace(tzinfo=UTC)).astimezone(UTC)


def _text(part: Message) -> str:
    raw = part.get_payload(decode=True)
    if not isinstance(raw, bytes):
        raw = b""
    try:
        return raw.decode(part.get_content_charset() or "utf-8", errors="replace")
    except LookupError:
        return raw.decode("utf-8", errors="replace")
