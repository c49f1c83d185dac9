"""Bounce and complaint intake (DSN files, the JSON webhook): suppress, withdraw, record,
and mark the send each report is about (nurture/sending/feedback.py)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import select

from nurture.consent import records as consent
from nurture.consent.records import Proof
from nurture.contacts.models import Contact
from nurture.contacts.services import email_key
from nurture.events.bus import NewEvent
from nurture.sending import feedback
from nurture.sending.dsn import Bounce
from nurture.unit_of_work import Work, Works


@dataclass
class Intake:
    """What one intake recorded: counts by kind (plus `unknown`, addresses that are no
    contact of ours), and the journeys whose sends drew a hard bounce or a complaint."""

    counts: dict[str, int] = field(default_factory=dict)
    journeys: set[str] = field(default_factory=set)


def record_bounces(works: Works, bounces: Iterable[Bounce], source: str) -> dict[str, int]:
    """`record_feedback`'s counts."""
    return record_feedback(works, bounces, source).counts


def record_feedback(works: Works, bounces: Iterable[Bounce], source: str) -> Intake:
    """Apply bounces in one transaction. Hard bounces and complaints go on the suppression
    list (a complaint also withdraws consent) and are marked on their send; soft bounces
    are only recorded."""
    now = works.now()
    with works.work(now) as work:
        return apply_bounces(work, bounces, source)


def apply_bounces(work: Work, bounces: Iterable[Bounce], source: str) -> Intake:
    """`record_feedback` inside a unit of work the caller commits."""
    session, now = work.session, work.now
    counts, events, journeys = Counter[str](), [], set()
    for bounce in bounces:
        contact = session.scalar(select(Contact).where(
            Contact.email_key == email_key(bounce.recipient)))
        at = bounce.reported_at or now
        if bounce.kind == "hard":
            consent.suppress(session, bounce.recipient, "bounced",
                             f"{bounce.status} {bounce.diagnostic}".strip(), source, now)
        elif bounce.kind == "complaint":
            consent.suppress(session, bounce.recipient, "complained", bounce.diagnostic,
                             source, now)
            if contact is not None:
                consent.withdraw(session, contact, Proof(method=f"complaint:{source}"), now)
        if bounce.kind in ("hard", "complaint"):
            said = feedback.HARD_BOUNCE if bounce.kind == "hard" else feedback.COMPLAINT
            journey = feedback.attribute(session, said, bounce.recipient,
                                         None if contact is None else contact.id,
                                         bounce.send_key, at)
            if journey is not None:
                journeys.add(journey)
        counts[bounce.kind] += 1
        if contact is None:
            counts["unknown"] += 1
            continue
        kind = "email.complained" if bounce.kind == "complaint" else "email.bounced"
        properties = {"kind": bounce.kind, "status": bounce.status,
                      "diagnostic": bounce.diagnostic[:200], "send": bounce.send_key}
        events.append(NewEvent(contact.id, kind, properties, at, source=source))
    work.record(events)
    return Intake(dict(counts), journeys)
