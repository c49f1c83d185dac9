"""Recording the visits the tracking script reports, only for contacts who agreed to
marketing and are not suppressed: a visit of anyone else is dropped and counted, never
stored (their consent covers the tracking, as it covers the emails that carried the id)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select

from nurture.consent.records import suppressions
from nurture.contacts.models import Contact
from nurture.db import one_of
from nurture.events.bus import NewEvent
from nurture.events.services import record_many
from nurture.unit_of_work import Works
from nurture.visits.pages import visit_properties

RECORDED, NO_CONSENT, SUPPRESSED, UNKNOWN = "recorded", "no-consent", "suppressed", "unknown"


@dataclass(frozen=True)
class Visit:
    """One page view a visitor's browser reported."""

    contact_id: int
    url: str
    title: str = ""
    referrer: str = ""


def record_visits(works: Works, visits: Sequence[Visit]) -> Counter[str]:
    """Record `page.visited` for the visits that may be kept, in one transaction; the count
    of visits by outcome (RECORDED, NO_CONSENT, SUPPRESSED, UNKNOWN)."""
    outcomes: Counter[str] = Counter()
    ids = sorted({v.contact_id for v in visits})
    with works.sessions() as session:
        rows = session.execute(select(Contact.id, Contact.email_key, Contact.consent_marketing)
                               .where(one_of(session, Contact.id, ids))).all()
        suppressed = suppressions(session, [key for _, key, _ in rows])
    why = {cid: (SUPPRESSED if key in suppressed else None if consent else NO_CONSENT)
           for cid, key, consent in rows}
    kept = []
    for visit in visits:
        reason = why.get(visit.contact_id, UNKNOWN)
        if reason is None:
            kept.append(NewEvent(visit.contact_id, "page.visited",
                                 visit_properties(visit.url, visit.title, visit.referrer),
                                 source="website"))
            reason = RECORDED
        outcomes[reason] += 1
    if kept:
        record_many(works, kept)
    return outcomes
