"""One contact's record for the people who run the email program: who they are, whether
they may get marketing email (consent, suppression), the journeys they are in, what was
sent to them and why not, their account, and the touches before their latest hand-off.
Answers "why didn't Ann get my email?".

Read in one session of its own: the page renders the rows after it has closed (they are
detached with their columns loaded; the models have no lazy relationships)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select

from journeys.models import Enrollment
from nurture.accounts.queries import Overview
from nurture.accounts.queries import overview as account_overview
from nurture.consent.models import ConsentRecord, Suppression
from nurture.contacts import audit
from nurture.contacts.models import Contact
from nurture.contacts.services import email_key
from nurture.db import Database
from nurture.events.models import Event
from nurture.events.touches import BEFORE_PURCHASE, Touches, touches
from nurture.sending.models import Send
from scoring.models import Handoff
from scoring.ownership import owner_of

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
    touches: Touches = field(default_factory=Touches)
    handoff_at: datetime | None = None  # the latest hand-off to sales
    touches_before_handoff: int = 0
    typical_touches: int = BEFORE_PURCHASE
    changes: list[audit.Entry] = field(default_factory=list)  # the audit trail, newest first
    owner: str | None = None  # the email of the rep who owns the lead


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

        handoff_at = session.scalar(select(Handoff.created_at).where(
            Handoff.contact_id == contact.id).order_by(Handoff.created_at.desc()).limit(1))
        return ContactRecord(
            touches=touches(session, contact.id), handoff_at=handoff_at,
            touches_before_handoff=touches(session, contact.id, handoff_at).total
            if handoff_at else 0,
            contact=contact,
            suppression=session.scalar(select(Suppression).where(Suppression.email_key == key)),
            consent=newest(ConsentRecord, ConsentRecord.at, 10),
            enrollments=newest(Enrollment, Enrollment.entered_at, 20),
            sends=newest(Send, Send.created_at),
            events=newest(Event, Event.occurred_at),
            account=account_overview(session, contact.id),
            changes=audit.trail(session, contact.id), owner=owner_of(session, contact.id))
