"""Feedback on sends: a hard bounce or a complaint marked on the send it is about, and the
counts per source over a window that the guard judges (nurture/sending/guard.py)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import Row, case, func, select, update
from sqlalchemy.orm import Session

from nurture.contacts.services import email_key
from nurture.db import one_of
from nurture.sending.classes import MARKETING, SERVICE
from nurture.sending.guard import Counts
from nurture.sending.models import Send

HARD_BOUNCE, COMPLAINT = "hard_bounce", "complaint"
# A report that names no send is about the newest one to that address within this time:
# complaints come in days after the mail, rarely weeks.
ATTRIBUTION_WINDOW = timedelta(days=30)


def attribute(session: Session, feedback: str, recipient: str, contact_id: int | None,
              send_key: str | None, at: datetime) -> str | None:
    """Mark the send this report is about: the one its send key names, else the newest
    marketing or service mail sent to the address (as the contact's) before the report.
    A send keeps the first feedback it got. Returns the journey of the send marked, if
    the send has one."""
    send: Row | None = None
    if send_key:
        send = session.execute(select(Send.id, Send.journey_id, Send.feedback)
                               .where(Send.send_key == send_key)).first()
    if send is None and contact_id is not None:
        key = email_key(recipient)
        rows = session.execute(
            select(Send.id, Send.journey_id, Send.feedback, Send.to_email)
            .where(Send.contact_id == contact_id, Send.status == "sent",
                   Send.message_class.in_((MARKETING, SERVICE)),
                   Send.sent_at <= at, Send.sent_at > at - ATTRIBUTION_WINDOW)
            .order_by(Send.sent_at.desc(), Send.id.desc()).limit(20))
        send = next((row for row in rows if email_key(row.to_email) == key), None)
    if send is None:
        return None
    if send.feedback is None:
        session.execute(update(Send).where(Send.id == send.id)
                        .values(feedback=feedback, feedback_at=at)
                        .execution_options(synchronize_session=False))
    return send.journey_id


def mark_bounced(session: Session, send_ids: Iterable[int], at: datetime) -> None:
    """Sends the receiving server refused for good while we sent them (5xx on RCPT)."""
    ids = sorted(set(send_ids))
    if ids:
        session.execute(update(Send).where(one_of(session, Send.id, ids),
                                           Send.feedback.is_(None))
                        .values(feedback=HARD_BOUNCE, feedback_at=at)
                        .execution_options(synchronize_session=False))


def journey_counts(session: Session, since: datetime,
                   journey_ids: Iterable[str] | None = None) -> dict[str, Counts]:
    """Per journey, the mail sent since `since` (sent, or refused by the receiving server:
    each was an attempt on the list) and how much of it drew a complaint or a hard bounce.
    Read from `ix_sends_journey_sent` alone."""
    counted = func.count()
    complaints = func.sum(case((Send.feedback == COMPLAINT, 1), else_=0))
    bounces = func.sum(case((Send.feedback == HARD_BOUNCE, 1), else_=0))
    query = (select(Send.journey_id, counted, complaints, bounces)
             .where(Send.journey_id.is_not(None), Send.sent_at > since)
             .group_by(Send.journey_id))
    if journey_ids is not None:
        query = query.where(Send.journey_id.in_(sorted(set(journey_ids))))
    return {journey: Counts(int(sent), int(c or 0), int(b or 0))
            for journey, sent, c, b in session.execute(query)}


def latest_contact(session: Session, journey_id: str, since: datetime) -> int | None:
    """The contact of the newest send of a journey that drew feedback since `since`."""
    return session.scalar(select(Send.contact_id)
                          .where(Send.journey_id == journey_id, Send.sent_at > since,
                                 Send.feedback.is_not(None))
                          .order_by(Send.feedback_at.desc()).limit(1))


def recent_journeys(session: Session, since: datetime) -> set[str]:
    """The journeys whose sends drew feedback since `since` (read from `ix_sends_feedback`,
    which holds only sends with feedback): the ones the scheduler's round judges."""
    return {journey for journey in session.scalars(
        select(Send.journey_id).where(Send.feedback_at > since, Send.feedback.is_not(None))
        .distinct()) if journey}
