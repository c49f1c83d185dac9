"""Consent and suppression rules. Callers pass a session and `now`; the events these return
are recorded by the caller in the same transaction (see `nurture.consent.services`)."""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import String, delete, func, select, update
from sqlalchemy.orm import Session

from nurture.consent.models import ERASED, ConsentRecord, Suppression
from nurture.contacts.models import Contact
from nurture.contacts.services import email_key
from nurture.db import one_of, rowcount
from nurture.events.bus import NewEvent
from nurture.sending.classes import ALWAYS_STOPS, MARKETING, MUST_RECEIVE_ONLY
from nurture.sending.models import Send
from nurture.writes import insert_ignore

# A stronger reason replaces a weaker one. A hard bounce or a complaint stops every class of
# mail; an unsubscribe (or an erasure's hash) only marketing (nurture/sending/classes.py).
STRENGTH = {"unsubscribed": 1, ERASED: 1, "complained": 2, "bounced": 3}
ERASED_PREFIX = "sha256:"
CONFIRM_TEMPLATE = "consent-confirm"


@dataclass(frozen=True)
class Proof:
    """How consent was given or withdrawn: the method and where it came from."""

    method: str
    page: str = ""
    ip: str = ""
    user_agent: str = ""


def erased_key(address: str) -> str:
    """What the suppression list keeps of an erased address: the SHA-256 of the address,
    normalized (trimmed, lower-cased), in hex."""
    return ERASED_PREFIX + hashlib.sha256(email_key(address).encode("utf-8")).hexdigest()


def suppressions(session: Session, addresses: Iterable[str]) -> dict[str, str]:
    """Suppression reason by lower-cased address, for the addresses that are suppressed,
    by their own entry or by the hash an erasure left."""
    keys = sorted({email_key(a) for a in addresses})
    if not keys:
        return {}
    hashed = {erased_key(k): k for k in keys}
    rows = session.execute(select(Suppression.email_key, Suppression.reason)
                           .where(one_of(session, Suppression.email_key, [*keys, *hashed])))
    found: dict[str, str] = {}
    for key, reason in rows:
        address = hashed.get(key, key)
        if address not in found or STRENGTH.get(reason, 0) > STRENGTH.get(found[address], 0):
            found[address] = reason
    return found


def erase(session: Session, addresses: Iterable[str], source: str, now: datetime) -> int:
    """Forget these addresses: their suppression entries give way to one entry each that
    keeps only the address's hash (reason `erased`, or a bounce or complaint it had), so
    that nothing is ever sent to them again without a new opt-in. Returns how many."""
    keys = sorted({email_key(a) for a in addresses})
    if not keys:
        return 0
    had = dict(session.execute(select(Suppression.email_key, Suppression.reason)
                               .where(one_of(session, Suppression.email_key, keys))).all())
    session.execute(delete(Suppression).where(one_of(session, Suppression.email_key, keys))
                    .execution_options(synchronize_session=False))
    insert_ignore(session, Suppression, [{
        "email_key": erased_key(k),
        "reason": had[k] if had.get(k) in ("bounced", "complained") else ERASED,
        "detail": "", "source": source[:60], "created_at": now} for k in keys], "email_key")
    return len(keys)


def suppress(session: Session, address: str, reason: str, detail: str, source: str,
             now: datetime) -> None:
    """Add an address to the suppression list, or strengthen the reason it is there."""
    key = email_key(address)
    current = session.scalar(select(Suppression).where(Suppression.email_key == key))
    if current is None:
        insert_ignore(session, Suppression, [{"email_key": key, "reason": reason,
                                              "detail": detail[:500], "source": source,
                                              "created_at": now}], "email_key")
    elif STRENGTH[reason] > STRENGTH[current.reason]:
        current.reason, current.detail, current.source = reason, detail[:500], source
    stop_queued(session, [key], reason)


def stop_queued(session: Session, keys: Collection[str], reason: str) -> int:
    """Skip every queued send to these (lower-cased) addresses at once, in one pass over
    the queued sends; the send-time check covers the rest. Marketing email only, unless
    the reason is a hard bounce or a complaint. Returns how many sends were stopped."""
    # Queued rows always have a due time.
    address = func.lower(Send.to_email, type_=String())
    statement = (update(Send).where(Send.due_at.is_not(None), Send.status == "queued",
                                    one_of(session, address, keys))
                 .values(status="skipped", reason=f"suppressed:{reason}", due_at=None,
                         lease_until=None))
    if reason not in ALWAYS_STOPS:
        statement = statement.where(Send.message_class == MARKETING)
    return rowcount(session.execute(statement.execution_options(synchronize_session=False)))


def request_opt_in(session: Session, contact: Contact, proof: Proof, now: datetime) -> int | None:
    """Record the request and queue the confirmation email (one per contact per day).
    Returns the new send's id, or None when one was already queued today."""
    _record(session, contact.id, "requested", proof, now)
    ids = insert_ignore(session, Send, [{
        "send_key": f"optin:{contact.id}:{now.date().isoformat()}", "contact_id": contact.id,
        "to_email": contact.email, "role": "contact", "template": CONFIRM_TEMPLATE,
        "variant": "", "message_class": "transactional", "status": "queued", "created_at": now,
        "due_at": now,
    }], "send_key")
    return ids[0] if ids else None


def confirm(session: Session, contact: Contact, proof: Proof, now: datetime) -> list[NewEvent]:
    """Double opt-in confirmed: consent with proof, and an unsubscribe (or an erasure's
    hash of the address) is lifted."""
    _record(session, contact.id, "confirmed", proof, now)
    session.execute(delete(Suppression).where(
        Suppression.email_key.in_([contact.email_key, erased_key(contact.email_key)]),
        Suppression.reason.in_(("unsubscribed", ERASED))))
    if contact.consent_marketing:
        return []
    contact.consent_marketing, contact.consent_at = True, now
    contact.consent_source = f"{proof.method} {proof.page}".strip()[:200]
    return [NewEvent(contact.id, "consent.given", {"method": proof.method}, now,
                     source=proof.method)]


def withdraw(session: Session, contact: Contact, proof: Proof, now: datetime) -> list[NewEvent]:
    """One-click withdrawal: no marketing email from now on, queued ones included."""
    _record(session, contact.id, "withdrawn", proof, now)
    suppress(session, contact.email, "unsubscribed", proof.page, proof.method, now)
    if not contact.consent_marketing:
        return []
    contact.consent_marketing = False
    return [NewEvent(contact.id, "email.unsubscribed", {"method": proof.method}, now,
                     source=proof.method),
            NewEvent(contact.id, "consent.withdrawn", {"method": proof.method}, now,
                     source=proof.method)]


def must_receive_only(session: Session, contact: Contact, chosen: bool, proof: Proof,
                      now: datetime) -> bool:
    """The preference-center choice "only what I must receive": no service and no
    marketing email, transactional mail only. Recorded with proof when it changes; the
    send-time check (nurture/sending/classes.py) applies it. Returns whether it changed."""
    if (contact.email_frequency == MUST_RECEIVE_ONLY) == chosen:
        return False
    _record(session, contact.id, MUST_RECEIVE_ONLY if chosen else "service_resumed", proof,
            now)
    contact.email_frequency = MUST_RECEIVE_ONLY if chosen else "normal"
    return True


def _record(session: Session, contact_id: int, action: str, proof: Proof,
            now: datetime) -> None:
    session.add(ConsentRecord(contact_id=contact_id, action=action, method=proof.method,
                              page=proof.page[:500], ip=proof.ip[:64],
                              user_agent=proof.user_agent[:400], at=now))
