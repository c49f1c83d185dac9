"""Delivering queued sends: check consent and suppression, render, hand to the sender,
record the outcome.

At most once: a send row is keyed by (journey version, enrollment, step seq, step,
recipient), so it exists once. Each message is built first; the sender then asks the mail
server to take it and, when the server waits for the text, the row is marked `sending`
and committed, in the same commit that records the previous message's outcome. A row
still `sending` when its lease runs out (its worker died inside the SMTP exchange) has an
unknown outcome: the scheduler marks it failed and it is never sent again by itself, only
by an operator's retry (`nurture/sending/retries.py`). A worker that dies before the mark
leaves the send queued for the next.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, Row, func, select, update
from sqlalchemy.orm import Session

from nurture.accounts import queries as account_queries
from nurture.accounts.departure import send_refusal
from nurture.config import Settings
from nurture.consent.records import suppress, suppressions
from nurture.contacts.models import Contact
from nurture.contacts.services import email_key
from nurture.db import one_of, rowcount
from nurture.events.bus import NewEvent
from nurture.sending import compose, dkim, feedback, notices, pauses, subjects
from nurture.sending.classes import MARKETING, MUST_RECEIVE_ONLY, blocked_by_class, under_contract
from nurture.sending.ledger import SendLedger
from nurture.sending.mime import build_mime, message_id
from nurture.sending.models import Send
from nurture.sending.render import Template, TemplateStore
from nurture.sending.retries import INTERRUPTED
from nurture.sending.senders import Sender, SendError, retry_delay
from nurture.sending.throttles import Deferral, Throttle, defer
from nurture.sending.verp import Verp
from nurture.stages import stage
from nurture.tokens import Tokens
from nurture.unit_of_work import Works

_SENDS = Send.__table__
# What delivering reads of a send (its outcome columns are only written).
_SEND_FIELDS = [_SENDS.c[name] for name in (
    "id", "send_key", "contact_id", "to_email", "role", "journey_id", "template",
    "message_class", "topic", "attempts", "due_at", "broadcast_id", "subject")]
# What sending reads of a contact: the checks at send time and what templates see.
_CONTACT_FIELDS = [Contact.__table__.c[name] for name in (
    "id", "email", "email_key", "first_name", "last_name", "company", "role", "industry",
    "stage", "language", "timezone", "account_id", "attributes", "consent_marketing",
    "email_topics", "email_frequency")]
MAX_ATTEMPTS = 8  # temporary (4xx) failures are retried with backoff, then given up


@dataclass
class Outcome:
    counts: dict[str, int] = field(default_factory=lambda: {"sent": 0, "failed": 0,
                                                            "skipped": 0, "retried": 0})
    events: list[NewEvent] = field(default_factory=list)
    bounced: list[tuple[str, str]] = field(default_factory=list)  # address, diagnostic
    bounced_sends: list[int] = field(default_factory=list)  # their sends, by id


# Preference-center frequencies: at most one marketing email per this many days.
FREQUENCY_DAYS = {"weekly": 7, "monthly": 30}


def blocked(send: Row, contact: Row, reasons: dict[str, str],
            last_marketing: datetime | None, now: datetime,
            throttled: str | None = None, account_status: str | None = None) -> str | None:
    """Why this send must not go out now, checked at send time; None when it may. The
    message's class decides first (`nurture/sending/classes.py`); marketing email then
    honours throttles and the reader's topics and frequency.
    `last_marketing` is when the contact last got a marketing email, if recently;
    `throttled` the reason of a throttle that holds this send back, if one does;
    `account_status` that of the contact's company account, if it has one."""
    if departed := send_refusal(contact.stage, send.template, send.role):
        return departed  # after deprovisioning: only the notices and the win-back
    decided, why = blocked_by_class(
        send.message_class, reasons.get(email_key(send.to_email)), contact.consent_marketing,
        contact.email_frequency == MUST_RECEIVE_ONLY,
        under_contract(contact.stage, contact.attributes, account_status))
    if decided:
        return why
    if throttled:
        return throttled  # e.g. surveyed or answered within the NPS throttle period
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
        .where(Send.contact_id.in_(sorted(contact_ids)), Send.message_class == MARKETING,
               Send.status == "sent", Send.sent_at > since)
        .group_by(Send.contact_id))
    # `sent_at > since` leaves no row without a time; the type of max() does not know it.
    return {contact_id: last for contact_id, last in rows if last is not None}


