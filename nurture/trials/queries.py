"""What the API reads about trials: a page of them with who signed up, and one trial's
usage (seats activated, each service's uses), from the events `lifecycle.record_usage`
records."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from nurture.contacts.models import Contact
from nurture.events.models import Event
from nurture.paging import Key, after, split
from nurture.trials.lifecycle import facts, seats_activated
from nurture.trials.models import Trial
from nurture.trials.rules import TrialFacts
from nurture.unit_of_work import Works


@dataclass(frozen=True)
class TrialRow:
    """A trial, who signed up for it, and when it started."""

    trial: TrialFacts
    contact_id: int
    email: str
    started_at: datetime


@dataclass(frozen=True)
class UsageSummary:
    seats_activated: int
    services: dict[str, tuple[int, datetime]]  # service -> (uses, last used at)


def _row(row: Trial, email: str) -> TrialRow:
    return TrialRow(facts(row), row.contact_id, email, row.started_at)


def trials_page(works: Works, status: str | None, last: Key | None, limit: int
                ) -> tuple[list[TrialRow], Key | None]:
    """A page of trials, newest first; only those in `status`, if given."""
    query: Any = select(Trial, Contact.email).join(Contact, Contact.id == Trial.contact_id)
    if status is not None:
        query = query.where(Trial.status == status)
    with works.sessions() as session:
        rows = session.execute(after(query, [Trial.id], last, limit, descending=True)).all()
        found = [_row(trial, email) for trial, email in rows]
    return split(found, limit, lambda r: [r.trial.id])


def trial_with_usage(works: Works, trial_id: int) -> tuple[TrialRow, UsageSummary] | None:
    """One trial and its usage; None when there is no such trial."""
    with works.sessions() as session:
        found = session.execute(select(Trial, Contact.email)
                                .join(Contact, Contact.id == Trial.contact_id)
                                .where(Trial.id == trial_id)).first()
        if found is None:
            return None
        trial, email = found
        uses: Counter[str] = Counter()
        latest: dict[str, datetime] = {}
        for properties, at in session.execute(
                select(Event.properties, Event.occurred_at)
                .where(Event.contact_id == trial.contact_id,
                       Event.type == "trial.service_used").order_by(Event.occurred_at)):
            if (properties or {}).get("trial_id") == trial_id:
                service = str(properties.get("service", ""))
                uses[service] += 1
                latest[service] = at
        summary = UsageSummary(seats_activated(session, trial.id, trial.contact_id),
                               {s: (n, latest[s]) for s, n in sorted(uses.items())})
        return _row(trial, email), summary
