"""One contact's record for the people who run the email program: who they are, whether
they may get marketing email (consent, suppression), the journeys they are in, and what
was sent to them and why not. Answers "why didn't Ann get my email?".

Read in one session of its own: the page renders the rows after it has closed (they are
detached with their columns loaded; the models have no lazy relationships)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from journeys.models import Enrollment
from nurture.accounts.queries import Overview
from nurture.accounts.queries import overview as account_overview
from nurture.consent.models import ConsentRecord, Suppression
from nurture.contacts.models import Contact
from nurture.contacts.services import email_key
from nurture.db import Database
from nurture.events.models import Event
from nurture.sending.models import Send

RECENT = 50  # sends and events shown


@dataclass
class ContactRecord:
    contact: Contact
    suppression: Suppression | None
    consent: list[ConsentRecord]
    enrollments: list[Enrollment]
    sends: list[Send]
    events: list[Event]
    account: Overview | None = None  # their company, roles and subscription


def contact_record(db: Database, email: str) -> ContactRecord | None:
    """The record of the contact with this address (any case), or None."""
    key = email_key(email)
    with db.sessions() as session:
        contact = session.scalar(select(Contact).where(Contact.email_key == key))
        if contact is None:
            return None

        def newest(model: Any, order: Any, limit: int = RECENT) -> list[Any]:
            return list(session.scalars(select(model).where(model.contact_id == contact.id)
                                        .order_by(order.desc(), model.id.desc()).limit(limit)))

        return ContactRecord(
            contact=contact,
            suppression=session.scalar(select(Suppression).where(Suppression.email_key == key)),
            consent=newest(ConsentRecord, ConsentRecord.at, 10),
            enrollments=newest(Enrollment, Enrollment.entered_at, 20),
            sends=newest(Send, Send.created_at),
            events=newest(Event, Event.occurred_at),
            account=account_overview(session, contact.id))
