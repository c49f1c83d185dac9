"""Rows ↔ plain values for the journey engine: published versions and contact facts."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from types import SimpleNamespace
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from journeys.definition import Journey, with_classes
from journeys.facts import ContactFacts, EventRecord, Facts
from journeys.loader import load_text
from journeys.models import JourneyVersion
from nurture.contacts.models import Contact
from nurture.db import one_of
from nurture.events.models import Event
from nurture.sending.classes import MARKETING, TRANSACTIONAL
from nurture.sending.models import Send

COUNTED = ("queued", "sending", "sent")


def checksum(source: str) -> str:
    return hashlib.sha256(source.encode()).hexdigest()


def _marketing(template: str) -> str:
    return MARKETING


class VersionCache:
    """Parsed journey versions by row id. Versions are immutable, so they cache forever.
    Each send step's class is decided as a version is parsed: its own `class`, else its
    template's (`class_of`, the template store's; marketing when none is given)."""

    def __init__(self, class_of: Callable[[str], str] = _marketing) -> None:
        self._class_of = class_of
        self._parsed: dict[int, Journey] = {}
        self._lock = threading.Lock()

    def get(self, session: Session, ids: Iterable[int]) -> dict[int, Journey]:
        wanted = set(ids)
        missing = wanted - self._parsed.keys()
        if missing:
            rows = session.execute(
                select(JourneyVersion.id, JourneyVersion.source)
                .where(JourneyVersion.id.in_(missing))
            ).all()
            with self._lock:
                for row_id, source in rows:
                    loaded = load_text(source, f"version {row_id}")
                    if loaded.journey is None:  # published versions were valid when stored
                        raise ValueError(f"Journey version {row_id} no longer loads: "
                                         f"{loaded.violations[0]}")
                    self._parsed[row_id] = with_classes(loaded.journey, self._class_of)
        return {i: self._parsed[i] for i in wanted if i in self._parsed}

    def live(self, session: Session) -> dict[int, Journey]:
        """The newest non-retired version of every journey, by version row id."""
        rows = session.execute(
            select(JourneyVersion.id, JourneyVersion.journey_id, JourneyVersion.version,
                   JourneyVersion.retired)
        ).all()
        newest: dict[str, tuple[int, int, bool]] = {}
        for row_id, journey_id, version, retired in rows:
            if journey_id not in newest or version > newest[journey_id][1]:
                newest[journey_id] = (row_id, version, retired)
        live_ids = [row_id for row_id, _, retired in newest.values() if not retired]
        return self.get(session, live_ids)


def contact_facts(row: Contact | SimpleNamespace) -> ContactFacts:
    return ContactFacts(
        id=row.id, email=row.email, stage=row.stage, score=row.score,
        first_name=row.first_name, last_name=row.last_name, company=row.company,
        role=row.role, industry=row.industry, company_size=row.company_size,
        country=row.country, timezone=row.timezone, language=row.language or "",
        attributes=dict(row.attributes or {}),
    )


# What advancing reads of a contact (its facts, recipients, webhook payloads).
_ADVANCE_FIELDS = [Contact.__table__.c[name] for name in (
    "id", "email", "stage", "score", "first_name", "last_name", "company", "role",
    "industry", "company_size", "country", "timezone", "language", "attributes")]


def lock_contact_rows(session: Session, ids: Select) -> dict[int, SimpleNamespace]:
    """`lock_contacts` as plain objects, for advancing: loading ORM objects was a quarter
    of its time. The journey writer records what it changes on them and writes that back
    (`Batch.contact_changes`). `ids` is a query of contact ids, run in the same statement."""
    query = select(*_ADVANCE_FIELDS).where(Contact.id.in_(ids)).order_by(Contact.id)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(of=Contact)
    return {row.id: SimpleNamespace(**row._mapping) for row in session.execute(query)}


def load_facts(session: Session, contacts: dict[int, Any], history: frozenset[str],
               now: datetime, window: timedelta) -> dict[int, Facts]:
    """Facts for many contacts with two queries: their relevant events and recent sends."""
    facts = {cid: Facts(contact_facts(row)) for cid, row in contacts.items()}
    ids = list(facts)
    if history and ids:
        rows = session.execute(
            select(Event.contact_id, Event.type, Event.occurred_at, Event.properties)
            .where(one_of(session, Event.contact_id, ids), Event.type.in_(sorted(history)))
            .order_by(Event.occurred_at, Event.id)
        )
        for contact_id, type_, occurred_at, properties in rows:
            facts[contact_id].events.append(EventRecord(type_, occurred_at, properties or {}))
    if ids:
        rows = session.execute(
            select(Send.contact_id, Send.created_at)
            .where(one_of(session, Send.contact_id, ids), Send.message_class != TRANSACTIONAL,
                   Send.role == "contact", Send.status.in_(COUNTED),
                   Send.created_at > now - window)
        )
        for contact_id, created_at in rows:
            facts[contact_id].capped_sends.append(created_at)
    return facts
