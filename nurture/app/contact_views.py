"""Contacts as the API shows them: the row with what the floors above know of it (its grade,
from scoring; its owner, the rep of its hand-off; whether its address is suppressed), one
contact or a page of the contact list, each read in one session, the extras of a page read
in one query each rather than per row.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from nurture.app.runtime import Runtime
from nurture.audiences import browse
from nurture.consent.records import suppressions
from nurture.contacts.models import Contact
from nurture.errors import NotFound
from nurture.events.models import Event
from nurture.paging import Key
from nurture.sending.queries import ContactSend, contact_sends
from scoring.models import ContactScore
from scoring.ownership import owners_of

OPENED, CLICKED = HITS = ("email.opened", "email.clicked")
NO_GRADE = "D"  # a contact scoring has not graded yet (as the score card says)


@dataclass(frozen=True)
class ContactView:
    contact: Contact  # detached, its columns loaded
    grade: str
    owner: str | None
    suppressed: str | None  # the suppression's reason, when the address is suppressed


def _views(session: Session, contacts: list[Contact]) -> list[ContactView]:
    ids = [c.id for c in contacts]
    grades = {cid: grade for cid, grade in session.execute(
        select(ContactScore.contact_id, ContactScore.grade)
        .where(ContactScore.contact_id.in_(ids)))}
    owners = owners_of(session, ids)
    held = suppressions(session, [c.email_key for c in contacts])
    return [ContactView(c, grades.get(c.id) or NO_GRADE, owners.get(c.id),
                        held.get(c.email_key)) for c in contacts]


def one(rt: Runtime, contact_id: int) -> ContactView:
    """The contact with this id; NotFound when there is none."""
    with rt.sessions() as session:
        contact = session.get(Contact, contact_id)
        if contact is None:
            raise NotFound("There is no contact with this id; it may have been erased.")
        return _views(session, [contact])[0]


def page(rt: Runtime, filters: browse.Filters, last: Key | None, limit: int
         ) -> tuple[list[ContactView], Key | None]:
    """A page of the contact list, by id, with the key to go on after."""
    with rt.sessions() as session:
        found, key = browse.keyset(session, filters, rt.now(), last, limit)
        return _views(session, found), key


@dataclass(frozen=True)
class SendView:
    send: ContactSend
    opens: int  # by a person, not a mail scanner (`machine` on the event)
    clicks: int


def sends(rt: Runtime, contact_id: int, last: Key | None, limit: int
          ) -> tuple[list[SendView], Key | None]:
    """A page of the contact's sends, newest first, with how often a person opened each
    and clicked in it; NotFound when there is no contact."""
    with rt.sessions() as session:
        if session.get(Contact, contact_id) is None:
            raise NotFound("There is no contact with this id; it may have been erased.")
        found, key = contact_sends(session, contact_id, last, limit)
        hits: Counter[tuple[str, str]] = Counter()
        if found:
            keys = {s.send_key for s in found}
            for type_, properties in session.execute(
                    select(Event.type, Event.properties).where(
                        Event.contact_id == contact_id, Event.type.in_(HITS),
                        Event.occurred_at >= min(s.created_at for s in found))):
                sent = (properties or {}).get("send")
                if sent in keys and not (properties or {}).get("machine"):
                    hits[(sent, type_)] += 1
        return [SendView(s, hits[(s.send_key, OPENED)], hits[(s.send_key, CLICKED)])
                for s in found], key
