"""The guard at work: judge each journey's rates after feedback arrives and on the
scheduler's round, pause a journey past a threshold and email its owner, and let a person
pause or resume one with a reason. Sends are held and released by the pause
(nurture/sending/pauses.py), contacts by the journey (journeys/pausing.py)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from journeys import pausing
from nurture.app.runtime import Runtime
from nurture.sending import feedback, notices, pauses
from nurture.sending.bounces import record_feedback
from nurture.sending.dsn import Bounce
from nurture.sending.guard import Counts, Thresholds, judge
from nurture.sending.models import Pause
from nurture.sending.pauses import Source
from nurture.users.services import list_users


def thresholds(rt: Runtime) -> Thresholds:
    guard = rt.settings.guard
    return Thresholds(guard.complaint_rate, guard.bounce_rate, guard.min_sends)


def since(rt: Runtime, now: datetime) -> datetime:
    return now - timedelta(days=rt.settings.guard.window_days)


def intake(rt: Runtime, bounces: Iterable[Bounce], source: str) -> dict[str, int]:
    """Record bounces and complaints, then judge the journeys they were about."""
    recorded = record_feedback(rt, bounces, source)
    if recorded.journeys:
        evaluate(rt, recorded.journeys)
    return recorded.counts


def evaluate(rt: Runtime, journeys: Iterable[str] | None = None) -> list[Pause]:
    """Judge the journeys (all that sent in the window by default) and pause those past a
    threshold, emailing each one's owner once. Returns the pauses made."""
    now = rt.now()
    made: list[Pause] = []
    with rt.work(now) as work:
        session = work.session
        start = since(rt, now)
        counts = feedback.journey_counts(session, start, journeys)
        paused = pauses.active(session)
        for journey_id, figures in sorted(counts.items()):
            reason = judge(figures, thresholds(rt))
            if reason is None or journey_id in paused:
                continue
            row = _pause(session, rt, journey_id, reason, pauses.GUARD, now, figures)
            if row is None:
                continue
            made.append(row)
            contact = feedback.latest_contact(session, journey_id, start)
            if contact is not None:
                work.due("deliver_sends", notices.notify_paused(
                    session, row, contact, _recipients(session, rt, journey_id), now))
    return made


def _pause(session: Session, rt: Runtime, journey_id: str, reason: str, by: str,
           now: datetime, figures: Counts | None = None) -> Pause | None:
    row = pauses.pause(session, Source(pauses.JOURNEY, journey_id), reason, by, now, figures)
    if row is not None:
        pausing.hold(session, journey_id)
    return row


def _recipients(session: Session, rt: Runtime, journey_id: str) -> list[str]:
    """The journey's owner, else every active administrator."""
    owner = pausing.owner(session, rt.versions, journey_id)
    if owner:
        return [owner]
    return [user.email for user in list_users(session, "admin") if user.active]


def _journey(text: str) -> Source:
    """The journey `text` names; a broadcast is paused and resumed on its own page (its
    sends are released there), never here."""
    source = Source.parse(text)
    if source.kind != pauses.JOURNEY:
        raise pauses.PauseError(f"Pause and resume a broadcast on its page, or with "
                                f"`nurture broadcasts pause|resume {source.id}`.")
    return source


def pause(rt: Runtime, text: str, reason: str, by: str) -> Pause:
    """A person pauses a source, saying why. Refused when it is paused already."""
    source = _journey(text)
    now = rt.now()
    reason = pauses.clean_reason(reason, "pause")
    with rt.transaction() as session:
        if not pausing.published(session, source.id):
            raise pauses.PauseError(f"No journey {source.id!r} is published; pause one by "
                                    f"its id, as `nurture journeys list` shows it.")
        row = _pause(session, rt, source.id, f"paused: by {by}: {reason}", by, now)
        if row is None:
            raise pauses.PauseError(f"The {source.kind} {source.id!r} is paused already.")
        session.expunge(row)
        return row


def resume(rt: Runtime, text: str, reason: str, by: str) -> dict[str, int]:
    """A person resumes a paused source with a reason; its held sends and contacts are
    released under the cap and quiet hours. Returns how many of each."""
    source = _journey(text)
    now = rt.now()
    with rt.work(now) as work:
        pauses.resume(work.session, source, by, reason, now)
        released = pausing.release(work.session, source.id, now, rt.pacing)
    return released


def run_guard_jobs(rt: Runtime) -> dict[str, int]:
    """The scheduler's round: judge the journeys with feedback in the window (a hard bounce
    at SMTP time is marked while delivering, which judges nothing itself)."""
    with rt.sessions() as session:
        journeys = feedback.recent_journeys(session, since(rt, rt.now()))
    return {"paused": len(evaluate(rt, journeys)) if journeys else 0}


@dataclass(frozen=True)
class Row:
    """One journey on the deliverability page."""

    source: str
    sent: int
    complaints: int
    bounces: int
    complaint_rate: float
    bounce_rate: float
    judged: bool  # enough sends in the window to be judged
    over: str | None  # the reason it is past a threshold, if it is
    paused: Pause | None
    held: int


@dataclass(frozen=True)
class Status:
    window_days: int
    thresholds: Thresholds
    rows: list[Row]
    history: list[Pause]


def status(rt: Runtime) -> Status:
    """Each journey's rates in the window against the thresholds, its pause, the history."""
    now = rt.now()
    limits = thresholds(rt)
    with rt.sessions() as session:
        counts = feedback.journey_counts(session, since(rt, now))
        paused = pauses.active(session)
        held = pauses.queued_counts(session)
        history = pauses.history(session)
        session.expunge_all()
    rows = [Row(journey, figures.sent, figures.complaints, figures.bounces,
                figures.complaint_rate, figures.bounce_rate, figures.sent >= limits.min_sends,
                judge(figures, limits), paused.get(journey), held.get(journey, 0))
            for journey, figures in sorted((counts | {j: Counts() for j in paused
                                                      if j not in counts}).items())]
    return Status(rt.settings.guard.window_days, limits, rows, history)
