"""The home page's figures: what email and trials did per day over a period, and what is
waiting now (contacts in journeys, hand-offs nobody has accepted, trials ending this week).

Days are UTC calendar days, grouped by the database (`date()` on both SQLite and
PostgreSQL), so a year of sends is a few hundred rows back, not a row per email. Opens and
clicks flagged as machine traffic (privacy proxies, link scanners) are left out, as the
email report leaves them out. Events pruned from the log (`nurture.events.retention`) are
counted in `event_rollups`: each day adds both, so a long chart keeps its totals.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import func, select

from journeys.models import Enrollment
from nurture.db import Database
from nurture.events.models import Event, EventRollup
from nurture.sending.models import Send
from nurture.trials.models import Trial
from scoring.models import Handoff

# The series in the order the chart stacks them, and the event that counts each.
EVENTS = {"email.opened": "opened", "email.clicked": "clicked",
          "email.unsubscribed": "unsubscribed", "email.bounced": "bounced",
          "trial.started": "trials"}
MACHINE_FILTERED = ("email.opened", "email.clicked")
SERIES = ("sent", "opened", "clicked", "unsubscribed", "bounced", "trials")


@dataclass(frozen=True)
class Day:
    day: date
    sent: int = 0
    opened: int = 0  # by people
    clicked: int = 0  # by people
    unsubscribed: int = 0
    bounced: int = 0
    trials: int = 0  # trials started


@dataclass(frozen=True)
class Waiting:
    active_journeys: int  # journeys with a contact in them now
    active_contacts: int  # contacts in a journey now
    handoffs_waiting: int  # hand-offs not accepted or rejected yet
    trials_ending: int  # active trials whose end falls in the next seven days


def _day(value: object) -> date:
    # SQLite gives "2026-03-01", PostgreSQL a date.
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def daily(db: Database, now: datetime, days: int) -> list[Day]:
    """One Day per calendar day (UTC) of the last `days` days, today included, zeros kept
    so a quiet day shows as a gap in the chart and not as a missing column."""
    first = now.date() - timedelta(days=days - 1)
    since = datetime.combine(first, datetime.min.time(), tzinfo=now.tzinfo)
    counts: dict[date, dict[str, int]] = {}
    with db.sessions() as session:
        for day, n in session.execute(
                select(func.date(Send.sent_at), func.count())
                .where(Send.sent_at >= since, Send.status == "sent", Send.role == "contact")
                .group_by(func.date(Send.sent_at))):
            counts.setdefault(_day(day), {})["sent"] = n
        machine = func.coalesce(Event.properties["machine"].as_boolean(), False)
        for type_, day, n in session.execute(
                select(Event.type, func.date(Event.occurred_at), func.count())
                .where(Event.occurred_at >= since, Event.type.in_(tuple(EVENTS)),
                       (machine.is_(False)) | Event.type.not_in(MACHINE_FILTERED))
                .group_by(Event.type, func.date(Event.occurred_at))):
            counts.setdefault(_day(day), {})[EVENTS[type_]] = n
        for type_, day, n in session.execute(
                select(EventRollup.type, EventRollup.day, EventRollup.count)
                .where(EventRollup.day >= first, EventRollup.type.in_(tuple(EVENTS)),
                       EventRollup.machine.is_(False) | EventRollup.type.not_in(MACHINE_FILTERED))):
            day_counts = counts.setdefault(_day(day), {})
            day_counts[EVENTS[type_]] = day_counts.get(EVENTS[type_], 0) + n
    return [Day(first + timedelta(days=i), **counts.get(first + timedelta(days=i), {}))
            for i in range(days)]


def waiting(db: Database, now: datetime) -> Waiting:
    with db.sessions() as session:
        journeys, contacts = session.execute(
            select(func.count(func.distinct(Enrollment.journey_id)), func.count())
            .where(Enrollment.status == "active")).one()
        handoffs = session.scalar(select(func.count()).where(Handoff.status == "open"))
        ending = session.scalar(select(func.count()).where(
            Trial.status == "active", Trial.ends_at >= now,
            Trial.ends_at < now + timedelta(days=7)))
    return Waiting(journeys or 0, contacts or 0, handoffs or 0, ending or 0)
