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
# What a contact without a row reads for each related fact.
DEFAULTS = {"grade": NO_GRADE, "owner": None, "trial": None, "referral": None, "nps": None}
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

    # The same facts as tables of (contact_id, value), one row per contact that has one:
    # a condition over one of them is answered for all contacts with two set operations
    # (`nurture.audiences.sql`, `_leaf`) rather than a subquery per contact.

    def related(self, fact: str) -> Any:
        if fact == "grade":
            return select(ContactScore.contact_id.label("contact_id"), func.coalesce(
                func.nullif(ContactScore.grade, ""), NO_GRADE).label("value")).subquery()
        if fact == "referral":
            return select(Referral.friend_id.label("contact_id"),
                          func.nullif(Referral.status, "").label("value")).subquery()
        if fact == "owner":
            return _latest(select(Handoff.contact_id.label("contact_id"),
                                  User.email.label("value"))
                           .join(User, Handoff.assigned_to == User.id)
                           .where(Handoff.status.in_(OWNING)),
                           Handoff.contact_id, Handoff.created_at, Handoff.id)
        if fact == "trial":
            return _latest(select(Trial.contact_id.label("contact_id"),
                                  func.nullif(Trial.status, "").label("value")),
                           Trial.contact_id, Trial.started_at, Trial.id)
        return _latest(select(Event.contact_id.label("contact_id"),
                              Event.properties.label("value"))
                       .where(Event.type == "nps.answered"),
                       Event.contact_id, Event.occurred_at, Event.id)

    def list_members(self, name: str) -> Any:
        return (select(ListMember.contact_id)
                .join(ContactList, ContactList.id == ListMember.list_id)
                .where(ContactList.name == name))


def _latest(query: Any, contact: Any, at: Any, row_id: Any) -> Any:
    """Each contact's latest row of `query`, by `at` then id."""
    ranked = query.add_columns(func.row_number().over(
        partition_by=contact, order_by=(at.desc(), row_id.desc())).label("rank")).subquery()
    return (select(ranked.c.contact_id, ranked.c.value).where(ranked.c.rank == 1)
            .subquery())
