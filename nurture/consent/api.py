"""Consent actions from the outside (web pages, CLI, API): one transaction each, events
recorded and journeys woken."""

from __future__ import annotations

from sqlalchemy import select

from nurture.consent import services
from nurture.consent.services import Proof
from nurture.contacts.models import Contact
from nurture.events.services import claim, record_events
from nurture.runtime import Runtime


def _apply(rt: Runtime, contact_id: int, action) -> bool:
    now = rt.clock.now()
    with rt.db.transaction() as session:
        contact = session.scalar(select(Contact).where(Contact.id == contact_id)
                                 .with_for_update())
        if contact is None:
            return False
        events = action(session, contact, now)
        kick = record_events(session, rt.versions, events, now).kick if events else []
        claim(session, kick, now, rt.lease)
    rt.kick("advance_enrollments", kick)
    return True


def withdraw(rt: Runtime, contact_id: int, proof: Proof) -> bool:
    return _apply(rt, contact_id, lambda s, c, now: services.withdraw(s, c, proof, now))


def confirm(rt: Runtime, contact_id: int, proof: Proof) -> bool:
    return _apply(rt, contact_id, lambda s, c, now: services.confirm(s, c, proof, now))


def set_preferences(rt: Runtime, contact_id: int, topics: list[str], frequency: str) -> bool:
    """Topics (empty: all) and frequency from the preference center, already validated."""

    def action(session, contact, now):
        contact.email_topics, contact.email_frequency = sorted(set(topics)), frequency
        return []

    return _apply(rt, contact_id, action)


def request_opt_in(rt: Runtime, contact_id: int, proof: Proof) -> bool:
    sent: list[int] = []

    def action(session, contact, now):
        send_id = services.request_opt_in(session, contact, proof, now)
        sent.extend([send_id] if send_id else [])
        return []

    found = _apply(rt, contact_id, action)
    rt.kick("deliver_sends", sent)
    return found
