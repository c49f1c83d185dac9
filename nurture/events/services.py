"""Recording events from the outside (CLI, web API): resolve the contact, record, kick."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import select

from nurture.contacts.models import Contact
from nurture.contacts.services import email_key
from nurture.events.bus import NewEvent
from nurture.events.errors import EventError
from nurture.text import text_problem
from nurture.unit_of_work import Works
from nurture.violations import Violation


def record_many(works: Works, events: list[NewEvent]) -> list[int]:
    """Record events in one transaction and wake whatever they set due."""
    now = works.now()
    with works.work(now) as work:
        result = work.record(events)
    return result.event_ids


def record_for_email(works: Works, email: str, event_type: str,
                     properties: Mapping[str, Any] | None = None, source: str = "api",
                     occurred_at: datetime | None = None) -> int:
    if (problem := text_problem(email)) is not None:
        raise EventError([Violation("email", problem)])
    with works.sessions() as session:
        contact_id = session.scalar(select(Contact.id).where(Contact.email_key == email_key(email)))
    if contact_id is None:
        raise EventError(f"There is no contact with the email address {email}.")
    ids = record_many(works, [NewEvent(contact_id, event_type, dict(properties or {}),
                                    occurred_at, source=source)])
    return ids[0] if ids else 0
