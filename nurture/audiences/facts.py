"""Every fact a segment's condition may read, for contacts by id: the Python evaluator's
side of the SQL compiler (nurture.audiences.sql), chosen the same way as its subqueries."""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import select
from sqlalchemy.orm import Session

from journeys.facts import EventRecord, Facts
from journeys.repository import contact_facts
from nurture.audiences.facts_sql import NO_GRADE, OWNING
from nurture.contacts.models import Contact, ContactList, ListMember
from nurture.db import one_of
from nurture.events.models import Event
from nurture.trials.models import Trial
from nurture.users.models import User
from referral.models import Referral
from scoring.models import ContactScore, Handoff


def load(session: Session, ids: Collection[int]) -> dict[int, Facts]:
    """Facts for these contacts: their whole event history and what segments add."""
    ids = list(ids)
    if not ids:
        return {}
    rows = session.scalars(select(Contact).where(one_of(session, Contact.id, ids)))
    facts = {row.id: Facts(contact_facts(row), grade=NO_GRADE) for row in rows}
    for cid, type_, at, properties in session.execute(
            select(Event.contact_id, Event.type, Event.occurred_at, Event.properties)
            .where(one_of(session, Event.contact_id, ids))
            .order_by(Event.occurred_at, Event.id)):
        facts[cid].events.append(EventRecord(type_, at, properties or {}))
    for cid, grade in session.execute(select(ContactScore.contact_id, ContactScore.grade)
                                      .where(one_of(session, ContactScore.contact_id, ids))):
        facts[cid].grade = grade or NO_GRADE
    for cid, email in session.execute(
            select(Handoff.contact_id, User.email).join(User, Handoff.assigned_to == User.id)
            .where(one_of(session, Handoff.contact_id, ids), Handoff.status.in_(OWNING))
            .order_by(Handoff.created_at, Handoff.id)):
        facts[cid].owner = email or None  # the latest wins
    for cid, status in session.execute(
            select(Trial.contact_id, Trial.status).where(one_of(session, Trial.contact_id, ids))
            .order_by(Trial.started_at, Trial.id)):
        facts[cid].trial = {"status": status or None}
    for cid, status in session.execute(select(Referral.friend_id, Referral.status)
                                       .where(one_of(session, Referral.friend_id, ids))):
        facts[cid].referral = {"status": status or None}
    lists: dict[int, set[str]] = {}
    for cid, name in session.execute(
            select(ListMember.contact_id, ContactList.name)
            .join(ContactList, ContactList.id == ListMember.list_id)
            .where(one_of(session, ListMember.contact_id, ids))):
        lists.setdefault(cid, set()).add(name)
    for cid, names in lists.items():
        facts[cid].lists = frozenset(names)
    return facts
