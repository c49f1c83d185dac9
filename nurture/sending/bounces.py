"""Bounce and complaint intake (DSN files, the JSON webhook): suppress, withdraw, record."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from sqlalchemy import select

from nurture.consent import records as consent
from nurture.consent.records import Proof
from nurture.contacts.models import Contact
from nurture.contacts.services import email_key
from nurture.events.bus import NewEvent
from nurture.sending.dsn import Bounce
from nurture.unit_of_work import Work, Works


def record_bounces(works: Works, bounces: Iterable[Bounce], source: str) -> dict[str, int]:
    """Apply bounces in one transaction. Hard bounces and complaints go on the suppression
    list (a complaint also withdraws consent); soft bounces are only recorded. Returns
    counts by kind, plus `unknown` for addresses that are no contact of ours."""
    now = works.now()
    with works.work(now) as work:
        return apply_bounces(work, bounces, source)


def apply_bounces(work: Work, bounces: Iterable[Bounce], source: str) -> dict[str, int]:
    """`record_bounces` inside a unit of work the caller commits."""
    session, now, counts, events = work.session, work.now, Counter[str](), []
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
        counts[bounce.kind] += 1
        if contact is None:
            counts["unknown"] += 1
            continue
        kind = "email.complained" if bounce.kind == "complaint" else "email.bounced"
        properties = {"kind": bounce.kind, "status": bounce.status,
                      "diagnostic": bounce.diagnostic[:200], "send": bounce.send_key}
        events.append(NewEvent(contact.id, kind, properties, at, source=source))
    work.record(events)
    return dict(counts)
