"""Creating and updating contacts, one at a time or in bulk."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from nurture.consent.models import ConsentRecord
from nurture.contacts import language
from nurture.contacts.emails import EMAIL, MAX_EMAIL, email_key
from nurture.contacts.errors import ContactError
from nurture.contacts.models import Contact
from nurture.contacts.schemas import ContactFields
from nurture.contacts.stages import STAGES
from nurture.db import utcnow
from nurture.events.effects import CONTACT_FIELDS
from nurture.text import text_problem
from nurture.violations import Violation, from_pydantic

__all__ = ["EMAIL", "MAX_EMAIL", "clean", "email_key", "upsert_contacts"]


def _sentence(violation: Violation) -> str:
    return f"The {violation.field.replace('_', ' ')} is not valid: " \
        f"{violation.message[:1].lower()}{violation.message[1:]}"


def clean(data: Mapping[str, Any]) -> dict[str, Any]:
    email = str(data.get("email") or "").strip()
    if len(email) > MAX_EMAIL or not EMAIL.match(email) or text_problem(email):
        raise ContactError(f"The email address {email[:80]!r} is not valid.")
    row: dict[str, Any] = {"email": email, "email_key": email_key(email)}
    for name in CONTACT_FIELDS:
        if data.get(name) not in (None, ""):
            row[name] = data[name]
    if "company_size" in row:
        try:
            row["company_size"] = int(row["company_size"])
        except (TypeError, ValueError):
            raise ContactError("The company size must be a whole number.") from None
    try:
        ContactFields.model_validate({name: row[name] for name in CONTACT_FIELDS
                                      if name in row})
    except ValidationError as exc:
        raise ContactError(_sentence(from_pydantic(exc)[0])) from None
    if "language" in row:
        row["language"] = language.standard_tag(row["language"])
        if row["language"] is None:
            raise ContactError(language.problem(data["language"]))
    stage = data.get("stage") or "learn"
    if stage not in STAGES:
        raise ContactError(f"The stage {stage!r} is unknown; stages are {', '.join(STAGES)}.")
    row["stage"] = stage
    row["attributes"] = dict(data.get("attributes") or {})
    if "consent_marketing" in data:  # absent means "unchanged", never "withdrawn"
        row["consent_marketing"] = bool(data["consent_marketing"])
        row["consent_source"] = str(data.get("consent_source") or "import")[:200]
    return row


def upsert_contacts(session: Session, items: Iterable[Mapping[str, Any]]) -> dict[str, int]:
    """Create contacts that are new (by case-insensitive email) and update the others.
    Returns contact ids by email key."""
    rows = [clean(item) for item in items]
    keys = [r["email_key"] for r in rows]
    existing = {c.email_key: c for c in session.scalars(
        select(Contact).where(Contact.email_key.in_(keys)))}
    consent_changes: list[tuple[Contact, bool, str]] = []
    for row in rows:
        contact = existing.get(row["email_key"])
        was = None if contact is None else contact.consent_marketing
        if contact is None:
            contact = Contact(**row)
            session.add(contact)
            existing[row["email_key"]] = contact
        else:
            for name, value in row.items():
                if name not in ("stage", "attributes", "email_key"):
                    setattr(contact, name, value)
            contact.attributes = {**(contact.attributes or {}), **row["attributes"]}
        given = row.get("consent_marketing")
        if given is not None and given != bool(was):
            consent_changes.append((contact, given, row["consent_source"]))
    session.flush()
    _record_consent(session, consent_changes)
    return {key: contact.id for key, contact in existing.items()}


def _record_consent(session: Session, changes: list[tuple[Contact, bool, str]]) -> None:
    """Consent stated by an import or API call is kept with its source as proof."""
    now = utcnow()
    for contact, given, source in changes:
        if given:
            contact.consent_at = contact.consent_at or now
        session.add(ConsentRecord(contact_id=contact.id, method=source, at=now,
                                  action="confirmed" if given else "withdrawn"))
