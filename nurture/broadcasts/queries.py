"""What the console and the command line read of broadcasts: the list, one broadcast's
live progress, its A/B test and its report, each as plain values counted from the rows.

Attribution, decided here: opens, clicks and complaints are the broadcast's when they name
its sends (the tracking events carry the send's key; feedback is marked on the send).
Unsubscribes and trials started are the recipients' `email.unsubscribed` and
`trial.started` events within ATTRIBUTION after their send was handed over: the window
HubSpot and Mautic use for email influence, and one a marketer can check by hand.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from nurture.audiences import services as audiences
from nurture.broadcasts import plan as plans
from nurture.broadcasts.arms import CLICKED, OPENED, TestResult, hits, test_result
from nurture.broadcasts.models import WAITING, Broadcast
from nurture.broadcasts.services import get
from nurture.contacts import lists
from nurture.db import Database
from nurture.events.models import Event
from nurture.paging import Key, after, split
from nurture.sending import pauses
from nurture.sending.feedback import COMPLAINT, HARD_BOUNCE
from nurture.sending.models import Send

ATTRIBUTION = timedelta(days=7)


@dataclass(frozen=True)
class Summary:
    id: int
    name: str
    audience: str
    status: str
    recipients: int
    created_at: datetime


@dataclass
class Progress:
    """Where the broadcast's sends are now, counted from the rows."""

    queued: int = 0
    waiting: int = 0  # the rest of an A/B test, for the winner
    paused: int = 0  # held by a pause
    deferred: int = 0  # over the frequency cap or in quiet hours, due later
    sending: int = 0
    sent: int = 0
    failed: int = 0
    cancelled: int = 0
    skipped: dict[str, int] = field(default_factory=dict)  # by reason
    deferred_by: dict[str, int] = field(default_factory=dict)  # by reason

    @property
    def skipped_total(self) -> int:
        return sum(self.skipped.values())

    @property
    def pending(self) -> int:
        return self.queued + self.waiting + self.paused + self.deferred + self.sending

    def as_dict(self) -> dict[str, object]:
        return {"queued": self.queued, "waiting": self.waiting, "paused": self.paused,
                "deferred": self.deferred, "deferred_by": self.deferred_by,
                "sending": self.sending, "sent": self.sent, "failed": self.failed,
                "cancelled": self.cancelled, "skipped": self.skipped,
                "skipped_total": self.skipped_total, "pending": self.pending}


@dataclass(frozen=True)
class Report:
    sent: int
    delivered: int
    bounced: int
    opened_human: int
    opened_machine: int
    clicked: int
    unsubscribed: int
    complaints: int
    trials: int
    hours: list[dict[str, object]]  # {"hour": datetime, "sent", "opened", "clicked"}


def summaries(session: Session, limit: int = 200) -> list[Summary]:
    rows = session.scalars(select(Broadcast).order_by(Broadcast.id.desc()).limit(limit))
    return [Summary(r.id, r.name, f"{r.audience} {r.audience_name}", r.status, r.recipients,
                    r.created_at) for r in rows]


def page(db: Database, last: Key | None, limit: int, status: str | None = None
         ) -> tuple[list[Summary], Key | None]:
    """Broadcasts oldest first, a keyset page at a time (the API's list)."""
    stmt = select(Broadcast)
    if status:
        stmt = stmt.where(Broadcast.status == status)
    with db.sessions() as session:
        rows = session.scalars(after(stmt, [Broadcast.id], last, limit)).all()
    found, key = split(rows, limit, lambda r: [r.id])
    return [Summary(r.id, r.name, f"{r.audience} {r.audience_name}", r.status, r.recipients,
                    r.created_at) for r in found], key


def progress(session: Session, broadcast_id: int) -> Progress:
    found = Progress()
    for status, reason, due, count in session.execute(
            select(Send.status, Send.reason, Send.due_at.is_(None), func.count())
            .where(Send.broadcast_id == broadcast_id)
            .group_by(Send.status, Send.reason, Send.due_at.is_(None))):
        reason = reason or ""
        if status == "queued" and due:
            found.paused += count
        elif status == "queued" and reason.startswith(plans.DEFERRED):
            found.deferred += count
            found.deferred_by[reason] = found.deferred_by.get(reason, 0) + count
        elif status == "skipped":
            found.skipped[reason] = found.skipped.get(reason, 0) + count
        elif status == WAITING:
            found.waiting += count
        elif status in ("queued", "sending", "sent", "failed", "cancelled"):
            setattr(found, status, getattr(found, status) + count)
    return found


def _after_send(session: Session, broadcast_id: int, kind: str) -> int:
    """Recipients with an event of `kind` within ATTRIBUTION after their send went. The
    window is applied here: date arithmetic differs between SQLite and PostgreSQL, and the
    rows are only the recipients who had such an event since."""
    found = set()
    for contact_id, sent_at, at in session.execute(
            select(Send.contact_id, Send.sent_at, Event.occurred_at)
            .join(Event, and_(Event.contact_id == Send.contact_id, Event.type == kind,
                              Event.occurred_at >= Send.sent_at))
            .where(Send.broadcast_id == broadcast_id, Send.status == "sent")):
        if sent_at is not None and at < sent_at + ATTRIBUTION:
            found.add(contact_id)
    return len(found)


