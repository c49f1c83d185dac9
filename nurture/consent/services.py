"""Consent actions from the outside (web pages, CLI, API): one transaction each, events
recorded and journeys woken."""

from __future__ import annotations

from nurture.consent import records
from nurture.consent.records import Proof
from nurture.contacts.models import Contact
from nurture.contacts.queries import lock_contacts
from nurture.unit_of_work import Work, Works


def _apply(works: Works, contact_id: int, action) -> bool:
    now = works.now()
    with works.work(now) as work:
        session = work.session
        contact = lock_contacts(session, [contact_id]).get(contact_id)
        if contact is None:
            return False
        events = action(work, contact)
        work.record(events)
    return True


def withdraw(works: Works, contact_id: int, proof: Proof) -> bool:
    return _apply(works, contact_id, lambda w, c: records.withdraw(w.session, c, proof, w.now))


def confirm(works: Works, contact_id: int, proof: Proof) -> bool:
    return _apply(works, contact_id, lambda w, c: records.confirm(w.session, c, proof, w.now))


def set_preferences(works: Works, contact_id: int, topics: list[str], frequency: str) -> bool:
    """Topics (empty: all) and frequency from the preference center, already validated."""

    def action(work: Work, contact: Contact) -> list:
        contact.email_topics, contact.email_frequency = sorted(set(topics)), frequency
        return []

    return _apply(works, contact_id, action)


def must_receive_only(works: Works, contact_id: int, chosen: bool, proof: Proof) -> bool:
    """Choose (or leave) "only what I must receive", recorded with proof."""

    def action(work: Work, contact: Contact) -> list:
        records.must_receive_only(work.session, contact, chosen, proof, work.now)
        return []

    return _apply(works, contact_id, action)


def request_opt_in(works: Works, contact_id: int, proof: Proof) -> bool:
    def action(work: Work, contact: Contact) -> list:
        send_id = records.request_opt_in(work.session, contact, proof, work.now)
        work.due("deliver_sends", [send_id] if send_id else [])
        return []

    return _apply(works, contact_id, action)
