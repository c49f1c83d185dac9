"""Who owns a contact: the rep of its open or accepted hand-off (what the contact list's
`owner` filter and segments read). A marketer can name the owner from the contact page:
the hand-off that owns the lead moves to that person, or, when there is none, one is
opened for them, already accepted, so that it does not wait to be escalated.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from nurture.contacts.audit import Change
from nurture.errors import Invalid
from nurture.users.models import User
from scoring.models import Handoff
from scoring.queries import OPEN as OWNING  # the hand-offs whose rep owns the lead

OWNERS = ("sales", "marketer", "admin")


class UnknownOwner(Invalid):
    """Raised when the owner named is not an active member of the staff."""


def owner_of(session: Session, contact_id: int) -> str | None:
    """The email of the contact's owner, or None."""
    return session.scalar(
        select(User.email).join(Handoff, Handoff.assigned_to == User.id)
        .where(Handoff.contact_id == contact_id, Handoff.status.in_(OWNING))
        .order_by(Handoff.created_at.desc(), Handoff.id.desc()).limit(1))


def set_owner(session: Session, contact_id: int, email: str, by: str,
              now: datetime) -> list[Change]:
    """Make the user with this address the contact's owner; the change, if any."""
    email = email.strip().lower()
    user = session.scalar(select(User).where(User.email == email, User.active.is_(True),
                                             User.role.in_(OWNERS))) if email else None
    if user is None:
        raise UnknownOwner(f"{email[:80] or 'The owner'} is not an active user of the "
                           "console; choose one of the people listed.")
    handoff = session.scalar(
        select(Handoff).where(Handoff.contact_id == contact_id, Handoff.status.in_(OWNING))
        .order_by(Handoff.created_at.desc(), Handoff.id.desc()).limit(1))
    before = None
    if handoff is not None and handoff.assigned_to is not None:
        before = session.scalar(select(User.email).where(User.id == handoff.assigned_to))
    if before == user.email:
        return []
    if handoff is None:
        handoff = Handoff(contact_id=contact_id, trigger="manual", status="accepted",
                          reason=f"Owner named by {by} in the console"[:2000],
                          created_at=now, accepted_at=now)
        session.add(handoff)
    handoff.assigned_to, handoff.assigned_at = user.id, now
    session.flush()
    return [Change(contact_id, "owner", before, user.email)]


def owners(session: Session) -> list[str]:
    """The addresses an owner can be chosen from."""
    return list(session.scalars(select(User.email).where(
        User.active.is_(True), User.role.in_(OWNERS)).order_by(User.email)))


def owners_of(session: Session, contact_ids: list[int]) -> dict[int, str]:
    """`owner_of` for many contacts at once: the owner's email by contact id."""
    if not contact_ids:
        return {}
    found: dict[int, str] = {}
    for contact_id, email in session.execute(
            select(Handoff.contact_id, User.email).join(User, Handoff.assigned_to == User.id)
            .where(Handoff.contact_id.in_(contact_ids), Handoff.status.in_(OWNING))
            .order_by(Handoff.created_at.desc(), Handoff.id.desc())):
        found.setdefault(contact_id, email)
    return found
