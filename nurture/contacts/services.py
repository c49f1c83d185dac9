"""Creating and updating contacts, one at a time or in bulk."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from journeys.definition import STAGES
from nurture.contacts.models import Contact
from nurture.events.effects import CONTACT_FIELDS

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class ContactError(ValueError):
    """Raised when contact data is not acceptable (bad email, unknown stage...)."""


def email_key(email: str) -> str:
    return email.strip().lower()


def clean(data: Mapping[str, Any]) -> dict[str, Any]:
    email = str(data.get("email") or "").strip()
    if not EMAIL.match(email):
        raise ContactError(f"The email address {email!r} is not valid.")
    row: dict[str, Any] = {"email": email, "email_key": email_key(email)}
    for name in CONTACT_FIELDS:
        if data.get(name) not in (None, ""):
            row[name] = data[name]
    if "company_size" in row:
        try:
            row["company_size"] = int(row["company_size"])
        except (TypeError, ValueError):
            raise ContactError("The company size must be a whole number.") from None
    stage = data.get("stage") or "learn"
    if stage not in STAGES:
        raise ContactError(f"The stage {stage!r} is unknown; stages are {', '.join(STAGES)}.")
    row["stage"] = stage
    row["attributes"] = dict(data.get("attributes") or {})
    row["consent_marketing"] = bool(data.get("consent_marketing", False))
    return row


def upsert_contacts(session: Session, items: Iterable[Mapping[str, Any]]) -> dict[str, int]:
    """Create contacts that are new (by case-insensitive email) and update the others.
    Returns contact ids by email key."""
    rows = [clean(item) for item in items]
    keys = [r["email_key"] for r in rows]
    existing = {c.email_key: c for c in session.scalars(
        select(Contact).where(Contact.email_key.in_(keys)))}
    for row in rows:
        contact = existing.get(row["email_key"])
        if contact is None:
            contact = Contact(**row)
            session.add(contact)
            existing[row["email_key"]] = contact
        else:
            for name, value in row.items():
                if name not in ("stage", "attributes", "email_key"):
                    setattr(contact, name, value)
            contact.attributes = {**(contact.attributes or {}), **row["attributes"]}
    session.flush()
    return {key: contact.id for key, contact in existing.items()}
