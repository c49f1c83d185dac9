"""What the contact page and the contact list do to contacts, for the views: edit one
(fields, attributes, stage and owner, kept in the audit trail), export everything stored
about one, erase one, and the bulk actions. The roof composes the floors here: the owner
is a rep's hand-off (scoring), and the privacy walk needs every table of the schema.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Table, select
from sqlalchemy.orm import Session

from nurture.app.runtime import Runtime
from nurture.audiences import bulk
from nurture.contacts import audit, editing, privacy
from nurture.contacts.models import Contact
from nurture.contacts.services import email_key
from nurture.errors import NotFound
from nurture.models import Base
from scoring.ownership import owners, set_owner


def tables() -> list[Table]:
    """Every table of the schema, parents first (`nurture.models` imports them all)."""
    return list(Base.metadata.sorted_tables)


def _contact_id(session: Session, email: str) -> int:
    found = session.scalar(select(Contact.id).where(Contact.email_key == email_key(email)))
    if found is None:
        raise NotFound(f"There is no contact with the address {email.strip()[:320]}.")
    return found


def staff(rt: Runtime) -> list[str]:
    """The people a contact's owner can be chosen from."""
    with rt.sessions() as session:
        return owners(session)


def edit(rt: Runtime, email: str, form: Mapping[str, str], by: str) -> list[audit.Change]:
    """Apply the contact page's form as `by`; ContactError lists what is wrong."""
    change = editing.parse(form)
    owner = str(form.get("owner") or "").strip()
    with rt.sessions() as session:
        contact_id = _contact_id(session, email)
    return edit_by_id(rt, contact_id, change, owner, by)


def edit_by_id(rt: Runtime, contact_id: int, change: editing.Edit, owner: str, by: str,
               source: str = "console") -> list[audit.Change]:
    """Make a checked edit of the contact, and name its owner ("": unchanged), as `by`."""

    def also(session: Session, now: datetime) -> list[audit.Change]:
        return set_owner(session, contact_id, owner, by, now) if owner else []

    return editing.apply(rt, contact_id, change, by, also, source)


def export(rt: Runtime, email: str) -> dict[str, Any]:
    """Everything stored about the contact, as one JSON-ready document."""
    with rt.sessions() as session:
        return privacy.export(session, tables(), _contact_id(session, email))


def export_by_id(rt: Runtime, contact_id: int) -> dict[str, Any]:
    """`export`, for the contact with this id; NotFound when there is none."""
    with rt.sessions() as session:
        document = privacy.export(session, tables(), contact_id)
    if not document:
        raise NotFound("There is no contact with this id.")
    return document


def erase(rt: Runtime, email: str, by: str) -> None:
    """Erase the contact: rows deleted or emptied, a hash kept on the suppression list."""
    now = rt.now()
    with rt.work(now) as work:
        contact_id = _contact_id(work.session, email)
        privacy.erase(work.session, tables(), [contact_id], f"erased by {by}"[:60], now)


def erase_by_id(rt: Runtime, contact_id: int, by: str) -> None:
    """`erase`, for the contact with this id; NotFound when there is none."""
    now = rt.now()
    with rt.work(now) as work:
        if not privacy.erase(work.session, tables(), [contact_id], f"erased by {by}"[:60],
                             now):
            raise NotFound("There is no contact with this id.")


def plan(rt: Runtime, selection: bulk.Selection, action: str, value: str) -> bulk.Plan:
    return bulk.plan(rt, rt.versions, rt.tokens, selection, action, value)


def run(rt: Runtime, selection: bulk.Selection, token: str, by: str) -> bulk.Done:
    return bulk.run(rt, rt.versions, rt.tokens, tables(), selection, token, by)


def journeys(rt: Runtime) -> list[str]:
    """The live journeys a bulk action can enroll contacts in, by id."""
    with rt.sessions() as session:
        return sorted(j.id for j in rt.versions.live(session).values())
