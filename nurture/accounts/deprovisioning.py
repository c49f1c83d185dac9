"""What accounts do with recorded events: a customer who left (`account.deprovisioned`,
from billing, the console or the CLI) has service and billing stopped together.

In the event's transaction the account is marked deprovisioned with its retention date,
its subscriptions end on the same day, the contact's `attributes.account` tells the notices
and journeys those dates and where to export the data, and every other contact of the
account follows with its own `account.deprovisioned` (the next round), so that all of them
leave the customer journeys and get the notice. The event's own effect moves the stage
(`nurture/events/effects.py`). Running twice changes nothing: a deprovisioned account keeps
its first dates.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from nurture.accounts.departure import DEPARTED_STAGE, SERVED, Departure, retention_until
from nurture.accounts.models import Account, Subscription
from nurture.config import DepartureSettings
from nurture.contacts.models import Contact
from nurture.events.bus import CreatedBatch, NewEvent, Reaction, RecordedBatch, RecordedEvent
from nurture.events.effects import merge_attributes
from nurture.moments import as_datetime

EVENT = "account.deprovisioned"


@dataclass(frozen=True)
class DeprovisionSubscriber:
    """Registered by the composition root, before the subscribers that read the stage."""

    settings: DepartureSettings

    def on_created(self, session: Session, batch: CreatedBatch) -> Reaction:
        """New contacts (the bulk path): no departure among them."""
        if not any(e.type == EVENT for e in batch.events):
            return Reaction()
        return self(session, batch.recorded())

    def __call__(self, session: Session, batch: RecordedBatch) -> Reaction:
        reaction = Reaction()
        for event in batch.of_type(EVENT):
            contact = batch.contacts.get(event.contact_id)
            if contact is None:
                continue
            departure = self._stop(session, contact, event)
            contact.attributes = merge_attributes(contact.attributes or {},
                                                  {"account": departure.attributes()})
            reaction.changed.add(contact.id)
            reaction.events.extend(_colleagues(session, contact, departure, event))
        return reaction

    def _stop(self, session: Session, contact: Contact, event: RecordedEvent) -> Departure:
        """Stop service and billing of the contact's account, once; its departure."""
        p = event.properties
        account = session.get(Account, contact.account_id, with_for_update=True) \
            if contact.account_id is not None else None
        if account is None:  # a customer known only by its contact: the company is recorded
            account = Account(name=contact.company or "",
                              domain=contact.email_key.rsplit("@", 1)[-1], status="customer",
                              created_at=event.occurred_at)
            session.add(account)
            session.flush()
            contact.account_id = account.id
        export_url = str(p.get("export_url") or self.settings.export_url or "")
        if account.status in SERVED or account.deprovisioned_at is None:
            stopped = as_datetime(p.get("ended_at")) or event.occurred_at
            account.status, account.deprovisioned_at = DEPARTED_STAGE, stopped
            account.retention_until = as_datetime(p.get("retention_until")) or \
                retention_until(stopped, self.settings.retention_days)
            session.execute(update(Subscription).where(
                Subscription.account_id == account.id, Subscription.ended_at.is_(None))
                .values(status="ended", ended_at=stopped)
                .execution_options(synchronize_session=False))
        until = account.retention_until or retention_until(
            account.deprovisioned_at, self.settings.retention_days)
        return Departure(account.id, account.deprovisioned_at, until, export_url)


def _colleagues(session: Session, contact: Contact, departure: Departure,
                event: RecordedEvent) -> list[NewEvent]:
    """The same departure for the account's other contacts still being served."""
    others = session.scalars(select(Contact.id).where(
        Contact.account_id == departure.account_id, Contact.id != contact.id,
        Contact.stage != DEPARTED_STAGE).order_by(Contact.id))
    properties: dict[str, Any] = {
        "account_id": departure.account_id, "reason": event.properties.get("reason") or "",
        "ended_at": departure.deprovisioned_at.isoformat(),
        "retention_until": departure.retention_until.isoformat(),
        "export_url": departure.export_url, "colleague_of": contact.id}
    return [NewEvent(cid, EVENT, properties, event.occurred_at, "accounts",
                     _key(departure.account_id, cid, departure.deprovisioned_at))
            for cid in others]


def _key(account_id: int, contact_id: int, stopped: datetime) -> str:
    return f"{EVENT}:{account_id}:{contact_id}:{stopped.isoformat()}"