@dataclass(frozen=True)
class Mailroom:
    """What delivering needs besides units of work: the engine its send ledger commits on,
    the sender, the settings messages are built with, the signer of their links, the
    templates, the lease a send is marked for, the throttles that hold sends back and the
    deferrals that move them later."""

    engine: Engine
    sender: Sender
    settings: Settings
    tokens: Tokens
    store: TemplateStore
    lease: timedelta
    throttles: Sequence[Throttle] = ()
    deferrals: Sequence[Deferral] = ()


def deliver(works: Works, mailroom: Mailroom, ids: list[int]) -> dict[str, int]:
    """Deliver the queued sends among `ids`, holding back what a throttle holds back;
    returns counts by outcome."""
    throttles = mailroom.throttles
    now, outcome = works.now(), Outcome()
    templates: dict[tuple[str, str, str, str], Template] = {}
    with stage("load"), works.sessions() as session:
        # Core rows, read-only here: ORM objects cost twice as much to load per send.
        sends = session.execute(select(*_SEND_FIELDS).where(one_of(session, Send.id, ids),
                                                           Send.status == "queued")
                                .order_by(Send.id)).all()
        sends, paused = _unpaused(session, sends)
        contacts = {c.id: c for c in session.execute(select(*_CONTACT_FIELDS).where(
            one_of(session, Contact.id, {s.contact_id for s in sends})))}
        rows = [(send, contacts[send.contact_id]) for send in sends
                if send.contact_id in contacts]
        reasons = suppressions(session, [send.to_email for send, _ in rows])
        last = _last_marketing(session, {c.id for _, c in rows if c.email_frequency
                                         in FREQUENCY_DAYS}, now)
        held = [throttle.recent(session, {c.id for s, c in rows
                                          if throttle.applies(s.template)}, now)
                for throttle in throttles]
        readers = _recipients(session, rows)
        accounts = account_queries.for_templates(
            session, {c.account_id for _, c in rows if c.account_id is not None})
        facts = notices.for_sends(session, [s for s, _ in rows], mailroom.settings)

        def why_not(send: Row, contact: Row) -> str | None:
            """`blocked`, on what this batch read (and, in the loop, what it sent since)."""
            account = accounts.get(contact.account_id or 0) or {}
            return blocked(send, contact, reasons, last.get(contact.id), now,
                           _throttled(throttles, held, send.template, contact.id),
                           account.get("status"))

        later: dict[int, tuple[datetime, str]] = {}
        if mailroom.deferrals:  # a send that would be skipped anyway is skipped, not deferred
            free = [(send, contact) for send, contact in rows
                    if why_not(send, contact) is None]
            for deferral in mailroom.deferrals:
                later |= deferral.later(session, free, now)
    if later:  # written before any mark, and only while still queued: a cancel stands
        with works.transaction() as session:
            outcome.counts["deferred"] = defer(session, later)
        rows = [(send, contact) for send, contact in rows if send.id not in later]
    if paused:
        with works.transaction() as session:
            pauses.hold(session, *paused)
    services = mailroom.settings.services.for_templates()
    # One commit per message: the outcomes so far, and this send marked `sending`, made
    # by the sender once the message is built and the server waits for its text.
    with stage("record"), SendLedger(mailroom.engine) as ledger:
        for send, contact in rows:
            why = why_not(send, contact)
            if why is not None:
                ledger.stage({"id": send.id, "status": "skipped", "reason": why})
                outcome.counts["skipped"] += 1
                continue
            key = (send.template, contact.industry or "", contact.stage or "",
                   contact.language or "")
            with stage("render"):  # less its MIME stage
                built = _build(mailroom, templates, key, send, contact, Reader(
                    readers.get(send.id), services, accounts.get(contact.account_id or 0),
                    facts.get(send.id)))
            if isinstance(built, str):  # a broken template fails its sends, never the batch
                ledger.stage({"id": send.id, "status": "failed", "reason": built})
                outcome.counts["failed"] += 1
                continue
            mark = _Mark(works, mailroom.lease, ledger, send.id)
            try:
                with stage("smtp"):
                    went = mailroom.sender.send(_return_path(mailroom, send.id),
                                                send.to_email, built.msg_id, built.data,
                                                canonical=True, commit=mark)
                if not went:
                    continue  # another worker has it, or an unsubscribe just stopped it
            except SendError as exc:
                if mark.marked is None:  # refused before the text went: the attempt counts
                    if not mark():
                        continue
                    ledger.stage(_failure(send, contact, exc, now, outcome))
                    ledger.commit(None, None)  # at once: it is known not to have gone
                elif mark.marked:
                    ledger.stage(_failure(send, contact, exc, now, outcome, mark.at))
                continue
            outcome.counts["sent"] += 1
            ledger.stage({"id": send.id, "status": "sent", "sent_at": now,
                          "links": built.links})
            if send.message_class == MARKETING:
                last[contact.id] = now
                for throttle, recent in zip(throttles, held, strict=True):
                    if throttle.applies(send.template):
                        recent.add(contact.id)
    if outcome.bounced or outcome.events:
        with stage("record"):
            _record(works, outcome, now)
    return outcome.counts


