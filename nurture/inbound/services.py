"""Handling one incoming message, the same for the IMAP poller and `POST /api/inbound`:
once per Message-ID, in one transaction with what it does.

- An unsubscribe is applied at once and recorded with its proof (method `mailto`, the
  message's id and sender), like a one-click: no marketing email from then on.
- Bounces and complaints go through the bounce intake (`sending.bounces`), tied to their
  send by the VERP return path when there is one.
- A failure report to a VERP address that says nothing usable counts as a soft bounce of
  that send's recipient: recorded on the contact, never a suppression on a report nobody
  could read (a hard bounce is only what a report says is one).
- Anything else is kept for a person to read in the console.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import timedelta

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from nurture.config import Settings
from nurture.consent import records
from nurture.consent.records import Proof
from nurture.contacts.models import Contact
from nurture.contacts.queries import lock_contacts
from nurture.contacts.services import email_key
from nurture.db import rowcount
from nurture.inbound.classify import (
    Envelope,
    Keep,
    Mailboxes,
    Report,
    Unsubscribe,
    classify,
    envelope,
    verp_send,
)
from nurture.inbound.models import RAW_CAP, InboundMessage
from nurture.sending.bounces import apply_bounces
from nurture.sending.dsn import Bounce, messages, parse_report
from nurture.sending.models import Send
from nurture.sending.verp import Verp
from nurture.tokens import Tokens
from nurture.unit_of_work import Work, Works

EXCERPT = 16 * 1024  # what is kept of a message that was acted on
# How long a message acted on is remembered, so that the same one again does nothing:
# relays retry for days, not months. Kept messages stay for the person who reads them.
REMEMBER = timedelta(days=90)
UNREADABLE = "A failure report came back to this send's return path and could not be read."


@dataclass(frozen=True)
class Handled:
    """What was done with one message: `handled` is unsubscribed, bounce, complaint or kept;
    `duplicate` when it had been handled before (and nothing was done this time)."""

    handled: str
    message_id: str
    detail: str = ""
    duplicate: bool = False


def mailboxes(settings: Settings) -> Mailboxes:
    """Our addresses, as the classifier needs them: bounces to a VERP address of the From
    domain or of the bounce domain are read even after VERP is turned off."""
    domains = tuple(dict.fromkeys(d for d in (settings.mail_domain,
                                              settings.inbound.bounce_domain) if d))
    return Mailboxes(settings.mail_domain, domains, Verp(settings.secret_key),
                     Tokens(settings.secret_key))


def handle(works: Works, ours: Mailboxes, data: bytes, source: str) -> Handled:
    """Handle one raw message once; a second time (the same Message-ID) does nothing."""
    seen = envelope(data)
    earlier = _earlier(works, seen.key)
    if earlier is not None:
        return Handled(earlier, seen.key, duplicate=True)
    decision = classify(data, ours)
    try:
        with works.work(works.now()) as work:
            row = _row(seen, data, source)
            row.received_at = work.now
            work.session.add(row)
            work.session.flush()  # another poller with the same message waits or fails here
            row.handled, row.detail = _act(work, decision, seen, source)
            if row.handled == "kept":
                row.raw, row.truncated = data[:RAW_CAP], len(data) > RAW_CAP
    except IntegrityError:
        earlier = _earlier(works, seen.key)
        if earlier is None:
            raise
        return Handled(earlier, seen.key, duplicate=True)
    return Handled(row.handled, seen.key, row.detail)


def reports_in_file(works: Works, ours: Mailboxes, data: bytes) -> list[Bounce]:
    """The bounces of a file of reports (`nurture bounces import`): one message or an mbox,
    each tied to its send by its VERP address, even one whose report cannot be read."""
    found: list[Bounce] = []
    for message in messages(data):
        bounces = parse_report(message)
        send_id = verp_send(message, ours)
        if send_id is None:
            found += bounces
            continue
        with works.sessions() as session:
            send = session.get(Send, send_id)
            found += _matched(bounces, send)
    return found


def forget_old(works: Works) -> int:
    """Forget messages acted on longer ago than REMEMBER (the consent records, events and
    suppressions they made stay); how many."""
    with works.transaction() as session:
        return rowcount(session.execute(delete(InboundMessage).where(
            InboundMessage.handled != "kept",
            InboundMessage.received_at < works.now() - REMEMBER)))


def _earlier(works: Works, key: str) -> str | None:
    with works.sessions() as session:
        return session.scalar(select(InboundMessage.handled)
                              .where(InboundMessage.message_id == key))


def _row(seen: Envelope, data: bytes, source: str) -> InboundMessage:
    return InboundMessage(message_id=seen.key, from_address=seen.sender[:320],
                          to_address=seen.recipient[:320], subject=seen.subject,
                          handled="kept", source=source, raw=data[:EXCERPT],
                          truncated=len(data) > EXCERPT)


def _act(work: Work, decision: Unsubscribe | Report | Keep, seen: Envelope,
         source: str) -> tuple[str, str]:
    """Do what the decision says; returns what was done and a sentence about it."""
    match decision:
        case Unsubscribe(token=token):
            return _unsubscribe(work, token, seen, source)
        case Report(bounces=bounces, verp_send=send_id, readable=readable):
            send = work.session.get(Send, send_id) if send_id is not None else None
            found = _matched(bounces, send)
            if not found:
                return "kept", "A report to a bounce address whose send no longer exists."
            # The guard judges the journeys these hit on the scheduler's next round.
            counts = apply_bounces(work, found, source).counts
            if not readable and send is not None:
                return "bounce", f"{UNREADABLE} Counted as a soft bounce of {send.to_email}."
            kind = "complaint" if counts.get("complaint") else "bounce"
            summary = ", ".join(f"{n} {k}" for k, n in sorted(counts.items()))
            return kind, f"Recorded {summary}."[:300]
        case Keep(reason=reason):
            return "kept", reason


def _matched(bounces: Sequence[Bounce], send: Send | None) -> list[Bounce]:
    """The bounces, each tied to the send the VERP address names when the report does not
    name one; an unreadable report becomes a soft bounce of that send's recipient."""
    if send is None:
        return list(bounces)
    if not bounces:
        return [Bounce(send.to_email, "failed", "", "soft", UNREADABLE,
                       send_key=send.send_key)]
    return [b if b.send_key else replace(b, send_key=send.send_key) for b in bounces]


