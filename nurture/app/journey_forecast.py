"""Forecast a draft journey on a sample of real contacts: their recorded events of the last
N days and the capped emails live journeys sent them, read once; the replay itself is
`journeys.forecast` (pure), on copies. Nothing is written."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from journeys.facts import EventRecord
from journeys.forecast import Forecast, History, forecast
from journeys.repository import COUNTED, contact_facts
from nurture.app.journey_editing import checked, pacing
from nurture.app.runtime import Runtime
from nurture.contacts.models import Contact
from nurture.db import one_of
from nurture.errors import Invalid
from nurture.events.models import Event
from nurture.sending.classes import TRANSACTIONAL
from nurture.sending.models import Send

MAX_SAMPLE, MAX_DAYS = 2_000, 180


def forecast_draft(rt: Runtime, text: str, sample: int, days: int) -> Forecast:
    """The draft replayed on the `sample` contacts with the most recent events in the last
    `days` days."""
    if not 1 <= sample <= MAX_SAMPLE:
        raise Invalid(f"Forecast on between 1 and {MAX_SAMPLE:,} contacts.")
    if not 1 <= days <= MAX_DAYS:
        raise Invalid(f"Forecast on between 1 and {MAX_DAYS} days of history.")
    loaded = checked(rt, text)
    if loaded.journey is None:
        raise Invalid("The journey cannot be forecast until it is valid: line "
                      f"{loaded.violations[0].line}: {loaded.violations[0].message}")
    paced = pacing(rt)
    now = rt.clock.now()
    start = now - timedelta(days=days)
    with rt.db.sessions() as session:
        # The contacts most recently active, so the sample is of people who did something.
        ids = list(session.scalars(
            select(Event.contact_id).where(Event.occurred_at >= start,
                                           Event.contact_id.isnot(None))
            .group_by(Event.contact_id).order_by(func.max(Event.occurred_at).desc(),
                                                 Event.contact_id)
            .limit(sample)))
        contacts = {row.id: row for row in session.scalars(
            select(Contact).where(one_of(session, Contact.id, ids)))} if ids else {}
        events: dict[int, list] = {cid: [] for cid in contacts}
        for cid, type_, at, props in session.execute(
                select(Event.contact_id, Event.type, Event.occurred_at, Event.properties)
                .where(one_of(session, Event.contact_id, ids), Event.occurred_at >= start,
                       Event.occurred_at <= now).order_by(Event.occurred_at, Event.id)):
            events[cid].append((type_, at, props or {}))
        sends: dict[int, list] = {cid: [] for cid in contacts}
        for cid, at in session.execute(
                select(Send.contact_id, Send.created_at)
                .where(one_of(session, Send.contact_id, ids), Send.role == "contact",
                       Send.message_class != TRANSACTIONAL, Send.status.in_(COUNTED),
                       Send.created_at >= start - paced.window)):
            sends[cid].append(at)
        histories = [History(contact_facts(row), _records(events[cid]), tuple(sends[cid]))
                     for cid, row in sorted(contacts.items())]
    return forecast(loaded.journey, histories, start, days, paced)


def _records(rows: list) -> tuple[EventRecord, ...]:
    return tuple(EventRecord(type_, at, props) for type_, at, props in rows)