def _return_path(mailroom: Mailroom, send_id: int) -> str:
    """The envelope sender (MAIL FROM): a VERP address naming the send when VERP is on,
    where bounces come back; else the From address."""
    domain = mailroom.settings.verp_domain
    if domain is None:
        return mailroom.settings.from_address
    return Verp(mailroom.settings.secret_key).address(send_id, domain)


def _unpaused(session: Session, sends: Sequence[Row]
              ) -> tuple[Sequence[Row], tuple[list[Row], dict[pauses.Source, str]] | None]:
    """The sends that may go, and the marketing sends of paused sources to hold (paused
    after they were claimed, or made by a journey since), with the reasons by source."""
    kinds = {source.kind for send in sends if send.message_class == MARKETING
             and (source := pauses.source_of(send)) is not None}
    if not kinds:
        return sends, None
    paused = {pauses.Source(kind, ident): reason for kind in sorted(kinds)
              for ident, reason in pauses.reasons(session, kind).items()}
    stopped = [send for send in sends
               if send.message_class == MARKETING and pauses.source_of(send) in paused]
    if not stopped:
        return sends, None
    held = {send.id for send in stopped}
    return [send for send in sends if send.id not in held], (stopped, paused)


def _throttled(throttles: Sequence[Throttle], held: list[set[int]], template: str,
               contact_id: int) -> str | None:
    for throttle, recent in zip(throttles, held, strict=True):
        if contact_id in recent and throttle.applies(template):
            return throttle.reason
    return None


@dataclass(frozen=True)
class _Built:
    """One message ready to hand over."""

    msg_id: str
    data: bytes
    links: list[str]


@dataclass(frozen=True)
class Reader:
    """Who reads one message, beside the contact it is about: the recipient's own name
    (None: the contact), the service catalogue and the contact's account."""

    recipient: dict[str, str] | None = None
    services: dict[str, Any] = field(default_factory=dict)
    account: dict[str, Any] | None = None
    notice: dict[str, Any] | None = None  # a notice to staff: what it is about


def _recipients(session: Session, rows: list[tuple[Row, Row]]) -> dict[int, dict[str, str]]:
    """For each send to someone other than its contact (a technical contact), that person's
    name: their own contact's, else the name the contact gave for them (`<role>_name`),
    else none, so that nobody is greeted with another person's name."""
    others = [(send, contact) for send, contact in rows
              if email_key(send.to_email) != contact.email_key]
    if not others:
        return {}
    keys = {email_key(send.to_email) for send, _ in others}
    known = {key: (first, last) for key, first, last in session.execute(
        select(Contact.email_key, Contact.first_name, Contact.last_name)
        .where(one_of(session, Contact.email_key, keys)))}
    found: dict[int, dict[str, str]] = {}
    for send, contact in others:
        first, last = known.get(email_key(send.to_email), ("", ""))
        if not first:
            given = str((contact.attributes or {}).get(f"{send.role}_name") or "").split()
            first, last = (given[0], " ".join(given[1:])) if given else ("", "")
        found[send.id] = {"first_name": first, "last_name": last, "email": send.to_email}
    return found


