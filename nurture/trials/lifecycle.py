"""How a trial ends and what it records on the way: conversion, expiry, deletion after the
retention period, and seat and service usage. Each change of a trial row is recorded as an
event in the same transaction, so journeys and scoring react to it (the trial journey sends
the end-of-service notice on `trial.expired` and exits on `trial.converted`).

The periodic jobs (`run_trial_jobs`) are idempotent: they change rows with conditional
updates (`WHERE status = ...`) and give every event a dedupe key, so running them twice, or
on two schedulers at once, changes each trial once and records each event once.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, func, or_, select, update
from sqlalchemy.orm import Session

from nurture.config import Settings
from nurture.contacts.models import Contact
from nurture.contacts.queries import lock_contacts
from nurture.db import rowcount
from nurture.events.bus import NewEvent
from nurture.events.models import Event
from nurture.tokens import TokenError, Tokens
from nurture.trials import rules
from nurture.trials.errors import TrialConflict, TrialInvalid, TrialNotFound
from nurture.trials.models import Trial
from nurture.trials.rules import TrialFacts
from nurture.unit_of_work import Works

BATCH = 500  # trials per transaction in the periodic jobs
ACTOR = "advance_enrollments"


@dataclass(frozen=True)
class Usage:
    recorded: bool  # False when this seat had already been activated
    event_id: int | None
    seats_activated: int


def facts(row: Trial) -> TrialFacts:
    return TrialFacts(
        id=row.id, status=row.status, ends_at=row.ends_at, company=row.company or "",
        seats=row.seats, services=tuple(row.services or ()), choice=row.choice,
        converted_at=row.converted_at, expired_at=row.expired_at,
        retention_until=row.retention_until, deleted_at=row.deleted_at)


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def _locked(session: Session, trial_id: int) -> Trial:
    """The trial, locked after its contact: every writer takes the contact first."""
    contact_id = session.scalar(select(Trial.contact_id).where(Trial.id == trial_id))
    if contact_id is not None:
        lock_contacts(session, [contact_id])
    row = session.get(Trial, trial_id, with_for_update=True)
    if row is None:
        raise TrialNotFound(f"There is no trial with id {trial_id}.")
    return row


# Conversion ---------------------------------------------------------------------------------

def convert(works: Works, settings: Settings, trial_id: int, choice: str,
            source: str = "web") -> TrialFacts:
    """Convert the trial with the customer's one-time choice; raises TrialConflict if it was
    already converted or its data is gone, and never changes a choice once made."""
    if error := rules.choice_error(choice):
        raise TrialInvalid(error)
    now = works.now()
    days = settings.trials.retention_days
    with works.work(now) as work:
        session = work.session
        row = _locked(session, trial_id)
        before = facts(row)
        if refusal := rules.conversion_refusal(before, now):
            raise TrialConflict(refusal)
        retention = rules.retention_after_conversion(before, choice, now, days)
        changed = rowcount(session.execute(
            update(Trial).where(Trial.id == trial_id, Trial.status == before.status,
                                Trial.choice.is_(None))
            .values(status="converted", choice=choice, converted_at=now,
                    retention_until=retention)
            .execution_options(synchronize_session=False)))
        if not changed:  # only possible without row locks; the first choice stands
            raise TrialConflict("This trial was converted a moment ago; that choice stands.")
        properties = {"trial_id": trial_id, "choice": choice,
                      "keep_data": choice == "keep_data", "seats": before.seats,
                      "services": list(before.services), "from_status": before.status,
                      "retention_until": _iso(retention)}
        work.record([NewEvent(row.contact_id, "trial.converted", properties, now,
                                    source, f"trial.converted:{trial_id}")])
    return replace(before, status="converted", choice=choice, converted_at=now,
                   retention_until=retention)


def conversion_token(tokens: Tokens, contact_id: int, email_key: str,
                     trial_id: int | None = None) -> str:
    """The token of a conversion link: for one trial, or (from emails) the contact's latest."""
    payload: list[Any] = [contact_id, email_key]
    return tokens.sign("trial", [*payload, trial_id] if trial_id is not None else payload)


def trial_for_token(works: Works, tokens: Tokens, token: str) -> tuple[TrialFacts, Contact]:
    """The trial a conversion link names. Raises TokenError for a bad or expired link and
    TrialNotFound when the contact's address changed or it has no trial."""
    payload = tokens.load("trial", token)
    if not (isinstance(payload, list) and len(payload) in (2, 3)
            and isinstance(payload[0], int) and isinstance(payload[1], str)):
        raise TokenError("This link is not valid.")
    contact_id, key, trial_id = payload[0], payload[1], (payload[2:] or [None])[0]
    with works.sessions() as session:
        contact = session.get(Contact, contact_id)
        if contact is None or contact.email_key != key:
            raise TrialNotFound("This link no longer matches a trial.")
        query = select(Trial).where(Trial.contact_id == contact_id)
        if trial_id is not None:
            query = query.where(Trial.id == trial_id)
        row = session.scalar(query.order_by(Trial.started_at.desc(), Trial.id.desc()).limit(1))
        if row is None:
            raise TrialNotFound("We could not find a trial for this link.")
        return facts(row), contact


# Expiry and deletion --------------------------------------------------------------------------

