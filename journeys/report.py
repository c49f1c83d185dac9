"""What the console shows of journeys: the list (status, version, topic, contacts active,
conversion to the goal, sends a day) and one journey's page (live counts on every step,
each send step's email figures, its versions with the contacts pinned to each).

Every count is an aggregate over the journey's rows found by an index: enrollments by
`ix_enrollments_journey`, the step log by `ix_activity_version_step`, sends by
`ix_sends_journey_sent`. A large journey's are measured once a minute by the scheduler
and read from its rollup (journeys/rollups.py).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import distinct, func, select
from sqlalchemy.orm import Session

from journeys.definition import Journey
from journeys.models import ACTIVE, Activity, ActivityRollup, Enrollment, JourneyVersion
from journeys.repository import VersionCache
from journeys.winners import arm_counts
from nurture.events.models import Event
from nurture.sending import pauses
from nurture.sending.feedback import HARD_BOUNCE
from nurture.sending.models import Send

GOAL = "goal:"  # the exit reason of a contact who reached one of the journey's exit goals
OPENED, CLICKED, UNSUBSCRIBED = "email.opened", "email.clicked", "email.unsubscribed"
UNSUBSCRIBE_WINDOW = timedelta(days=7)  # an unsubscribe this soon after an email is its
DAYS = 30


@dataclass(frozen=True)
class Listed:
    """A journey on the list."""

    id: str
    name: str
    version: int
    topic: str
    status: str  # live | paused | retired
    active: int
    entered: int
    converted: int
    has_goal: bool
    sends: list[tuple[date, int]]  # the last 30 days, oldest first, every day

    @property
    def conversion(self) -> float | None:
        return self.converted / self.entered if self.entered and self.has_goal else None


@dataclass
class StepCounts:
    entered: int = 0
    waiting: int = 0
    completed: int = 0
    exited: dict[str, int] = field(default_factory=dict)  # by reason
    converted: int = 0


@dataclass
class EmailCounts:
    sent: int = 0
    opened: int = 0  # by a person (machine opens left out), each email once
    clicked: int = 0
    unsubscribed: int = 0  # within a week of the email
    bounced: int = 0


@dataclass(frozen=True)
class VersionRow:
    id: int
    version: int
    published_at: datetime
    published_by: str | None
    note: str | None
    pinned: int  # contacts active on this version now
    retired: bool


@dataclass(frozen=True)
class Page:
    id: str
    journey: Journey  # the newest version's definition
    status: str
    paused: str | None  # the pause's reason
    versions: list[VersionRow]  # newest first
    figures: Figures

    @property
    def steps(self) -> dict[str, StepCounts]:
        return self.figures.steps

    @property
    def emails(self) -> dict[str, EmailCounts]:
        return self.figures.emails

    @property
    def entered(self) -> int:
        return self.figures.entered

    @property
    def converted(self) -> int:
        return self.figures.converted


def _day(column: Any) -> Any:
    return func.date(column)  # a date on PostgreSQL, 'YYYY-MM-DD' on SQLite


def _as_date(value: object) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def newest_versions(session: Session, only: Sequence[str] | None = None
                    ) -> dict[str, JourneyVersion]:
    """The newest version row of every journey (of those in `only`, if given)."""
    query = select(JourneyVersion).order_by(JourneyVersion.journey_id, JourneyVersion.version)
    if only is not None:
        query = query.where(JourneyVersion.journey_id.in_(list(only)))
    rows = session.scalars(query)
    return {row.journey_id: row for row in rows}


def _status(row: JourneyVersion, paused: dict[str, str]) -> str:
    return "retired" if row.retired else "paused" if row.journey_id in paused else "live"


def sends_per_day(session: Session, journey_ids: list[str] | None, now: datetime,
                  days: int = DAYS) -> dict[str, list[tuple[date, int]]]:
    """Emails sent a day, per journey, over the last `days` days (today included)."""
    start = (now - timedelta(days=days - 1)).date()
    query = (select(Send.journey_id, _day(Send.sent_at), func.count())
             .where(Send.journey_id.is_not(None),
                    Send.sent_at >= datetime.combine(start, datetime.min.time(), now.tzinfo))
             .group_by(Send.journey_id, _day(Send.sent_at)))
    if journey_ids is not None:
        query = query.where(Send.journey_id.in_(journey_ids))
    found: dict[str, dict[date, int]] = defaultdict(dict)
    for journey_id, day, count in session.execute(query):
        found[journey_id][_as_date(day)] = count
    calendar = [start + timedelta(days=i) for i in range(days)]
    return {j: [(d, found[j].get(d, 0)) for d in calendar]
            for j in (journey_ids if journey_ids is not None else found)}


def listing(session: Session, cache: VersionCache, now: datetime,
            rolled: dict[str, tuple[Figures, dict[str, Any]]] | None = None,
            only: Sequence[str] | None = None) -> list[Listed]:
    """Every published journey (those in `only`, if given: a page of the API's), by id;
    the large ones' counts from `rolled`, their fresh rollups (journeys/rollups.py), the
    others' counted now."""
    newest = newest_versions(session, only)
    rolled = {k: v for k, v in (rolled or {}).items() if k in newest}
    paused = pauses.reasons(session, pauses.JOURNEY)
    counted = sorted(set(newest) - set(rolled))
    counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for journey_id, status, reason, count in session.execute(
            select(Enrollment.journey_id, Enrollment.status, Enrollment.exit_reason,
                   func.count()).where(Enrollment.journey_id.in_(counted))
            .group_by(Enrollment.journey_id, Enrollment.status, Enrollment.exit_reason)):
        counts[journey_id]["entered"] += count
        counts[journey_id]["active"] += count if status in ACTIVE else 0
        counts[journey_id]["converted"] += count if (reason or "").startswith(GOAL) else 0
    sends = sends_per_day(session, counted, now)
    for journey_id, (found, listed) in rolled.items():
        counts[journey_id].update(entered=found.entered, converted=found.converted,
                                  active=listed["active"])
        sends[journey_id] = listed["sends"]
    parsed = cache.get(session, [row.id for row in newest.values()])
    return [Listed(journey_id, row.name, row.version, parsed[row.id].topic,
                   _status(row, paused), counts[journey_id]["active"],
                   counts[journey_id]["entered"], counts[journey_id]["converted"],
                   bool(parsed[row.id].exit_goals), sends[journey_id])
            for journey_id, row in sorted(newest.items())]


@dataclass
class Figures:
    """A journey's counts: measured now, or read from its rollup (journeys/rollups.py)."""

    steps: dict[str, StepCounts]
    emails: dict[str, EmailCounts]
    pinned: dict[int, int]  # active contacts by version row id
    entered: int
    converted: int
    arms: dict[str, dict[str, tuple[int, int]]]  # split -> path -> (contacts, successes)
    as_of: datetime | None = None  # when a rollup measured them; None: now


def figures(session: Session, journey: Journey, journey_id: str,
            version_ids: list[int]) -> Figures:
    """The journey's counts, measured now from the indexes."""
    steps: dict[str, StepCounts] = defaultdict(StepCounts)
    pinned: dict[int, int] = defaultdict(int)
    entered = converted = 0
    for status, version_id, step_id, reason, count in session.execute(
            select(Enrollment.status, Enrollment.journey_version_id, Enrollment.step_id,
                   Enrollment.exit_reason, func.count())
            .where(Enrollment.journey_id == journey_id)
            .group_by(Enrollment.status, Enrollment.journey_version_id, Enrollment.step_id,
                      Enrollment.exit_reason)):
        entered += count
        counts = steps[step_id or ""]
        if status in ACTIVE:
            counts.waiting += count
            pinned[version_id] += count
        elif status == "exited":
            counts.exited[reason or "exit"] = counts.exited.get(reason or "exit", 0) + count
            if (reason or "").startswith(GOAL):
                counts.converted += count
                converted += count
    for step_id, kind, count in session.execute(
            select(Activity.step_id, Activity.kind, func.count())
            .where(Activity.journey_version_id.in_(version_ids),
                   Activity.kind.in_(("entered", "completed")))
            .group_by(Activity.step_id, Activity.kind)):
        setattr(steps[step_id or ""], kind, getattr(steps[step_id or ""], kind) + count)
    for step_id, kind, count in session.execute(  # finished long ago: journeys.retention
            select(ActivityRollup.step_id, ActivityRollup.kind, ActivityRollup.count)
            .where(ActivityRollup.journey_version_id.in_(version_ids),
                   ActivityRollup.kind.in_(("entered", "completed")))):
        setattr(steps[step_id], kind, getattr(steps[step_id], kind) + count)
    return Figures(dict(steps), email_counts(session, journey_id), dict(pinned), entered,
                   converted, arm_counts(session, journey, version_ids))


def page(session: Session, cache: VersionCache, journey_id: str,
         rolled: Figures | None = None) -> Page | None:
    """One journey's page (its counts from `rolled`, a fresh rollup, when given), or None
    when no such journey is published."""
    rows = session.scalars(select(JourneyVersion).where(JourneyVersion.journey_id == journey_id)
                           .order_by(JourneyVersion.version.desc())).all()
    if not rows:
        return None
    newest = rows[0]
    journey = cache.get(session, [newest.id])[newest.id]
    paused = pauses.reasons(session, pauses.JOURNEY)
    found = rolled or figures(session, journey, journey_id, [row.id for row in rows])
    return Page(journey_id, journey, _status(newest, paused), paused.get(journey_id),
                [VersionRow(row.id, row.version, row.published_at, row.published_by, row.note,
                            found.pinned.get(row.id, 0), row.retired) for row in rows],
                found)


def email_counts(session: Session, journey_id: str) -> dict[str, EmailCounts]:
    """Each send step's figures: sent, opened and clicked by people, unsubscribed after
    it, bounced."""
    emails: dict[str, EmailCounts] = defaultdict(EmailCounts)
    for step_id, feedback, count in session.execute(
            select(Send.step_id, Send.feedback, func.count())
            .where(Send.journey_id == journey_id, Send.status == "sent",
                   Send.role == "contact")
            .group_by(Send.step_id, Send.feedback)):
        emails[step_id or ""].sent += count
        emails[step_id or ""].bounced += count if feedback == HARD_BOUNCE else 0
    machine = func.coalesce(Event.properties["machine"].as_boolean(), False)
    for step_id, type_, count in session.execute(
            select(Send.step_id, Event.type, func.count(distinct(Send.id)))
            .join(Send, Send.send_key == Event.properties["send"].as_string())
            .where(Send.journey_id == journey_id, Event.type.in_((OPENED, CLICKED)),
                   machine.is_(False))
            .group_by(Send.step_id, Event.type)):
        setattr(emails[step_id or ""], "opened" if type_ == OPENED else "clicked", count)
    # An unsubscribe counts against the journey's last email before it, if that came
    # within a week: the one the contact was reading. Few rows: unsubscribed contacts only.
    latest: dict[tuple[int, datetime], tuple[datetime, str]] = {}
    for step_id, contact_id, sent_at, at in session.execute(
            select(Send.step_id, Send.contact_id, Send.sent_at, Event.occurred_at)
            .join(Event, Event.contact_id == Send.contact_id)
            .where(Send.journey_id == journey_id, Send.status == "sent",
                   Event.type == UNSUBSCRIBED, Event.occurred_at >= Send.sent_at)):
        if sent_at is not None and at - sent_at <= UNSUBSCRIBE_WINDOW and (
                (contact_id, at) not in latest or latest[contact_id, at][0] < sent_at):
            latest[contact_id, at] = (sent_at, step_id or "")
    for _, step_id in latest.values():
        emails[step_id].unsubscribed += 1
    return dict(emails)
