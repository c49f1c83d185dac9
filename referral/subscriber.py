"""Referral's subscriber to recorded events (`ReferralSubscriber`), in the batch's
transaction.

- `referral.signed_up` ties the friend to the source of the code (fraud checks run here;
  a suspicious referral is flagged for review, not dropped).
- `trial.converted` or `purchase.completed` from a referred friend converts the referral
  and grants rewards (a purchase in the friend's first year also earns the share).
- `subscription.cancelled` (churn) and `custom.purchase.refunded` inside the hold period
  void the pending rewards.
- Customers and NPS promoters get their own referral code.

Returns the contacts whose attributes changed (a new code) and the events to record next
(`referral.converted` for the referrer).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from nurture.contacts.models import Contact
from nurture.events.bus import CreatedBatch, NewEvent, RecordedBatch
from nurture.events.bus import Reaction as Answer
from nurture.trials.models import Trial
from referral import ledger, rules, sources
from referral.config import ReferralConfig
from referral.errors import Conflict
from referral.fraud import Device, Friend, Referrer, Velocity, check
from referral.models import Referral, ReferralDevice, ReferralSource, Reward
from referral.rules import AUTOMATIC_KINDS, FraudLimits, Rules
from scoring.value import predicted, value_book

log = logging.getLogger(__name__)
CUSTOMER_STAGES = ("onboard", "adopt", "renew", "expand")
CONVERTING = ("trial.converted", "purchase.completed")
VOIDING = {"subscription.cancelled": "The referred customer cancelled within the hold "
                                     "period.",
           "custom.purchase.refunded": "The referred customer's purchase was refunded."}
WATCHED = {"referral.signed_up", "nps.answered", *CONVERTING, *VOIDING}


@dataclass
class Reaction:
    changed: set[int] = field(default_factory=set)
    events: list[NewEvent] = field(default_factory=list)


@dataclass(frozen=True)
class ReferralSubscriber:
    """Registered by the composition root with the installation's referral settings."""

    config: ReferralConfig

    def on_created(self, session: Session, batch: CreatedBatch) -> Answer:
        """New contacts (the bulk path): only customers among them need anything (a
        code), and they go the usual way."""
        if any(e.type in WATCHED for e in batch.events) or any(
                f.get("stage") in CUSTOMER_STAGES for f in batch.fields.values()):
            return self(session, batch.recorded())
        return Answer()

    def __call__(self, session: Session, batch: RecordedBatch) -> Answer:
        rows = [{"contact_id": e.contact_id, "type": e.type, "properties": e.properties,
                 "occurred_at": e.occurred_at} for e in batch.events]
        done = on_recorded(session, dict(batch.contacts), rows, [e.id for e in batch.events],
                           batch.now, self.config)
        return Answer(changed=done.changed, events=done.events)


def on_recorded(session: Session, contacts: dict[int, Contact],
                rows: Sequence[dict[str, Any]], event_ids: Sequence[int],
                now: datetime, config: ReferralConfig) -> Reaction:
    reaction = Reaction()
    if not any(r["type"] in WATCHED for r in rows) and not any(
            c.stage in CUSTOMER_STAGES for c in contacts.values()):
        return reaction
    rule_set = config.rules
    for row, event_id in zip(rows, event_ids, strict=False):
        kind, contact = row["type"], contacts[row["contact_id"]]
        if kind == "referral.signed_up":
            tie(session, contact, row["properties"], now, (rule_set or Rules()).fraud)
        elif kind in CONVERTING:
            reaction.events += convert(session, contact, row, event_id, now, config,
                                       rule_set)
        elif kind in VOIDING:
            _void_in_hold(session, contact.id, VOIDING[kind], now)
    for contact in contacts.values():  # every customer and every promoter has a code
        promoter = any(r["contact_id"] == contact.id and r["type"] == "nps.answered"
                       and (r["properties"] or {}).get("category") == "promoter"
                       for r in rows)
        code = ((contact.attributes or {}).get("referral") or {})
        if (contact.stage in CUSTOMER_STAGES or promoter) and not (
                isinstance(code, dict) and code.get("code")):
            sources.ensure_for_contact(session, contact, now)
            reaction.changed.add(contact.id)
    return reaction


# ---- sign-up ----------------------------------------------------------------------------

def remember_device(session: Session, contact_id: int, visitor: str, ip: str, agent: str,
                    now: datetime) -> None:
    """Keep the browser a contact signed up from, for later self-referral checks."""
    if visitor or ip:
        session.add(ReferralDevice(contact_id=contact_id, visitor=visitor[:40], ip=ip[:64],
                                   agent=agent[:16], seen_at=now))


def tie(session: Session, friend: Contact, properties: Mapping[str, Any],
        now: datetime, fraud: FraudLimits) -> Referral | None:
    """Tie a referred sign-up to its source, with the fraud checks' verdict."""
    found = sources.find(session, properties.get("code"), now)
    if found.source is None:
        log.info("referral: sign-up of contact %s not attributed: %s code %r", friend.id,
                 found.reason, str(properties.get("code"))[:64])
        return None
    source = found.source
    if session.scalar(select(Referral.id).where(Referral.friend_id == friend.id)):
        log.info("referral: contact %s was already referred; the first referral stands",
                 friend.id)
        return None
    trial_id = properties.get("trial_id") if isinstance(properties.get("trial_id"),
                                                        int) else None
    ip = ""
    if trial_id is not None:
        ip = session.scalar(select(Trial.ip).where(Trial.id == trial_id)) or ""
    device = Device(str(properties.get("visitor") or "")[:40], ip,
                    str(properties.get("agent") or "")[:16])
    reasons = check(
        Friend(friend.email, device, was_customer=bool((friend.attributes or {})
                                                         .get("customer"))),
        _referrer(session, source), _velocity(session, source.id, ip, now),
        fraud)
    referral = Referral(source_id=source.id, friend_id=friend.id, trial_id=trial_id,
                        status="signed_up", review="flagged" if reasons else "",
                        reasons=list(reasons), signed_up_at=now, visitor=device.visitor,
                        ip=ip, agent=device.agent)
    session.add(referral)
    session.flush()
    if reasons:
        log.warning("referral %s flagged for review: %s", referral.id, ", ".join(reasons))
    return referral


