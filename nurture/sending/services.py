"""Delivering queued sends: check consent and suppression, render, hand to the sender,
record the outcome.

Exactly-once effect: a send row is keyed by (journey version, enrollment, step seq, step,
recipient), so it exists once. Each row is marked `sending` and committed just before its
hand-off to the mail server, in the same commit that records the previous message as `sent`.
A row still `sending` when its lease runs out (its worker died) is never sent again: the
scheduler marks it failed with an unknown outcome before it releases expired leases. The
only window left is one message per worker thread: the mail server accepted it and the
process died before the next commit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Row, func, select, update
from sqlalchemy.orm import Session

from nurture.consent.services import suppress, suppressions
from nurture.contacts.models import Contact
from nurture.contacts.services import email_key
from nurture.db import one_of
from nurture.events.services import NewEvent, record_events
from nurture.nps.services import SURVEY_TEMPLATE, NPSConfig, recently_surveyed
from nurture.runtime import Runtime
from nurture.sending import compose
from nurture.sending.ledger import SendLedger
from nurture.sending.models import Send
from nurture.sending.render import Template, TemplateStore, build_mime, message_id
from nurture.sending.senders import SendError, retry_delay

_SENDS = Send.__table__
# What delivering reads of a send (its outcome columns are only written).
_SEND_FIELDS = [_SENDS.c[name] for name in (
    "id", "send_key", "contact_id", "to_email", "role", "journey_id", "template",
    "transactional", "topic", "attempts")]
# What sending reads of a contact: the checks at send time and what templates see.
_CONTACT_FIELDS = [Contact.__table__.c[name] for name in (
    "id", "email", "email_key", "first_name", "last_name", "company", "role", "industry",
    "stage", "language", "attributes", "consent_marketing", "email_topics", "email_frequency")]
MAX_ATTEMPTS = 8  # temporary (4xx) failures are retried with backoff, then given up


@dataclass
class Outcome:
    counts: dict[str, int] = field(default_factory=lambda: {"sent": 0, "failed": 0,
                                                            "skipped": 0, "retried": 0})
    events: list[NewEvent] = field(default_factory=list)
    bounced: list[tuple[str, str]] = field(default_factory=list)  # address, diagnostic


# Preference-center frequencies: at most one marketing email per this many days.
FREQUENCY_DAYS = {"weekly": 7, "monthly": 30}


def blocked(send: Row, contact: Row, reasons: dict[str, str],
            last_marketing: datetime | None, now: datetime,
            nps_throttled: bool = False) -> str | None:
    """Why this send must not go out now, checked at send time; None when it may.
    `last_marketing` is when the contact last got a marketing email, if recently."""
    reason = reasons.get(email_key(send.to_email))
    if send.transactional:
        return "suppressed:bounced" if reason == "bounced" else None
    if reason:
        return f"suppressed:{reason}"
    if not contact.consent_marketing:
        return "no_consent"
    if nps_throttled and send.template.startswith(SURVEY_TEMPLATE):
        return "nps_throttled"  # surveyed or answered within the throttle period
    if contact.email_topics and send.topic and send.topic not in contact.email_topics:
        return "preference:topic"
    days = FREQUENCY_DAYS.get(contact.email_frequency or "")
    if days and last_marketing is not None and now - last_marketing < timedelta(days=days):
        return "preference:frequency"
    return None


def _last_marketing(session: Session, contact_ids: set[int], now: datetime
                    ) -> dict[int, datetime]:
    """When each contact last received a marketing email, within the longest frequency."""
    if not contact_ids:
        return {}
    since = now - timedelta(days=max(FREQUENCY_DAYS.values()))
    rows = session.execute(
        select(Send.contact_id, func.max(Send.sent_at))
        .where(Send.contact_id.in_(sorted(contact_ids)), Send.transactional.is_(False),
               Send.status == "sent", Send.sent_at > since)
        .group_by(Send.contact_id))
    return dict(rows.all())


def deliver(rt: Runtime, store: TemplateStore, ids: list[int]) -> dict[str, int]:
    """Deliver the queued sends among `ids`; returns counts by outcome."""
    now, outcome = rt.clock.now(), Outcome()
    templates: dict[tuple[str, str, str, str], Template] = {}
    with rt.db.sessions() as session:
        # Core rows, read-only here: ORM objects cost twice as much to load per send.
        sends = session.execute(select(*_SEND_FIELDS).where(one_of(session, Send.id, ids),
                                                           Send.status == "queued")
                                .order_by(Send.id)).all()
        contacts = {c.id: c for c in session.execute(select(*_CONTACT_FIELDS).where(
            one_of(session, Contact.id, {s.contact_id for s in sends})))}
        rows = [(send, contacts[send.contact_id]) for send in sends
                if send.contact_id in contacts]
        reasons = suppressions(session, [send.to_email for send, _ in rows])
        last = _last_marketing(session, {c.id for _, c in rows if c.email_frequency
                                         in FREQUENCY_DAYS}, now)
        surveyed = recently_surveyed(
            session, {c.id for s, c in rows if s.template.startswith(SURVEY_TEMPLATE)}, now,
            NPSConfig.from_settings(rt.settings).throttle_days)
    # One commit per message: the outcomes so far, and this send marked `sending`.
    with SendLedger(rt.db.engine) as ledger:
        for send, contact in rows:
            why = blocked(send, contact, reasons, last.get(contact.id), now,
                          contact.id in surveyed)
            if why is not None:
                ledger.stage({"id": send.id, "status": "skipped", "reason": why})
                outcome.counts["skipped"] += 1
                continue
            moment = rt.clock.now()
            if not ledger.commit(send.id, moment + rt.lease, moment + rt.lease / 2):
                continue  # another worker has it, or an unsubscribe just stopped it
            key = (send.template, contact.industry or "", contact.stage or "",
                   contact.language or "")
            ledger.stage(_deliver_one(rt, store, templates, key, send, contact, now, outcome))
            if ledger.staged[-1]["status"] == "sent" and not send.transactional:
                last[contact.id] = now
                if send.template.startswith(SURVEY_TEMPLATE):
                    surveyed.add(contact.id)
    if outcome.bounced or outcome.events:
        _record(rt, outcome, now)
    return outcome.counts


def _deliver_one(rt: Runtime, store: TemplateStore, templates: dict, key: tuple[str, ...],
                 send: Row, contact: Row, now: datetime,
                 outcome: Outcome) -> dict[str, Any]:
    settings = rt.settings
    domain = settings.mail_domain
    msg_id = message_id(send.send_key, domain)
    links = compose.Links(rt.tokens, settings.base_url, contact.id, contact.email_key, send.id)
    try:
        template = templates.get(key)
        if template is None:  # resolved once per batch, not per send
            template = templates[key] = store.resolve(key[0], vertical=key[1], stage=key[2],
                                                      language=key[3])
        tracker = compose.Tracker(settings.base_url, rt.tokens.sign("track", send.id),
                                  template.html.links)
        context = compose.context(contact, links, settings.postal_address,
                                  settings.company_name, tracker)
        subject, html, text = template.render(context)
        data = build_mime(
            sender=settings.from_address, to=send.to_email,
            subject=subject, html_body=html, text_body=text, msg_id=msg_id,
            headers=compose.list_headers(transactional=send.transactional, links=links,
                                         list_id=f"{send.journey_id or 'system'}.{domain}",
                                         domain=domain, send_key=send.send_key,
                                         language=template.language),
        )
    except Exception as exc:  # a broken template fails its sends, never the batch
        outcome.counts["failed"] += 1
        return {"id": send.id, "status": "failed", "reason": f"render: {exc}"[:200]}
    try:
        rt.sender.send(settings.from_address, send.to_email, msg_id, data, canonical=True)
    except SendError as exc:
        return _failure(send, contact, exc, now, outcome)
    outcome.counts["sent"] += 1
    return {"id": send.id, "status": "sent", "sent_at": now, "links": tracker.links}


def _failure(send: Row, contact: Row, exc: SendError, now: datetime,
             outcome: Outcome) -> dict[str, Any]:
    if not exc.permanent and send.attempts + 1 < MAX_ATTEMPTS:
        outcome.counts["retried"] += 1
        return {"id": send.id, "status": "queued", "reason": str(exc)[:200],
                "due_at": now + retry_delay(send.attempts + 1)}
    outcome.counts["failed"] += 1
    if exc.hard_bounce:
        outcome.bounced.append((send.to_email, str(exc)))
        if send.role == "contact":
            outcome.events.append(NewEvent(contact.id, "email.bounced", {
                "kind": "hard", "send": send.send_key, "diagnostic": str(exc)[:200]}, now,
                source="smtp"))
    return {"id": send.id, "status": "failed", "reason": str(exc)[:200]}


def _record(rt: Runtime, outcome: Outcome, now: datetime) -> None:
    """Hard bounces onto the suppression list and their events, after the batch."""
    from nurture.events.services import claim

    with rt.db.transaction() as session:
        for address, diagnostic in outcome.bounced:
            suppress(session, address, "bounced", diagnostic, "smtp", now)
        kick = record_events(session, rt.versions, outcome.events, now).kick
        claim(session, kick, now, rt.lease)
    rt.kick("advance_enrollments", kick)


def fail_interrupted(session: Session, now: datetime) -> int:
    """Sends left `sending` by a dead worker: their outcome is unknown, so never resend.
    A send keeps its due time while `sending`, so these are found among the expired leases
    by the same index (`ix_sends_leased`) the scheduler reads to release them."""
    result = session.execute(
        update(Send).where(Send.due_at.is_not(None), Send.lease_until.is_not(None),
                           Send.lease_until < now, Send.status == "sending")
        .values(status="failed", reason="interrupted: outcome unknown", due_at=None,
                lease_until=None)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount
