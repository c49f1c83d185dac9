"""What one contact of an API call gives, checked by the console's rules before anything is
written: the fields, the attributes and a stage that may be set by hand (`editing.parse`,
the contact page's own checks, so a value refused there is refused here with the same
sentence), and marketing consent only with its basis and date (`imports.options.checked`,
as an import requires). Every violation is listed, each with its field.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from nurture.contacts import editing
from nurture.contacts.emails import email_key, is_email
from nurture.contacts.errors import ContactError
from nurture.contacts.imports.errors import MappingError
from nurture.contacts.imports.options import checked
from nurture.events.effects import CONTACT_FIELDS
from nurture.text import text_problem
from nurture.violations import Violation


@dataclass(frozen=True)
class Consent:
    """How and when the person consented to marketing, as the caller states it."""

    basis: str
    at: datetime


@dataclass(frozen=True)
class Given:
    """One contact as a call gives it, checked: the fields it sets, the attributes it sets
    (None: removes), the stage (None: unchanged) and the consent it states."""

    email: str
    email_key: str
    fields: dict[str, Any]
    attributes: dict[str, Any]
    stage: str | None = None
    consent: Consent | None = None


def check(data: Mapping[str, Any], now: datetime) -> Given:
    """The item, checked by the console's rules; ContactError lists every violation."""
    found: list[Violation] = []
    email = str(data.get("email") or "").strip()
    if not is_email(email) or text_problem(email):
        found.append(Violation("email", f"The email address {email[:80]!r} is not valid; "
                                        "write it whole, like ann@example.com."))
    form = _form(data)
    attributes = dict(data.get("attributes") or {})
    kept = {k: v for k, v in attributes.items() if v is not None}
    if kept:
        form["attributes"] = json.dumps(kept)
    edit = editing.Edit({})
    try:
        edit = editing.parse(form)
    except ContactError as exc:
        found += exc.violations
    consent = None
    stated = data.get("consent")
    if stated is not None:
        try:
            options = checked("update", "", str(stated.get("basis") or ""), stated.get("at"),
                              False, now)
        except MappingError as exc:
            found.append(Violation("consent", str(exc)))
        else:
            if options.consented_at is not None:
                consent = Consent(options.consent_basis, options.consented_at)
    if found:
        raise ContactError(found)
    removed = {k: None for k, v in attributes.items() if v is None}
    return Given(email, email_key(email), edit.fields, {**(edit.attributes or {}), **removed},
                 edit.stage, consent)


def _form(data: Mapping[str, Any]) -> dict[str, str]:
    """The fields and the stage given, as the contact page's form would send them, so that
    they are checked by its rules (`editing.parse`)."""
    form = {name: str(data[name]) for name in CONTACT_FIELDS if data.get(name) is not None}
    if data.get("stage") is not None:
        form["stage"] = str(data["stage"])
    return form


def edit_of(data: Mapping[str, Any], attributes: Mapping[str, Any]) -> editing.Edit:
    """A change of one contact, checked as the contact page's form (ContactError lists
    what is wrong): the fields and stage given, and the `attributes` given merged into
    the contact's current ones (a key given as null is removed)."""
    form = _form(data)
    if data.get("attributes") is not None:
        merged = {**attributes, **data["attributes"]}
        form["attributes"] = json.dumps({k: v for k, v in merged.items() if v is not None})
    return editing.parse(form)
