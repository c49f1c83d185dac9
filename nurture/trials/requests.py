"""A customer who fills in the trial sign-up form: a request for the account owner, never a
second trial or a move back to `try`.

`trial.requested` records what was asked for (services, seats, where from) and keeps it on
the contact as `attributes.trial_request`; the account owner (`attributes.account_owner`,
else the customer-success address, as for the NPS detractor alert) hears of it by email, at
most once a day per customer, since the form is public and anyone can type the address.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.orm import Session

from nurture.contacts.models import Contact
from nurture.events.bus import NewEvent
from nurture.nps.services import NPSConfig, owner_address
from nurture.sending.models import Send
from nurture.writes import insert_ignore

EVENT = "trial.requested"
ALERT_TEMPLATE = "trial-requested-alert"


def requested(contact: Contact, services: Sequence[str], seats: int, landing: str,
              utm: dict[str, str], now: datetime, source: str) -> NewEvent:
    """The event; the same request twice on one day is one event."""
    wanted = sorted(set(services))
    return NewEvent(contact.id, EVENT, {
        "services": wanted, "seats": seats, "landing": landing, "utm": dict(utm),
        "confirmed": False}, now, source,
        dedupe_key=f"{EVENT}:{contact.id}:{now.date().isoformat()}:{','.join(wanted)}")


def alert_owner(session: Session, contact: Contact, config: NPSConfig,
                now: datetime) -> int | None:
    """Queue the owner's alert (one per customer per day). Returns its id, or None when
    one was already queued today."""
    ids = insert_ignore(session, Send, [{
        "send_key": f"{ALERT_TEMPLATE}:{contact.id}:{now.date().isoformat()}",
        "contact_id": contact.id, "to_email": owner_address(contact, config),
        "role": "account_owner", "template": ALERT_TEMPLATE, "variant": "",
        "message_class": "transactional", "status": "queued", "created_at": now, "due_at": now,
    }], "send_key")
    return ids[0] if ids else None