def _build(mailroom: Mailroom, templates: dict[tuple[str, str, str, str], Template],
           key: tuple[str, str, str, str], send: Row, contact: Row,
           reader: Reader | None = None) -> _Built | str:
    """The message for this send, or the reason it cannot be built (a sentence)."""
    settings, tokens, store = mailroom.settings, mailroom.tokens, mailroom.store
    domain = settings.mail_domain
    msg_id = message_id(send.send_key, domain)
    links = compose.Links(tokens, settings.base_url, contact.id, contact.email_key, send.id,
                          login=settings.services.signin)
    try:
        template = templates.get(key)
        if template is None:  # resolved once per batch, not per send
            template = templates[key] = store.resolve(key[0], vertical=key[1], stage=key[2],
                                                      language=key[3])
        template = subjects.override(template, send.subject)  # an A/B arm's line, if any
        tracker = compose.Tracker(settings.base_url, tokens.sign("track", send.id),
                                  template.html.links)
        reader = reader or Reader()
        context = compose.context(contact, links, settings.postal_address,
                                  settings.company_name, tracker, services=reader.services,
                                  recipient=reader.recipient, account=reader.account,
                                  notice=reader.notice)
        subject, html, text = template.render(context)
        with stage("mime"):
            data = build_mime(
                sender=settings.from_address, to=send.to_email,
                subject=subject, html_body=html, text_body=text, msg_id=msg_id,
                headers=compose.list_headers(message_class=send.message_class, links=links,
                                             list_id=f"{_source(send) or 'system'}.{domain}",
                                             domain=domain, send_key=send.send_key,
                                             language=template.language,
                                             mailto=settings.reads_unsubscribe_mail)
                | compose.feedback_id(_source(send), send.template, send.message_class),
            )
    except Exception as exc:
        return f"render: {exc}"[:200]
    with stage("mime"):  # once per message, after the MIME is built (no key: nothing)
        data = dkim.sign_all(data, settings.sending.dkim_keys, domain)
    return _Built(msg_id, data, tracker.links)


def _source(send: Row) -> str | None:
    """What made the send, for its List-Id and Feedback-ID: a journey, or a broadcast."""
    if send.broadcast_id is not None:
        return f"broadcast-{send.broadcast_id}"
    return send.journey_id


class _Mark:
    """Marks one send `sending` with the outcomes staged so far, in one commit: the sender
    calls it at the last moment before the message text goes (see `Sender.send`)."""

    def __init__(self, works: Works, lease: timedelta, ledger: SendLedger, send_id: int):
        self._works, self._lease, self._ledger, self._id = works, lease, ledger, send_id
        self.at: datetime | None = None
        self.marked: bool | None = None  # None: not tried yet

    def __call__(self) -> bool:
        self.at = moment = self._works.now()
        lease = self._lease
        self.marked = self._ledger.commit(self._id, moment + lease, moment + lease / 2, moment)
        return self.marked


def _failure(send: Row, contact: Row, exc: SendError, now: datetime, outcome: Outcome,
             handed_at: datetime | None = None) -> dict[str, Any]:
    if not exc.permanent and send.attempts + 1 < MAX_ATTEMPTS:
        outcome.counts["retried"] += 1
        return {"id": send.id, "status": "queued", "reason": str(exc)[:200],
                "due_at": now + retry_delay(send.attempts + 1)}
    outcome.counts["failed"] += 1
    if exc.hard_bounce:
        outcome.bounced.append((send.to_email, str(exc)))
        outcome.bounced_sends.append(send.id)
        if send.role == "contact":
            outcome.events.append(NewEvent(contact.id, "email.bounced", {
                "kind": "hard", "send": send.send_key, "diagnostic": str(exc)[:200]}, now,
                source="smtp"))
    return {"id": send.id, "status": "failed", "reason": str(exc)[:200]}


def _record(works: Works, outcome: Outcome, now: datetime) -> None:
    """Hard bounces onto the suppression list, marked on their sends for the guard, and
    their events, after the batch."""
    with works.work(now) as work:
        for address, diagnostic in outcome.bounced:
            suppress(work.session, address, "bounced", diagnostic, "smtp", now)
        feedback.mark_bounced(work.session, outcome.bounced_sends, now)
        work.record(outcome.events)


def fail_interrupted(session: Session, now: datetime) -> int:
    """Sends left `sending` by a dead worker: their outcome is unknown, so never resend.
    A send keeps its due time while `sending`, so these are found among the expired leases
    by the same index (`ix_sends_leased`) the scheduler reads to release them."""
    result = session.execute(
        update(Send).where(Send.due_at.is_not(None), Send.lease_until.is_not(None),
                           Send.lease_until < now, Send.status == "sending")
        .values(status="failed", reason=INTERRUPTED, due_at=None,
                lease_until=None)
        .execution_options(synchronize_session=False)
    )
    return rowcount(result)
