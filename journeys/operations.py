"""What a marketer does to a journey from its page, beyond pausing (journeys/pausing.py):
see who is at a step, take one contact out, compare two versions; and enter one contact
(the API's enrollment, by the rules of the contact list's bulk action)."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import insert, or_, select, update
from sqlalchemy.orm import Session

from journeys.definition import Journey
from journeys.models import ACTIVE, Activity, Enrollment, JourneyVersion
from journeys.repository import VersionCache
from journeys.services import Entries
from nurture.contacts.models import Contact
from nurture.contacts.queries import lock_contacts
from nurture.db import rowcount
from nurture.errors import Conflict, NotFound

SHOWN = 100  # contacts listed at a step; the contact list searches the rest


@dataclass(frozen=True)
class AtStep:
    contact_id: int
    email: str
    version: int
    since: datetime
    next_run_at: datetime | None


def contacts_at(session: Session, journey_id: str, step_id: str) -> list[AtStep]:
    """The contacts active at a step now, the longest there first (the first SHOWN)."""
    rows = session.execute(
        select(Enrollment.contact_id, Contact.email, JourneyVersion.version,
               Enrollment.entered_at, Enrollment.next_run_at)
        .join(Contact, Contact.id == Enrollment.contact_id)
        .join(JourneyVersion, JourneyVersion.id == Enrollment.journey_version_id)
        .where(Enrollment.journey_id == journey_id, Enrollment.status.in_(ACTIVE),
               Enrollment.step_id == step_id)
        .order_by(Enrollment.entered_at, Enrollment.id).limit(SHOWN))
    return [AtStep(*row) for row in rows]


def take_out(session: Session, journey_id: str, contact_id: int, by: str,
             now: datetime) -> int:
    """End the contact's active enrollment in the journey, as exited "removed by BY"; its
    queued emails are not made any more (the engine makes none for an ended enrollment).
    Refused while a worker advances it: that worker would write its own end over ours."""
    found = session.execute(
        select(Enrollment.id, Enrollment.journey_version_id, Enrollment.step_id,
               Enrollment.lease_until)
        .where(Enrollment.journey_id == journey_id, Enrollment.contact_id == contact_id,
               Enrollment.status.in_(ACTIVE))).first()
    if found is None:
        raise NotFound("This contact is not in the journey any more: nothing was changed.")
    reason = f"removed by {by}"[:120]
    result = session.execute(
        update(Enrollment)
        .where(Enrollment.id == found.id, Enrollment.status.in_(ACTIVE),
               or_(Enrollment.lease_until.is_(None), Enrollment.lease_until < now))
        .values(status="exited", exit_reason=reason, ended_at=now, next_run_at=None,
                held_run_at=None, lease_until=None)
        .execution_options(synchronize_session=False))
    if not rowcount(result):
        raise Conflict("This contact is being moved along the journey right now; try again "
                       "in a minute.")
    session.execute(insert(Activity).values(
        enrollment_id=found.id, contact_id=contact_id,
        journey_version_id=found.journey_version_id, step_id=found.step_id, kind="exited",
        reason=reason, at=now))
    return found.id


def diff(session: Session, journey_id: str, old: int, new: int) -> list[str]:
    """The unified diff of two versions' YAML, line by line."""
    sources = {version: source for version, source in session.execute(
        select(JourneyVersion.version, JourneyVersion.source)
        .where(JourneyVersion.journey_id == journey_id,
               JourneyVersion.version.in_((old, new))))}
    missing = [str(v) for v in (old, new) if v not in sources]
    if missing:
        raise NotFound(f"The journey has no version {' or '.join(missing)}; choose two of "
                       "the versions listed.")
    return list(difflib.unified_diff(
        sources[old].splitlines(), sources[new].splitlines(),
        f"version {old}", f"version {new}", lineterm=""))


def enroll(session: Session, cache: VersionCache, journey_id: str, contact_id: int,
           now: datetime) -> tuple[Enrollment, list[int]]:
    """Enter one contact into a live journey now, by the rules its own triggers follow
    (`journeys.entry`: its audience, one active enrollment at a time, its re-entry policy),
    as the contact list's bulk action does; refused with a sentence otherwise. Returns the
    enrollment and the ids due at once (the caller makes them due)."""
    live = cache.live(session)
    journey = next((j for j in live.values() if j.id == journey_id), None)
    if journey is None:
        if session.scalar(select(JourneyVersion.id).where(
                JourneyVersion.journey_id == journey_id).limit(1)) is None:
            raise NotFound(f"No journey {journey_id[:120]!r} is published.")
        raise Conflict("This journey is retired: it takes no new contacts.")
    # The contact's row first, as recording an event takes it: two requests entering the
    # same contact queue up here, and the second sees the first's enrollment.
    facts = lock_contacts(session, [contact_id]).get(contact_id)
    if facts is None:
        raise NotFound(f"There is no contact with id {contact_id}.")
    if (journey.stages and facts.stage not in journey.stages) or (
            journey.vertical and (facts.industry or "").lower() != journey.vertical.lower()):
        raise Conflict("This contact is not in the journey's audience (its stages or "
                       "vertical), so it would not enter it: nothing was changed.")
    entries = Entries(session, live, now)
    entries.load_history([contact_id])
    entries.on_segment(journey, contact_id)
    if not entries.created:
        raise Conflict(_not_again(session, journey, contact_id))
    row = entries.created[0]
    return row, entries.flush()


def _not_again(session: Session, journey: Journey, contact_id: int) -> str:
    """Why the re-entry policy keeps the contact out, as a sentence."""
    history = session.execute(select(Enrollment.status, Enrollment.entered_at).where(
        Enrollment.journey_id == journey.id, Enrollment.contact_id == contact_id)).all()
    if any(status in ACTIVE for status, _ in history):
        return "This contact is in the journey already: nothing was changed."
    if journey.reentry.mode == "once" or journey.reentry.after is None:
        return ("This contact has been through the journey before, and the journey lets "
                "each contact enter only once: nothing was changed.")
    again = max(at for _, at in history) + journey.reentry.after
    return (f"This contact was in the journey recently; the journey lets them enter again "
            f"from {again:%Y-%m-%d %H:%M} UTC: nothing was changed.")
