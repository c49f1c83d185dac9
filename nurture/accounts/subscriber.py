"""What accounts do with recorded events.

- `trial.converted` or `purchase.completed`: the buyer's account becomes a customer with a
  subscription, and the activation email is queued (`nurture.accounts.purchases`).
- `subscription.renewed`: the account's current subscription renews on the contact's new
  commitment date (the event's `commitment_ends_at`, else a year on).
- `contact.updated` with `account` (a company name) moves the contact to that account
  (found by name, or made); with `roles` (a list of ROLES), the contact holds exactly
  those roles on their account.

Registered first by the composition root, so that the journeys see the commitment date
the subscription fixed.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from nurture.accounts import companies, purchases
from nurture.contacts.models import Contact
from nurture.events.bus import CreatedBatch, Reaction, RecordedBatch, RecordedEvent

PURCHASES = ("trial.converted", "purchase.completed")
HANDLED = ("contact.updated", "subscription.renewed")


@dataclass(frozen=True)
class AccountsSubscriber:
    commitment_months: int = 12

    def on_created(self, session: Session, batch: CreatedBatch) -> Reaction:
        """New contacts (the bulk path): no update, renewal or purchase to act on."""
        if not any(e.type in (*HANDLED, *PURCHASES) for e in batch.events):
            return Reaction()
        return self(session, batch.recorded())

    def __call__(self, session: Session, batch: RecordedBatch) -> Reaction:
        reaction = Reaction()
        for event in batch.of_type(*HANDLED, *PURCHASES):
            contact = batch.contacts.get(event.contact_id)
            if contact is None:
                continue
            if event.type == "contact.updated":
                if _update(session, contact, event):
                    reaction.changed.add(contact.id)
                continue
            if event.type == "subscription.renewed":
                purchases.renew(session, contact)
                continue
            sub = purchases.subscribe(session, contact, event, self.commitment_months)
            reaction.changed.add(contact.id)
            reaction.make_due("deliver_sends",
                              purchases.queue_activation(session, sub, batch.now))
        return reaction


def _update(session: Session, contact: Contact, event: RecordedEvent) -> bool:
    p = event.properties
    name, roles = p.get("account"), p.get("roles")
    if not isinstance(name, str) and not isinstance(roles, list):
        return False
    now = event.occurred_at
    account = companies.account_of(session, contact, now,
                                   name if isinstance(name, str) else "")
    if isinstance(roles, list):
        companies.set_roles(session, account.id, contact.id, [str(r) for r in roles], now)
    return True