def _unsubscribe(work: Work, token: tuple[int, str] | None, seen: Envelope,
                 source: str) -> tuple[str, str]:
    """The token's contact, else the sender's own address if it is a contact's."""
    session = work.session
    contact = _token_contact(session, token)
    how = "by the token in its subject"
    if contact is None:
        contact, how = _sender_contact(session, seen.senders), "as its sender"
    if contact is None:
        return "kept", ("Mail to the unsubscribe address without a valid token, from an "
                        "address that is no contact's.")
    proof = Proof(method="mailto", page=f"{seen.key} from {seen.sender}"[:500],
                  user_agent=source)
    work.record(records.withdraw(session, contact, proof, work.now))
    return "unsubscribed", f"Unsubscribed {contact.email} {how}."[:300]


def _token_contact(session: Session, token: tuple[int, str] | None) -> Contact | None:
    if token is None:
        return None
    contact = lock_contacts(session, [token[0]]).get(token[0])
    # A token for an address the contact no longer has names nobody.
    return contact if contact is not None and contact.email_key == token[1] else None


def _senders_ids(session: Session, senders: Sequence[str]) -> dict[str, int]:
    keys = [email_key(s) for s in senders]
    rows = session.execute(select(Contact.email_key, Contact.id)
                           .where(Contact.email_key.in_(keys)))
    return {key: contact_id for key, contact_id in rows}


def _sender_contact(session: Session, senders: Sequence[str]) -> Contact | None:
    if not senders:
        return None
    ids = _senders_ids(session, senders)
    first = next((ids[email_key(s)] for s in senders if email_key(s) in ids), None)
    return None if first is None else lock_contacts(session, [first]).get(first)