def expire_due(works: Works, settings: Settings, now: datetime, batch: int = BATCH) -> int:
    """Expire active trials whose end has passed: services stop, data is kept until
    `retention_until`. Returns how many trials this call expired."""
    retention = timedelta(days=settings.trials.retention_days)
    due = and_(Trial.status == "active", Trial.ends_at <= now)
    total = 0
    while True:
        with works.work(now) as work:
            session = work.session
            ids = _lock_due(session, due, batch)
            rows = session.execute(
                update(Trial).where(Trial.id.in_(ids), due)
                .values(status="expired", expired_at=now, retention_until=now + retention)
                .returning(Trial.id, Trial.contact_id, Trial.ends_at, Trial.seats,
                           Trial.services)
                .execution_options(synchronize_session=False)).all() if ids else []
            # occurred_at = expired_at, and retention_days: effects.py derives the contact's
            # trial.retention_until from both, so it equals the row's and the notice's date.
            events = [NewEvent(r.contact_id, "trial.expired", {
                "trial_id": r.id, "ends_at": _iso(r.ends_at), "expired_at": _iso(now),
                "retention_days": retention.days, "retention_until": _iso(now + retention),
                "seats": r.seats, "services": list(r.services or [])},
                now, "trials", f"trial.expired:{r.id}") for r in rows]
            work.record(events)
        total += len(rows)
        if len(ids) < batch:
            return total


def delete_due(works: Works, now: datetime, batch: int = BATCH) -> int:
    """Mark trial data deleted once its retention date has passed: expired trials become
    `deleted`; trials converted to a clean subscription keep their status and get
    `deleted_at`. Returns how many trials this call marked."""
    due = or_(and_(Trial.status == "expired", Trial.retention_until <= now),
              and_(Trial.status == "converted", Trial.choice == "new_subscription",
                   Trial.deleted_at.is_(None), Trial.retention_until <= now))
    total = 0
    while True:
        with works.work(now) as work:
            session = work.session
            ids = _lock_due(session, due, batch)
            rows = session.execute(
                update(Trial).where(Trial.id.in_(ids), due)
                .values(status=case((Trial.status == "expired", "deleted"),
                                    else_=Trial.status), deleted_at=now)
                .returning(Trial.id, Trial.contact_id, Trial.status, Trial.choice,
                           Trial.retention_until)
                .execution_options(synchronize_session=False)).all() if ids else []
            events = [NewEvent(r.contact_id, "trial.data_deleted", {
                "trial_id": r.id, "status": r.status, "choice": r.choice,
                "retention_until": _iso(r.retention_until), "deleted_at": _iso(now)},
                now, "trials", f"trial.data_deleted:{r.id}") for r in rows]
            work.record(events)
        total += len(rows)
        if len(ids) < batch:
            return total


def _lock_due(session: Session, due: Any, batch: int) -> list[int]:
    # SKIP LOCKED (PostgreSQL): two schedulers split the work instead of queueing on it.
    return list(session.scalars(select(Trial.id).where(due).order_by(Trial.id).limit(batch)
                                .with_for_update(skip_locked=True)))


def run_trial_jobs(works: Works, settings: Settings) -> dict[str, int]:
    """The periodic trial work, for the scheduler tick or cron: expire, then delete."""
    now = works.now()
    return {"expired": expire_due(works, settings, now), "deleted": delete_due(works, now)}


# Usage --------------------------------------------------------------------------------------

def record_usage(works: Works, trial_id: int, kind: str, value: Any,
                 source: str = "api") -> Usage:
    """Record a seat activation or a service use of an active trial. Activating a seat that
    is already active records nothing (`recorded` is False); raises TrialError otherwise."""
    now = works.now()
    with works.work(now) as work:
        session = work.session
        row = _locked(session, trial_id)  # one usage report per trial at a time: seat count
        trial = facts(row)
        if refusal := rules.usage_refusal(trial):
            raise TrialConflict(refusal)
        value = rules.clean_value(kind, value)
        activated = seats_activated(session, row.id, row.contact_id)
        if kind == "service_used":
            event = NewEvent(row.contact_id, "trial.service_used",
                             {"trial_id": trial_id,
                              "service": rules.matching_service(trial, value)}, now, source)
        else:
            key = rules.seat_dedupe_key(trial_id, value)
            if session.scalar(select(Event.id).where(Event.dedupe_key == key)) is not None:
                return Usage(False, None, activated)
            if refusal := rules.seat_refusal(trial, activated):
                raise TrialInvalid(refusal)
            event = NewEvent(row.contact_id, "trial.seat_activated",
                             {"trial_id": trial_id, "seat": value}, now, source, key)
            activated += 1
        result = work.record([event])
    return Usage(True, result.event_ids[0] if result.event_ids else None, activated)


def seats_activated(session: Session, trial_id: int, contact_id: int) -> int:
    """Distinct seats activated through `record_usage` (the ones with a seat dedupe key)."""
    return session.scalar(
        select(func.count()).select_from(Event)
        .where(Event.contact_id == contact_id, Event.type == "trial.seat_activated",
               Event.dedupe_key.startswith(rules.seat_key_prefix(trial_id)))) or 0


# Look-ups for operators ---------------------------------------------------------------------

def list_trials(works: Works, status: str | None = None,
                limit: int = 100) -> list[tuple[TrialFacts, str]]:
    """Trials, newest first, each with the email address of who signed up."""
    query = (select(Trial, Contact.email).join(Contact, Contact.id == Trial.contact_id)
             .order_by(Trial.id.desc()).limit(limit))
    if status:
        query = query.where(Trial.status == status)
    with works.sessions() as session:
        return [(facts(row), email) for row, email in session.execute(query)]


def overview(works: Works, trial_id: int) -> tuple[TrialFacts, Contact, int]:
    """One trial, who signed up for it, and how many seats are activated."""
    with works.sessions() as session:
        row = session.get(Trial, trial_id)
        if row is None:
            raise TrialNotFound(f"There is no trial with id {trial_id}.")
        contact = session.get_one(Contact, row.contact_id)  # a trial goes with its contact
        return facts(row), contact, seats_activated(session, row.id, row.contact_id)