def report(session: Session, broadcast_id: int) -> Report:
    sent, bounced, complaints = session.execute(
        select(func.count(), func.count().filter(Send.feedback == HARD_BOUNCE),
               func.count().filter(Send.feedback == COMPLAINT))
        .where(Send.broadcast_id == broadcast_id, Send.status == "sent")).one()
    hard = int(session.scalar(select(func.count()).where(
        Send.broadcast_id == broadcast_id, Send.status == "failed",
        Send.feedback == HARD_BOUNCE)) or 0)  # refused outright by the receiving server
    return Report(int(sent), int(sent) - int(bounced), int(bounced) + hard,
                  hits(session, broadcast_id, OPENED)[""],
                  hits(session, broadcast_id, OPENED, machine=True)[""],
                  hits(session, broadcast_id, CLICKED)[""],
                  _after_send(session, broadcast_id, "email.unsubscribed"), int(complaints),
                  _after_send(session, broadcast_id, "trial.started"),
                  _hours(session, broadcast_id))


def _hour_of(session: Session, column: Any) -> Any:
    """`column`'s hour as text, "YYYY-MM-DD HH" (UTC), bucketed by the database."""
    if session.get_bind().dialect.name == "postgresql":
        return func.to_char(func.timezone("UTC", column), "YYYY-MM-DD HH24")
    return func.substr(column, 1, 13)  # SQLite keeps UTC as "YYYY-MM-DD HH:MM:SS"


def _hours(session: Session, broadcast_id: int) -> list[dict[str, object]]:
    """Sends handed over, and sends first opened or clicked by a person, per hour, counted
    by the database (a broadcast of 100,000 reads a few dozen rows here)."""
    buckets: dict[str, Counter[str]] = {}
    sent_hour = _hour_of(session, Send.sent_at)
    for hour, count in session.execute(
            select(sent_hour, func.count()).where(Send.broadcast_id == broadcast_id,
                                                  Send.status == "sent",
                                                  Send.sent_at.is_not(None))
            .group_by(sent_hour)):
        buckets.setdefault(hour, Counter())["sent"] += count
    flag = func.coalesce(Event.properties["machine"].as_boolean(), False)
    first = (select(Event.type.label("type"), func.min(Event.occurred_at).label("at"))
             .join(Send, Send.send_key == Event.properties["send"].as_string())
             .where(Event.type.in_((OPENED, CLICKED)), Send.broadcast_id == broadcast_id,
                    flag.is_(False))
             .group_by(Event.type, Send.id).subquery())
    hit_hour = _hour_of(session, first.c.at)
    for kind, hour, count in session.execute(
            select(first.c.type, hit_hour, func.count()).group_by(first.c.type, hit_hour)):
        buckets.setdefault(hour, Counter())["opened" if kind == OPENED else "clicked"] += count
    return [{"hour": datetime.strptime(hour, "%Y-%m-%d %H").replace(tzinfo=UTC),
             "sent": c["sent"], "opened": c["opened"], "clicked": c["clicked"]}
            for hour, c in sorted(buckets.items())]


@dataclass(frozen=True)
class Detail:
    broadcast: Broadcast
    progress: Progress
    paused: str | None  # the pause's reason
    test: TestResult | None
    report: Report


def detail(session: Session, broadcast_id: int) -> Detail:
    row = get(session, broadcast_id)
    paused = pauses.reasons(session, pauses.BROADCAST).get(str(row.id))
    test = test_result(session, row) if len(row.templates) > 1 and row.sample_percent else None
    session.expunge(row)
    return Detail(row, progress(session, broadcast_id), paused, test,
                  report(session, broadcast_id))


# The console's calls: each in a session of its own.

def listed(db: Database) -> list[Summary]:
    with db.sessions() as session:
        return summaries(session)


def shown(db: Database, broadcast_id: int) -> Detail:
    with db.sessions() as session:
        return detail(session, broadcast_id)


def progress_of(db: Database, broadcast_id: int) -> Progress:
    with db.sessions() as session:
        get(session, broadcast_id)
        return progress(session, broadcast_id)


@dataclass(frozen=True)
class Choices:
    """What the new-broadcast form offers: segments and lists by name, templates."""

    segments: list[str]
    lists: list[str]
    templates: list[str]


def choices(db: Database, templates: list[str], now: datetime) -> Choices:
    """The names only: the form does not count every segment."""
    with db.sessions() as session:
        segments = [s.name for s in audiences.summaries(session, now, with_counts=False)]
        named = [item.name for item in lists.summaries(session)]
    return Choices(segments, named, templates)
