"""Confirming what the sign-up form asked for an address we already know, from the link
sent to that address (`nurture.trials.pending`).

`preview` says what confirming would do; `confirm` does it in one transaction: the pending
change is applied (`contact.updated`), then, by the rules as they stand now, a trial starts
(welcome to the person and the technical contact as usual), or a running trial's log-in
instructions go again (once a day), or, for a customer, nothing more (the account owner
heard of the request when it was made). Marketing consent ticked on the form is recorded
here, by the person who opened the link from their own inbox.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from journeys.repository import VersionCache
from nurture.consent import records as consent
from nurture.consent.records import Proof
from nurture.contacts.models import Contact
from nurture.events.effects import Lifecycle
from nurture.sending.models import Send
from nurture.tokens import Tokens
from nurture.trials import pending, rules, signup
from nurture.trials.lifecycle import facts
from nurture.trials.models import Trial
from nurture.trials.pending import Difference
from nurture.unit_of_work import Works
from nurture.writes import insert_ignore

TRIAL_COLUMNS = ("company", "technical_name", "technical_email", "shipping_address",
                 "services", "seats")


@dataclass(frozen=True)
class Preview:
    """What confirming would do, for the page that asks."""

    first_name: str
    email: str
    changes: tuple[Difference, ...]
    verdict: str  # rules.Eligibility: start, running or customer
    services: tuple[str, ...]
    seats: int
    ends_at: datetime | None = None  # a running trial's end
    technical_contact: str = ""  # once confirmed ("": the person is their own)
    consent: bool = False  # the form asked for marketing email, not yet given


@dataclass(frozen=True)
class Confirmed:
    """What confirming did."""

    preview: Preview
    trial_id: int | None = None
    ends_at: datetime | None = None  # the new trial's end, or the running one's
    welcome_to: tuple[str, ...] = ()  # roles the welcome is queued for
    resent: bool = False  # a running trial's log-in instructions were queued again


def _preview(session: Session, contact: Contact, change: Mapping[str, Any],
             now: datetime) -> Preview:
    trials = session.scalars(select(Trial).where(Trial.contact_id == contact.id))
    verdict = rules.eligibility(contact.stage, [facts(t) for t in trials], now)
    stored = {name: getattr(contact, name) for name in pending.FIELDS}
    wanted = change.get("trial") or {}
    attributes = {**(contact.attributes or {}), **(change.get("attributes") or {})}
    return Preview(
        first_name=contact.first_name or "", email=contact.email,
        changes=tuple(pending.differences(stored, contact.attributes or {}, change)),
        verdict=verdict.verdict, services=tuple(wanted.get("services") or ()),
        seats=int(wanted.get("seats") or 1),
        ends_at=verdict.trial.ends_at if verdict.trial else None,
        technical_contact=str(attributes.get("technical_contact") or ""),
        consent=bool(change.get("marketing_consent")) and not contact.consent_marketing)


def preview(works: Works, tokens: Tokens, token: str) -> Preview:
    """What the link would confirm; raises PendingError for a bad, expired or used link."""
    with works.sessions() as session:
        contact, change = pending.find(session, tokens, token)
        return _preview(session, contact, change, works.now())


def confirm(works: Works, tokens: Tokens, versions: VersionCache, token: str, proof: Proof,
            lifecycle: Lifecycle | None = None) -> Confirmed:
    """Apply the pending change the link names, then do what the rules allow now. Raises
    PendingError for a bad, expired, replaced or already used link."""
    lifecycle = lifecycle or Lifecycle()
    now = works.now()
    with works.work(now) as work:
        session = work.session
        contact, change = pending.find(session, tokens, token, lock=True)
        seen = _preview(session, contact, change, now)
        events = pending.apply(contact, change, now)
        if seen.consent:
            events += consent.confirm(session, contact, proof, now)
        work.record(events, lifecycle)
        done = Confirmed(seen, ends_at=seen.ends_at)
        if seen.verdict == "start":
            trial = Trial(contact_id=contact.id, **{k: v for k, v in (
                change.get("trial") or {}).items() if k in TRIAL_COLUMNS})
            signup.company_for(session, contact, trial.company or contact.company,
                               trial.technical_name or "", trial.technical_email or "",
                               contact.country, now)
            welcome_to = signup.start(work, versions, contact, trial,
                                      _source(change.get("source") or {}), lifecycle)
            done = Confirmed(seen, trial.id, trial.ends_at, welcome_to)
        elif seen.verdict == "running":
            running = _latest_running(session, contact.id, now)
            resent = _resend_welcome(session, contact, running, now) if running else []
            work.due("deliver_sends", resent)
            done = Confirmed(seen, running.id if running else None, seen.ends_at,
                             resent=bool(resent))
    return done


def _source(stored: Mapping[str, Any]) -> signup.Source:
    known = {f.name for f in fields(signup.Source)}
    return signup.Source(**{k: v for k, v in stored.items() if k in known})


def _latest_running(session: Session, contact_id: int, now: datetime) -> Trial | None:
    return session.scalar(select(Trial).where(Trial.contact_id == contact_id,
                                              Trial.status == "active", Trial.ends_at > now)
                          .order_by(Trial.ends_at.desc()).limit(1))


def _resend_welcome(session: Session, contact: Contact, trial: Trial,
                    now: datetime) -> list[int]:
    """Queue the welcome (log-in instructions) again to the person; once a day at most."""
    return insert_ignore(session, Send, [{
        "send_key": f"resend-welcome:{trial.id}:{now.date().isoformat()}",
        "contact_id": contact.id, "to_email": contact.email, "role": "contact",
        "template": signup.WELCOME_TEMPLATE, "variant": "", "message_class": "transactional",
        "status": "queued", "created_at": now, "due_at": now,
    }], "send_key")
