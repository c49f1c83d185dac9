"""A change that the public sign-up form asked for on a contact we already know.

An anonymous form is unverified input: anyone can type anyone's address. So for an address
that already has a contact, the form changes nothing. What it submitted (the fields, the
services and seats, the technical contact, when, and where it came from) is kept on the
contact as `contacts.pending_change`, and a link to confirm it goes to the address already
on file, never to an address the form gave. The link is signed for this purpose only
(`signup`, seven days; built by the sending layer as `links.signup`) and names the email
that carried it, which the pending change records, so a newer sign-up, which replaces the
pending change, makes the older link useless, and so does using it.

Confirming applies the change as a `contact.updated` event (the stage, the account owner
and any other attribute stay as they are); what follows (a trial, when the rules allow one)
is `nurture.trials.confirmation`.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from nurture.contacts.models import Contact
from nurture.events.bus import NewEvent
from nurture.sending.models import Send
from nurture.tokens import TokenError, Tokens
from nurture.trials.errors import PendingError
from nurture.writes import insert_ignore

PURPOSE = "signup"
TEMPLATE = "signup-confirm"
SOURCE = "signup-confirmation"
DAILY_LINKS = 3  # confirmation emails a contact can be sent in 24 hours
# What the form may change once confirmed: fields of the contact, then attributes.
FIELDS = ("first_name", "last_name", "phone", "role", "company", "industry",
          "company_size", "country", "language", "timezone")
ATTRIBUTES = ("technical_contact", "technical_contact_name", "shipping_address")


@dataclass(frozen=True)
class Difference:
    """One stored value that confirming replaces: `name` is a field or an attribute."""

    name: str
    before: Any
    after: Any


def submitted(fields: Mapping[str, Any], attributes: Mapping[str, Any],
              trial: Mapping[str, Any], source: Mapping[str, Any], consent: bool,
              now: datetime) -> dict[str, Any]:
    """The pending change as stored: empty values are left out, as "not given"."""
    return {"at": now.isoformat(),
            "fields": {k: v for k, v in fields.items() if k in FIELDS and v not in (None, "")},
            "attributes": {k: v for k, v in attributes.items() if k in ATTRIBUTES},
            "trial": dict(trial), "source": dict(source), "marketing_consent": consent}


def differences(fields: Mapping[str, Any], attributes: Mapping[str, Any],
                pending: Mapping[str, Any]) -> list[Difference]:
    """What confirming `pending` would change, given the contact's stored `fields` and
    `attributes`. Pure; in the order of FIELDS then ATTRIBUTES."""
    wanted = pending.get("fields") or {}
    extra = pending.get("attributes") or {}
    changes = [Difference(name, fields.get(name), wanted[name]) for name in FIELDS
               if name in wanted and wanted[name] != fields.get(name)]
    changes += [Difference(name, attributes.get(name), extra[name]) for name in ATTRIBUTES
                if name in extra and extra[name] != attributes.get(name)
                and (extra[name] or attributes.get(name))]
    return changes


def sent_recently(session: Session, contact_id: int, now: datetime) -> int:
    """How many confirmation emails this contact was sent in the last 24 hours."""
    return session.scalar(select(func.count()).select_from(Send).where(
        Send.contact_id == contact_id, Send.template == TEMPLATE,
        Send.created_at > now - timedelta(days=1))) or 0


def store(session: Session, contact: Contact, change: Mapping[str, Any],
          now: datetime) -> int | None:
    """Keep `change` as the contact's pending change (replacing any older one, whose link
    stops working) and queue the link to confirm it to the address on file. The contact
    row is locked by the caller. Returns the send's id, or None when DAILY_LINKS were
    already sent today: then nothing is stored and the latest link stays the one."""
    if sent_recently(session, contact.id, now) >= DAILY_LINKS:
        return None
    nonce = secrets.token_urlsafe(16)
    ids = insert_ignore(session, Send, [{
        "send_key": f"{TEMPLATE}:{contact.id}:{nonce}", "contact_id": contact.id,
        "to_email": contact.email, "role": "contact", "template": TEMPLATE, "variant": "",
        "message_class": "transactional", "status": "queued", "created_at": now, "due_at": now,
    }], "send_key")
    if not ids:
        return None
    contact.pending_change = {**change, "id": nonce, "send": ids[0]}
    return ids[0]


def read(tokens: Tokens, token: str) -> tuple[int, str, int]:
    """The contact id, email key and confirmation email (send id) a link names; raises
    PendingError."""
    try:
        payload = tokens.load(PURPOSE, token)
    except TokenError as exc:
        raise PendingError(str(exc)) from None
    if not (isinstance(payload, list) and len(payload) == 3 and isinstance(payload[1], str)
            and all(isinstance(p, int) and not isinstance(p, bool) for p in payload[::2])):
        raise PendingError("This link is not valid.")
    return payload[0], payload[1], payload[2]


def find(session: Session, tokens: Tokens, token: str,
         lock: bool = False) -> tuple[Contact, dict[str, Any]]:
    """The contact and its pending change that a link names; raises PendingError when the
    link is bad, or when its change was replaced by a newer sign-up or already confirmed."""
    contact_id, key, send_id = read(tokens, token)
    query = select(Contact).where(Contact.id == contact_id)
    contact = session.scalar(query.with_for_update() if lock else query)
    pending = contact.pending_change if contact is not None else None
    if (contact is None or contact.email_key != key or not isinstance(pending, dict)
            or pending.get("send") != send_id):
        raise PendingError("This link was replaced by a newer sign-up, or it was already "
                           "used.")
    return contact, pending


def apply(contact: Contact, pending: Mapping[str, Any], now: datetime) -> list[NewEvent]:
    """Clear the pending change and return the `contact.updated` event that applies it
    (none when it changes nothing). The caller records it with the contact locked."""
    stored = {name: getattr(contact, name) for name in FIELDS}
    changes = differences(stored, contact.attributes or {}, pending)
    contact.pending_change = None
    if not changes:
        return []
    properties: dict[str, Any] = {c.name: c.after for c in changes if c.name in FIELDS}
    extra = {c.name: c.after for c in changes if c.name in ATTRIBUTES}
    if extra:
        properties["attributes"] = extra
    return [NewEvent(contact.id, "contact.updated", properties, now, SOURCE,
                     dedupe_key=f"{SOURCE}:{contact.id}:{pending.get('id', '')}")]
