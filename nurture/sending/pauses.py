"""Pausing a source's marketing mail, defined once: the guard, the console and the command
line all pause and resume through here, and so do broadcasts.

While a source is paused its queued marketing sends stay `queued`, with the pause's reason
and no due time: no claim sees them, and nothing is dropped or skipped. The due time they
had is kept (`held_due_at`) for the release. Service and transactional mail is never held.
A source is named by its kind and id, e.g. ("journey", "onboarding") or ("broadcast", "12"):
a journey's sends carry its id in `journey_id`, a broadcast's in `broadcast_id`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, Row, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from nurture.db import one_of, rowcount
from nurture.sending.classes import MARKETING
from nurture.sending.errors import PauseError
from nurture.sending.guard import Counts
from nurture.sending.models import Pause, Send
from nurture.text import text_problem
from nurture.yamlfile import ID_PATTERN

JOURNEY = "journey"
BROADCAST = "broadcast"
KINDS = (JOURNEY, BROADCAST)
GUARD = "guard"  # who pauses when the rates do


@dataclass(frozen=True)
class Source:
    kind: str
    id: str

    def __str__(self) -> str:
        return f"{self.kind}:{self.id}"

    @classmethod
    def parse(cls, text: str) -> Source:
        """`journey:ID`, `broadcast:NUMBER`, or a bare journey id."""
        kind, _, ident = text.strip().rpartition(":")
        kind = kind or JOURNEY
        if (kind not in KINDS or len(ident) > 120 or not ID_PATTERN.match(ident)
                or (kind == BROADCAST and not ident.isdigit())):
            raise PauseError(f"{text[:80]!r} names no source: write a journey id (lower-case "
                             f"letters, digits, '-', '_' or '.'), journey:ID or "
                             f"broadcast:NUMBER.")
        return cls(kind, ident)


def clean_reason(reason: str, what: str) -> str:
    """A reason as stored: one line, refused when empty or unstorable."""
    if problem := text_problem(reason):
        raise PauseError(problem)
    reason = " ".join(reason.split())
    if not reason:
        raise PauseError(f"A {what} needs a reason: say "
                         + ("what was fixed, e.g. \"removed the purchased list\"."
                            if what == "resume" else
                            "why, e.g. \"complaints from the March import\"."))
    return reason


def active(session: Session, kind: str = JOURNEY) -> dict[str, Pause]:
    """The sources of a kind paused now, by id, with their pause."""
    rows = session.scalars(select(Pause).where(Pause.source_kind == kind,
                                               Pause.resumed_at.is_(None)))
    return {row.source_id: row for row in rows}


def reasons(session: Session, kind: str = JOURNEY) -> dict[str, str]:
    """The sources of a kind paused now, with the reason: the check every batch of
    delivering and advancing makes (one row per pause, read by `ux_pauses_active`)."""
    rows = session.execute(select(Pause.source_id, Pause.reason)
                           .where(Pause.source_kind == kind, Pause.resumed_at.is_(None)))
    return {source: reason for source, reason in rows}


def history(session: Session, limit: int = 100) -> list[Pause]:
    """Pauses, newest first, resumed or not."""
    return list(session.scalars(select(Pause).order_by(Pause.paused_at.desc(),
                                                       Pause.id.desc()).limit(limit)))


def pause(session: Session, source: Source, reason: str, by: str, now: datetime,
          counts: Counts | None = None) -> Pause | None:
    """Pause a source and hold its queued marketing sends. None when it is paused already
    (the first pause stands, with its reason)."""
    reason = clean_reason(reason, "pause")
    if source.id in active(session, source.kind):
        return None
    row = Pause(source_kind=source.kind, source_id=source.id, reason=reason[:200],
                paused_at=now, paused_by=by[:320],
                sent=None if counts is None else counts.sent,
                complaint_rate=None if counts is None else counts.complaint_rate,
                bounce_rate=None if counts is None else counts.bounce_rate)
    try:
        with session.begin_nested():  # another guard may have paused it a moment ago
            session.add(row)
            session.flush()
    except IntegrityError:
        return None
    hold_source(session, source, reason)
    return row


def resume(session: Session, source: Source, by: str, reason: str, now: datetime) -> Pause:
    """End a source's pause, with who and why; its sends are released by the caller, which
    knows how to time them (e.g. `journeys.pausing.release`)."""
    reason = clean_reason(reason, "resume")
    row = active(session, source.kind).get(source.id)
    if row is None:
        raise PauseError(f"The {source.kind} {source.id!r} is not paused.")
    row.resumed_at, row.resumed_by, row.resume_reason = now, by[:320], reason[:500]
    session.flush()
    return row


def _of(source: Source) -> ColumnElement[bool]:
    """The sends a source made."""
    if source.kind == BROADCAST:
        return Send.broadcast_id == int(source.id)
    return Send.journey_id == source.id


def source_of(send: Row) -> Source | None:
    """The source a send (with `journey_id` and `broadcast_id`) belongs to, if any."""
    if send.broadcast_id is not None:
        return Source(BROADCAST, str(send.broadcast_id))
    return Source(JOURNEY, send.journey_id) if send.journey_id else None


def hold_source(session: Session, source: Source, reason: str) -> int:
    """Hold every queued marketing send of a source no worker holds (a send being delivered
    now goes, or is held by `hold` at delivery). Returns how many were held."""
    result = session.execute(
        update(Send).where(_of(source), Send.status == "queued",
                           Send.message_class == MARKETING, Send.due_at.is_not(None),
                           Send.lease_until.is_(None))
        .values(held_due_at=Send.due_at, due_at=None, reason=reason[:200])
        .execution_options(synchronize_session=False))
    return rowcount(result)


def hold(session: Session, sends: list[Row], reasons: dict[Source, str]) -> None:
    """Hold sends met at delivery whose source was paused after they were claimed or made:
    `sends` have `id`, `due_at`, `journey_id` and `broadcast_id`, `reasons` is the pause
    reason by source."""
    for send in sends:
        source = source_of(send)
        reason = reasons.get(source, "paused") if source is not None else "paused"
        session.execute(update(Send).where(Send.id == send.id, Send.status == "queued")
                        .values(held_due_at=send.due_at, due_at=None, lease_until=None,
                                reason=reason[:200])
                        .execution_options(synchronize_session=False))


def held(session: Session, source: Source) -> list[Row]:
    """A paused source's held sends: id, contact, and the due time each had."""
    return list(session.execute(
        select(Send.id, Send.contact_id, Send.held_due_at)
        .where(_of(source), Send.status == "queued", Send.due_at.is_(None),
               Send.held_due_at.is_not(None))
        .order_by(Send.held_due_at, Send.id)))


def release(session: Session, due: dict[int, datetime]) -> int:
    """Give held sends their due time back (a time their caller chose, e.g. out of quiet
    hours); their pause reason goes."""
    for send_id, at in due.items():
        session.execute(update(Send).where(Send.id == send_id, Send.status == "queued",
                                           Send.due_at.is_(None))
                        .values(due_at=at, held_due_at=None, reason=None)
                        .execution_options(synchronize_session=False))
    return len(due)


def queued_counts(session: Session, kind: str = JOURNEY) -> dict[str, int]:
    """Per paused source, how many of its sends are held now."""
    return {journey or "": count for journey, count in session.execute(
        select(Send.journey_id, func.count())
        .where(Send.status == "queued", Send.due_at.is_(None),
               Send.held_due_at.is_not(None),
               one_of(session, Send.journey_id, set(active(session, kind))))
        .group_by(Send.journey_id))}
