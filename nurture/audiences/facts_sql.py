"""What a segment reads beyond the contact row, as correlated subqueries over `contacts`:
the same facts `nurture.audiences.facts` loads for the Python evaluator, chosen the same way
(the latest trial, the latest NPS answer, the open or accepted hand-off's rep)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import case, func, select

from nurture.contacts.models import Contact, ContactList, ListMember
from nurture.events.models import Event
from nurture.trials.models import Trial
from nurture.users.models import User
from referral.models import Referral
from scoring.models import ContactScore, Handoff

NO_GRADE = "D"  # a contact not scored yet, as the scoring pages show it
OWNING = ("open", "accepted")  # a hand-off whose rep owns the lead


class Subqueries:
    def __init__(self, dialect: str):
        self.dialect = dialect

    def language(self) -> Any:
        """The language alone, lower-case: `fr` for `fr-CH` (contacts.language.primary)."""
        tag = Contact.language
        first: Any
        if self.dialect == "postgresql":
            first = func.split_part(tag, "-", 1)
        else:
            dash = func.instr(tag, "-")
            first = case((dash > 0, func.substr(tag, 1, dash - 1)), else_=tag)
        return func.nullif(func.lower(first), "")

    def grade(self) -> Any:
        graded = (select(func.nullif(ContactScore.grade, ""))
                  .where(ContactScore.contact_id == Contact.id).correlate(Contact)
                  .scalar_subquery())
        return func.coalesce(graded, NO_GRADE)

    def owner(self) -> Any:
        return (select(User.email).join(Handoff, Handoff.assigned_to == User.id)
                .where(Handoff.contact_id == Contact.id, Handoff.status.in_(OWNING))
                .order_by(Handoff.created_at.desc(), Handoff.id.desc()).limit(1)
                .correlate(Contact).scalar_subquery())

    def trial_status(self) -> Any:
        return (select(func.nullif(Trial.status, "")).where(Trial.contact_id == Contact.id)
                .order_by(Trial.started_at.desc(), Trial.id.desc()).limit(1)
                .correlate(Contact).scalar_subquery())

    def referral_status(self) -> Any:
        return (select(func.nullif(Referral.status, ""))
                .where(Referral.friend_id == Contact.id).correlate(Contact).scalar_subquery())

    def latest_nps(self) -> Any:
        """The properties of the contact's latest `nps.answered` event (NULL: none)."""
        return (select(Event.properties)
                .where(Event.contact_id == Contact.id, Event.type == "nps.answered")
                .order_by(Event.occurred_at.desc(), Event.id.desc()).limit(1)
                .correlate(Contact).scalar_subquery())

    def list_members(self, name: str) -> Any:
        return (select(ListMember.contact_id)
                .join(ContactList, ContactList.id == ListMember.list_id)
                .where(ContactList.name == name))