def _referrer(session: Session, source: ReferralSource) -> Referrer:
    emails = [source.email]
    devices: list[Device] = []
    if source.contact_id is not None:
        emails.append(session.scalar(select(Contact.email)
                                     .where(Contact.id == source.contact_id)) or "")
        devices = [Device(d.visitor, d.ip, d.agent) for d in session.scalars(
            select(ReferralDevice).where(ReferralDevice.contact_id == source.contact_id))]
    return Referrer(tuple(e for e in emails if e), tuple(devices))


def _velocity(session: Session, source_id: int, ip: str, now: datetime) -> Velocity:
    since = now - timedelta(days=1)
    by_source = session.scalar(select(func.count()).select_from(Referral).where(
        Referral.source_id == source_id, Referral.signed_up_at > since)) or 0
    by_ip = 0
    if ip:
        by_ip = session.scalar(select(func.count()).select_from(Referral).where(
            Referral.ip == ip, Referral.signed_up_at > since)) or 0
    return Velocity(by_source, by_ip)


# ---- conversion and revenue ---------------------------------------------------------------

def convert(session: Session, friend: Contact, row: dict[str, Any], event_id: int,
            now: datetime, config: ReferralConfig, rule_set: Rules | None) -> list[NewEvent]:
    referral = session.scalar(select(Referral).where(Referral.friend_id == friend.id)
                              .with_for_update())
    if referral is None or referral.review == "rejected":
        return []
    source = session.get_one(ReferralSource, referral.source_id)  # a referral needs its source
    events: list[NewEvent] = []
    hold = config.hold
    if referral.status != "converted":
        referral.status, referral.converted_at = "converted", row["occurred_at"]
        referral.converted_by = row["type"]
        session.flush()
        if rule_set is not None:
            clv = _friend_clv(session, friend.id, now) if rules.needs_clv(rule_set) else None
            earned = ledger.grant(session, rules.on_conversion(
                rule_set, referral.id, source.type, clv), referral, source, now, hold)
            events += _thank(session, rule_set, earned, now)
            converted = session.scalar(select(func.count()).select_from(Referral).where(
                Referral.source_id == source.id, Referral.status == "converted",
                Referral.review != "rejected")) or 0
            ledger.grant(session, rules.milestones_reached(rule_set, source.id, converted),
                         referral, source, now, hold)
        if source.contact_id is not None:
            events.append(NewEvent(source.contact_id, "referral.converted", {
                "referral_id": referral.id, "code": source.code, "friend_id": friend.id,
                "by": row["type"]}, now, "referral",
                dedupe_key=f"referral.converted:{referral.id}"))
    amount = _cents(row["properties"].get("amount"))
    if amount and row["type"] == "purchase.completed":
        referral.revenue_cents = (referral.revenue_cents or 0) + amount
        if rule_set is not None:
            days = (row["occurred_at"] - referral.converted_at) / timedelta(days=1)
            so_far = dict(session.execute(
                select(Reward.rule, func.sum(Reward.amount_cents))
                .where(Reward.referral_id == referral.id, Reward.kind == "share",
                       Reward.status != "voided").group_by(Reward.rule)).all())
            currency = str(row["properties"].get("currency") or rule_set.currency)[:3]
            ledger.grant(session, rules.on_revenue(
                rule_set, referral.id, source.type, f"event-{event_id}", amount,
                currency.upper(), days, so_far), referral, source, now, hold)
    return events


def _friend_clv(session: Session, friend_id: int, now: datetime) -> int | None:
    """The friend's predicted lifetime value in cents (their own, or their look-alikes'),
    for rewards keyed on it; None when it cannot be told yet."""
    found = predicted(session, [friend_id], value_book(session, now.date(), now.tzinfo or
                                                       UTC)).get(friend_id)
    return round(found.clv * 100) if found else None


def _thank(session: Session, rule_set: Rules, reward_ids: Sequence[int], now: datetime
           ) -> list[NewEvent]:
    """The automatic step of the rewards that need no person: the thank-you touch goes on
    the referrer's timeline at once (`reward.fulfilled`), and the ledger says so."""
    details = {r.id: r.detail or r.label for r in rule_set.rewards}
    out = []
    for row in session.scalars(select(Reward).where(Reward.id.in_(list(reward_ids)),
                                                    Reward.kind.in_(AUTOMATIC_KINDS))):
        if row.contact_id is None:  # a partner without a contact: a person thanks them
            continue
        try:
            moved = ledger.move(session, row, "fulfilled", ledger.SYSTEM,
                                details.get(row.rule) or "Thanked automatically.", now)
        except Conflict:  # under fraud review: it waits, and a person thanks them after
            continue
        if moved.event is not None:
            out.append(moved.event)
    return out


def _cents(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return 0
    try:
        return max(0, round(float(value) * 100))
    except ValueError:
        return 0


def _void_in_hold(session: Session, friend_id: int, reason: str, now: datetime) -> None:
    referral_id = session.scalar(select(Referral.id).where(Referral.friend_id == friend_id))
    if referral_id is not None:
        ledger.void_pending(session, referral_id, ledger.SYSTEM, reason, now)
