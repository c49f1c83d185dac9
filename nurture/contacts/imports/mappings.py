"""Mappings saved by name ("Trade-show scanner", "Old CRM export"), to reuse with the next
file of the same shape."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from nurture.contacts.imports.errors import ImportNotFound, MappingError
from nurture.contacts.imports.models import ImportMapping
from nurture.text import text_problem

MAX_NAME = 120


def save(session: Session, name: str, mapping: dict[str, str], by: str,
         now: datetime) -> None:
    """Save the mapping under `name`, replacing one saved before under it."""
    name = check_name(name)
    row = session.scalar(select(ImportMapping).where(ImportMapping.name == name))
    if row is None:
        session.add(ImportMapping(name=name, mapping=dict(mapping), created_by=by[:320],
                                  updated_at=now))
    else:
        row.mapping, row.updated_at = dict(mapping), now


def check_name(name: str) -> str:
    """The name trimmed; raises MappingError with a sentence when it cannot be one."""
    name = name.strip()
    if not name or len(name) > MAX_NAME:
        raise MappingError(f"A saved mapping needs a name of 1 to {MAX_NAME} characters.")
    if (problem := text_problem(name)) is not None:
        raise MappingError(problem)
    return name


def load(session: Session, name: str) -> dict[str, str]:
    found = session.scalar(select(ImportMapping.mapping)
                           .where(ImportMapping.name == name.strip()))
    if found is None:
        raise ImportNotFound(f"There is no saved mapping called {name.strip()[:120]!r}.")
    return dict(found)


def names(session: Session) -> list[str]:
    return list(session.scalars(select(ImportMapping.name).order_by(ImportMapping.name)))


def for_header(saved: dict[str, str], header: list[str]) -> dict[str, str]:
    """A saved mapping applied to a header: the columns this file has."""
    return {column: saved[column] for column in header if column in saved}
