"""A person edits a contact: its fields, its attributes and its stage, from the contact
page. Every change is kept in the audit trail (`audit`) with who made it and when.

Fields and attributes change through a `contact.updated` event, recorded in the same
transaction, so that whatever reacts to a changed contact (journeys on a condition,
segments, scoring) reacts to a person's edit as to an API call. The stage has no event of
its own: it is written with its history row (`stage_changes`), as the recorder writes it,
and the same event tells the subscribers that the contact changed.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import insert
from sqlalchemy.orm import Session

from nurture.contacts import audit, language
from nurture.contacts.errors import ContactError
from nurture.contacts.models import StageChange
from nurture.contacts.queries import lock_contacts
from nurture.contacts.schemas import ContactFields
from nurture.contacts.stages import STAGES
from nurture.errors import Conflict, NotFound
from nurture.events.bus import NewEvent
from nurture.events.effects import CONTACT_FIELDS
from nurture.text import MAX_DEPTH, depth, text_problem, value_problems
from nurture.unit_of_work import Works
from nurture.violations import Violation, from_pydantic

DEPARTED = "deprovisioned"
# Set by ending a customer's service (its notices, its retention), never by hand.
MANUAL_STAGES = tuple(s for s in STAGES if s != DEPARTED)
MAX_ATTRIBUTES = 32_000  # characters of JSON, as an event's properties
# A change a domain above makes in the same transaction (the owner: a rep's hand-off).
Also = Callable[[Session, datetime], list["audit.Change"]]


class StageRefused(Conflict):
    """Raised when the contact's stage cannot be changed by hand (a departed customer)."""


@dataclass(frozen=True)
class Edit:
    """What a person asked to change: fields (checked), the whole attributes object (None:
    unchanged) and the stage (None: unchanged)."""

    fields: dict[str, Any]
    attributes: dict[str, Any] | None = None
    stage: str | None = None


def stage_problem(stage: str) -> str | None:
    """Why `stage` cannot be set by hand, as a sentence; None when it can."""
    if stage == DEPARTED:
        return ("The stage deprovisioned is set by ending the customer's service, not by "
                "hand.")
    if stage not in STAGES:
        return f"The stage {stage[:40]!r} is unknown; stages are {', '.join(MANUAL_STAGES)}."
    return None


def parse(form: Mapping[str, str]) -> Edit:
    """The edit a form asks for; raises ContactError listing every field that is wrong."""
    found: list[Violation] = []
    fields: dict[str, Any] = {}
    for name in CONTACT_FIELDS:
        if name not in form:
            continue
        value = str(form[name]).strip()
        if (problem := text_problem(value)) is not None:
            found.append(Violation(name, problem))
        elif name == "company_size":
            if value and not (value.isascii() and value.isdigit() and len(value) <= 9):
                found.append(Violation(name, "The company size must be a whole number."))
            else:
                fields[name] = int(value) if value else None
        elif name == "language" and value:
            tag = language.standard_tag(value)
            if tag is None:
                found.append(Violation(name, language.problem(value)))
            fields[name] = tag or ""
        else:
            fields[name] = value
    try:
        ContactFields.model_validate({k: v for k, v in fields.items() if k != "language"})
    except ValidationError as exc:
        found += from_pydantic(exc)
    attributes = _attributes(form.get("attributes"), found) if "attributes" in form else None
    stage = str(form.get("stage") or "").strip() or None
    if stage is not None and (problem := stage_problem(stage)) is not None:
        found.append(Violation("stage", problem))
    if found:
        raise ContactError(found)
    return Edit(fields, attributes, stage)


def _attributes(text: str | None, found: list[Violation]) -> dict[str, Any] | None:
    text = (text or "").strip() or "{}"
    if len(text) > MAX_ATTRIBUTES:
        found.append(Violation("attributes", f"The attributes are longer than "
                                             f"{MAX_ATTRIBUTES:,} characters."))
        return None
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        found.append(Violation("attributes", 'The attributes must be a JSON object, like '
                                             '{"plan": "gold"}.'))
        return None
    if not isinstance(value, dict):
        found.append(Violation("attributes", 'The attributes must be a JSON object, like '
                                             '{"plan": "gold"}.'))
        return None
    if depth(value) > MAX_DEPTH:
        found.append(Violation("attributes", f"The attributes nest deeper than {MAX_DEPTH} "
                                             "levels."))
        return None
    for path, problem in value_problems(value):
        found.append(Violation(f"attributes.{path}" if path else "attributes", problem))
    return value


def apply(works: Works, contact_id: int, edit: Edit, by: str,
          also: Also | None = None, source: str = "console") -> list[audit.Change]:
    """Make the edit, in one transaction, as `by` (the user's email), with what `also`
    changes; returns the changes made (none when the form changed nothing). `source`:
    where the edit came from, for the `contact.updated` event ("console", "api")."""
    now = works.now()
    with works.work(now) as work:
        session = work.session
        contact = lock_contacts(session, [contact_id]).get(contact_id)
        if contact is None:
            raise NotFound("This contact no longer exists; it may have been erased.")
        changes = [audit.Change(contact_id, name, getattr(contact, name), value)
                   for name, value in edit.fields.items() if getattr(contact, name) != value]
        properties: dict[str, Any] = {c.field: c.new for c in changes}
        if edit.attributes is not None:
            current = dict(contact.attributes or {})
            touched = sorted(set(current) | set(edit.attributes))
            moved = [audit.Change(contact_id, f"attributes.{key}", current.get(key),
                                  edit.attributes.get(key)) for key in touched
                     if audit.shown(current.get(key)) != audit.shown(edit.attributes.get(key))]
            changes += moved
            if moved:
                # Removed keys go from the row itself; the event names what is now set.
                contact.attributes = dict(edit.attributes)
                properties["attributes"] = {key: edit.attributes[key] for key in
                                            (c.field.split(".", 1)[1] for c in moved)
                                            if key in edit.attributes}
        if edit.stage is not None and edit.stage != contact.stage:
            if contact.stage == DEPARTED:
                raise StageRefused("This customer's service has ended; their stage changes "
                                   "only with a new trial or purchase.")
            changes.append(audit.Change(contact_id, "stage", contact.stage, edit.stage))
            session.execute(insert(StageChange), [{
                "contact_id": contact_id, "from_stage": contact.stage, "to_stage": edit.stage,
                "at": now, "cause": f"edited by {by}"[:2000]}])
            contact.stage = edit.stage
        changes += also(session, now) if also is not None else []
        if not changes:
            return []
        session.flush()
        # Even an owner alone is a change the subscribers may want to look at again.
        work.record([NewEvent(contact_id, "contact.updated", properties, now,
                              source=source)])
        audit.record(session, changes, by, now)
        return changes
