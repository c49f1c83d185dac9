"""Reading contacts for a use case's transaction."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from nurture.contacts.models import Contact


def lock_contacts(session: Session, ids: Iterable[int]) -> dict[int, Contact]:
    """Contact rows, locked in id order on PostgreSQL so that concurrent batches touching
    the same contact queue up instead of both spending its frequency cap."""
    query = select(Contact).where(Contact.id.in_(sorted(set(ids)))).order_by(Contact.id)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update()
    return {c.id: c for c in session.scalars(query)}
