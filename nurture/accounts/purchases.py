"""A purchase makes the account a customer, records its subscription and queues the
activation email, in the transaction that records the purchase.

The subscription's services come from the event, else from the trial that converted; its
commitment (NURTURE_COMMITMENT_MONTHS, 12 by default, or the event's) fixes `renews_at`,
which the contact's `attributes.commitment.ends_at` repeats for the renewal journey.
The activation email (seed 003) goes to the account's activation contact; with none, to
an administrator; with none, to the notices contact. Its send key names the subscription
and the reader, so it is sent once.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from nurture.accounts import companies
from nurture.accounts.models import Subscription
from nurture.accounts.terms import add_months
from nurture.contacts.models import Contact
from nurture.events.bus import RecordedEvent
from nurture.events.effects import merge_attributes
from nurture.moments import as_datetime
from nurture.sending.models import Send
from nurture.writes import insert_ignore

ACTIVATION_TEMPLATE = "activation"
# Who reads the activation email, in order: the first role someone holds (seed 003).
ACTIVATION_READERS = ("activation", "administrator", "notices")


def _whole(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 \
        else None


def subscribe(session: Session, contact: Contact, event: RecordedEvent,
              commitment_months: int) -> Subscription:
    """The account's subscription for this purchase (the converted trial's, when it has
    one already), the account a customer, and the contact's commitment date set."""
    p: Mapping[str, Any] = event.properties
    now = event.occurred_at
    account = companies.account_of(session, contact, now, str(p.get("account") or ""),
                                   status="customer")
    if not any(companies.roles_of(session, account.id).values()):
        companies.add_roles(session, account.id, contact.id, companies.SIGNER_ROLES, now)
    account.status = "customer"
    trial = (contact.attributes or {}).get("trial") or {}
    services = [str(s) for s in (p.get("services") or trial.get("services") or [])]
    seats = _whole(p.get("seats")) or _whole(trial.get("seats")) or 1
    months = _whole(p.get("commitment_months")) or commitment_months
    renews = as_datetime(p.get("commitment_ends_at")) or add_months(now, months)
    trial_id = _whole(p.get("trial_id"))
    sub = None
    if trial_id is not None:
        sub = session.scalars(select(Subscription).where(
            Subscription.account_id == account.id, Subscription.trial_id == trial_id)).first()
    if sub is None:
        sub = Subscription(account_id=account.id, trial_id=trial_id, created_at=now)
        session.add(sub)
    sub.services, sub.seats = list(dict.fromkeys(services)), seats
    sub.seat_limit = _whole(p.get("seat_limit")) or max(seats, sub.seat_limit or 0)
    sub.commitment_months, sub.status = months, "active"
    sub.started_at, sub.renews_at = now, renews
    if p.get("currency"):
        sub.currency = str(p["currency"])
    session.flush()
    contact.attributes = merge_attributes(contact.attributes or {}, {
        "commitment": {"ends_at": renews.isoformat(), "months": months},
        "subscription": {"id": sub.id, "services": sub.services, "seats": sub.seats,
                         "renews_at": renews.isoformat()}})
    return sub


def activation_readers(session: Session, account_id: int) -> list[Contact]:
    """Who the activation email goes to: the activation contacts, else the
    administrators, else the notices contacts (none when nobody holds any of them)."""
    held = companies.roles_of(session, account_id)
    for role in ACTIVATION_READERS:
        if held.get(role):
            found = {c.id: c for c in session.scalars(
                select(Contact).where(Contact.id.in_(held[role])))}
            return [found[i] for i in held[role] if i in found]
    return []


def queue_activation(session: Session, sub: Subscription, now: datetime) -> list[int]:
    """Queue the activation email for the subscription, once per reader; the new ids."""
    rows = [{"send_key": f"activation:{sub.id}:{reader.id}", "contact_id": reader.id,
             "to_email": reader.email, "role": "contact", "template": ACTIVATION_TEMPLATE,
             "variant": "", "message_class": "service", "status": "queued", "created_at": now,
             "due_at": now} for reader in activation_readers(session, sub.account_id)]
    return insert_ignore(session, Send, rows, "send_key")


def renew(session: Session, contact: Contact) -> None:
    """A renewal moved the contact's commitment date (`effects`): the account's current
    subscription renews on it too, so the two never disagree."""
    renews = as_datetime(((contact.attributes or {}).get("commitment") or {}).get("ends_at"))
    if contact.account_id is None or renews is None:
        return
    sub = session.scalars(select(Subscription).where(
        Subscription.account_id == contact.account_id, Subscription.status == "active")
        .order_by(Subscription.started_at.desc(), Subscription.id.desc()).limit(1)).first()
    if sub is not None:
        sub.renews_at = renews
