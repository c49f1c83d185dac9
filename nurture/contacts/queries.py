"""Reading contacts: rows locked for a use case's transaction, and what the roof reads
about contacts, each call in a read session of its own (a contact by id or address, how
many contacts read each language).

A row returned from a session of its own is detached with its columns loaded (the models
have no lazy relationships), so a page may read it after the session has closed."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from nurture.contacts.language import primary
from nurture.contacts.models import Contact
from nurture.contacts.services import email_key
from nurture.db import Database, one_of


def lock_contacts(session: Session, ids: Iterable[int], *, reload: bool = False
                  ) -> dict[int, Contact]:
    """Contact rows, locked in id order on PostgreSQL so that concurrent batches touching
    the same contact queue up instead of both spending its frequency cap. `reload`: rows
    already in the session are read again (a set-based statement changed them)."""
    query = select(Contact).where(one_of(session, Contact.id, sorted(set(ids)))) \
        .order_by(Contact.id)
    if reload:
        query = query.execution_options(populate_existing=True)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update()
    return {c.id: c for c in session.scalars(query)}


def contact(db: Database, contact_id: int) -> Contact | None:
    """The contact with this id, or None."""
    with db.sessions() as session:
        return session.get(Contact, contact_id)


def contact_by_email(db: Database, email: str) -> Contact | None:
    """The contact with this address (any case), or None."""
    with db.sessions() as session:
        return session.scalar(select(Contact).where(Contact.email_key == email_key(email)))


def readers_by_language(db: Database) -> dict[str, int]:
    """How many contacts read each language, without its region (`fr-CH` counts for `fr`);
    contacts with no language stated are not counted."""
    readers: dict[str, int] = {}
    with db.sessions() as session:
        for tag, count in session.execute(select(Contact.language, func.count())
                                          .where(Contact.language != "")
                                          .group_by(Contact.language)):
            readers[primary(tag)] = readers.get(primary(tag), 0) + count
    return readers
