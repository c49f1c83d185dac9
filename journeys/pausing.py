"""A paused journey, on the journey's side (the pause itself: nurture/sending/pauses.py).

While a journey is paused its contacts stay where they are: an enrollment has no run time
(`held_run_at` keeps the one it had), so no step runs and no new mail is made, of any class.
Sends already queued keep their course: marketing ones are held by the pause, service and
transactional ones go. An enrollment woken or entered while paused is held when it comes
up (`advance_batch`).

Resuming releases both. Held sends get a due time that honours the frequency cap and the
quiet hours in the contact's zone (`journeys.schedule`), counting the other sends released
to the same contact; held enrollments get their run time back, and their next send step is
paced by the engine as always.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from sqlalchemy import Row, func, select, update
from sqlalchemy.orm import Session

from journeys.models import ACTIVE, Enrollment, JourneyVersion
from journeys.repository import VersionCache
from journeys.schedule import Pacing, next_send_time, zone
from nurture.contacts.models import Contact
from nurture.db import one_of, rowcount
from nurture.sending import pauses
from nurture.sending.classes import MARKETING
from nurture.sending.models import Send


def hold(session: Session, journey_id: str) -> int:
    """Hold the journey's enrollments no worker holds (one being advanced now is held when
    it next comes up). Returns how many were held."""
    result = session.execute(
        update(Enrollment).where(Enrollment.journey_id == journey_id,
                                 Enrollment.status.in_(ACTIVE),
                                 Enrollment.next_run_at.is_not(None),
                                 Enrollment.lease_until.is_(None))
        .values(held_run_at=Enrollment.next_run_at, next_run_at=None)
        .execution_options(synchronize_session=False))
    return rowcount(result)


def hold_rows(session: Session, rows: list[Row]) -> None:
    """Hold enrollments met while advancing whose journey is paused."""
    for row in rows:
        session.execute(update(Enrollment).where(Enrollment.id == row.id)
                        .values(held_run_at=row.next_run_at, next_run_at=None,
                                lease_until=None)
                        .execution_options(synchronize_session=False))


def paused_journeys(session: Session) -> set[str]:
    return set(pauses.reasons(session, pauses.JOURNEY))


def release(session: Session, journey_id: str, now: datetime, pacing: Pacing) -> dict[str, int]:
    """Release a resumed journey's held sends, timed under the cap and quiet hours, and its
    held enrollments. Returns how many of each."""
    held = pauses.held(session, pauses.Source(pauses.JOURNEY, journey_id))
    contacts = {c.id: c.timezone for c in session.execute(
        select(Contact.id, Contact.timezone)
        .where(one_of(session, Contact.id, {s.contact_id for s in held})))}
    recent = _recent_marketing(session, set(contacts), now, pacing)
    due: dict[int, datetime] = {}
    for send in held:
        tz = zone(contacts.get(send.contact_id), pacing.default_tz)
        times = recent[send.contact_id]
        at, _ = next_send_time(max(send.held_due_at, now), tz, times, pacing)
        due[send.id] = at
        times.append(at)  # the next one released to this contact counts this one
    pauses.release(session, due)
    held_here = (Enrollment.journey_id == journey_id, Enrollment.held_run_at.is_not(None))
    result = session.execute(
        update(Enrollment).where(*held_here, Enrollment.status.in_(ACTIVE))
        .values(next_run_at=Enrollment.held_run_at, held_run_at=None)
        .execution_options(synchronize_session=False))
    # An exit goal reached while paused ended some: they stay ended.
    session.execute(update(Enrollment).where(*held_here).values(held_run_at=None)
                    .execution_options(synchronize_session=False))
    return {"sends": len(due), "enrollments": rowcount(result)}


def _recent_marketing(session: Session, contact_ids: set[int], now: datetime,
                      pacing: Pacing) -> defaultdict[int, list[datetime]]:
    """Each contact's marketing sends in the cap's window, sent or already due."""
    found: defaultdict[int, list[datetime]] = defaultdict(list)
    if not contact_ids:
        return found
    when = func.coalesce(Send.sent_at, Send.due_at)
    for contact_id, at in session.execute(
            select(Send.contact_id, when)
            .where(one_of(session, Send.contact_id, contact_ids),
                   Send.message_class == MARKETING, Send.status.in_(("sent", "queued")),
                   when > now - pacing.window)):
        if at is not None:
            found[contact_id].append(at)
    return found


def published(session: Session, journey_id: str) -> bool:
    return session.scalar(select(JourneyVersion.id)
                          .where(JourneyVersion.journey_id == journey_id).limit(1)) is not None


def owner(session: Session, cache: VersionCache, journey_id: str) -> str | None:
    """The owner named by the journey's newest version, if it names one."""
    version = session.scalar(select(JourneyVersion.id)
                             .where(JourneyVersion.journey_id == journey_id)
                             .order_by(JourneyVersion.version.desc()).limit(1))
    if version is None:
        return None
    journey = cache.get(session, [version]).get(version)
    return None if journey is None else journey.owner
