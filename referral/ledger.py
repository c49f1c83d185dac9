"""The rewards ledger: pending → approved (after the hold period) → paid, or voided
(refund, churn inside the hold period, fraud). A thank-you, a referral back, a feature or a
gift is not paid but fulfilled: by an automatic step, or by a person who says what was done
(`fulfil`), from pending or approved. Every transition is written to the audit
trail with who made it and why, in the same transaction as the change.

A reward's unique key makes each grant exist once: a conversion retried, recorded twice or
raced by two workers still produces one reward per (referral, beneficiary, rule).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar

from sqlalchemy import Select, select, update
from sqlalchemy.orm import Session

from nurture.contacts.queries import lock_contacts
from nurture.db import rowcount
from nurture.events.bus import NewEvent
from nurture.writes import insert_ignore
from referral.errors import Conflict, Invalid, NotFound
from referral.models import Referral, ReferralSource, Reward, RewardTransition
from referral.rules import (
    FULFILLED_KINDS,
    HELD_KINDS,
    KIND_LABELS,
    MONEY_KINDS,
    Grant,
    fulfil_refusal,
)

SYSTEM = "system"
# What each state may become, and by whose hand: the scheduler approves after the hold,
# a marketer may approve early, pay, or void with a reason.
ALLOWED = {"pending": ("approved", "voided", "fulfilled"),
           "approved": ("paid", "voided", "fulfilled"), "paid": (), "voided": (),
           "fulfilled": ()}
REASON_MAX = 500
T = TypeVar("T")  # what a statement selects


@dataclass(frozen=True)
class Moved:
    reward_id: int
    to: str
    event: NewEvent | None  # reward.approved for the beneficiary, when they are a contact


def grant(session: Session, grants: Sequence[Grant], referral: Referral,
          source: ReferralSource, now: datetime, hold: timedelta) -> list[int]:
    """Write grants as pending rewards; returns the ids of those new now (others existed)."""
    rows = [{"key": g.key, "referral_id": referral.id, "source_id": source.id,
             "beneficiary": g.to,
             "contact_id": source.contact_id if g.to == "referrer" else referral.friend_id,
             "rule": g.rule, "kind": g.kind, "amount_cents": g.amount_cents,
             "currency": g.currency, "status": "pending", "created_at": now,
             "eligible_at": now + hold, "updated_at": now, "reason": "Earned by a conversion."}
            for g in grants]
    ids = insert_ignore(session, Reward, rows, "key")
    if ids:
        session.add_all(RewardTransition(reward_id=i, from_status="", to_status="pending",
                                         actor=SYSTEM, reason="Earned by a conversion.",
                                         at=now) for i in ids)
    return ids


def move(session: Session, reward: Reward, to: str, actor: str, reason: str,
         now: datetime) -> Moved:
    """One transition, audited. Raises Conflict when the state does not allow it."""
    reason = " ".join(str(reason or "").split())[:REASON_MAX]
    if to not in ALLOWED.get(reward.status, ()):
        raise Conflict(f"A {reward.status} reward cannot be marked {to}.")
    if to == "paid" and reward.kind in FULFILLED_KINDS:
        raise Conflict(f"A {KIND_LABELS[reward.kind]} is fulfilled, not paid.")
    if to == "fulfilled":
        review = session.scalar(select(Referral.review).where(
            Referral.id == reward.referral_id)) or ""
        refusal = fulfil_refusal(reward.kind, reward.status, review)
        if refusal:
            raise Conflict(refusal)
        if not reason:
            raise Invalid("Say what was done to fulfil the reward, like 'Sent the hamper "
                          "by courier'.")
    if to == "voided" and not reason:
        raise Invalid("Give a reason for voiding the reward, like 'refund' or 'fraud'.")
    if to == "approved" and actor != SYSTEM:
        referral = session.get(Referral, reward.referral_id)
        if referral is not None and referral.review == "flagged":
            raise Conflict("This referral is waiting for a fraud review; approve the "
                           "referral first.")
    # Conditional on the state read: two marketers (or the scheduler) cannot both move it.
    changed = rowcount(session.execute(
        update(Reward).where(Reward.id == reward.id, Reward.status == reward.status)
        .values(status=to, updated_at=now, reason=reason)
        .execution_options(synchronize_session=False)))
    if not changed:
        raise Conflict("This reward was changed a moment ago; reload to see its state.")
    session.add(RewardTransition(reward_id=reward.id, from_status=reward.status,
                                 to_status=to, actor=actor[:320], reason=reason, at=now))
    event = None
    if to == "fulfilled" and reward.contact_id is not None:
        # The touch on the beneficiary's timeline: who fulfilled what, and when.
        event = NewEvent(reward.contact_id, "reward.fulfilled", {
            "reward_id": reward.id, "kind": reward.kind, "rule": reward.rule,
            "note": reason, "by": actor[:320], "beneficiary": reward.beneficiary}, now,
            "referral", dedupe_key=f"reward.fulfilled:{reward.id}")
    if to == "approved" and reward.contact_id is not None and reward.kind in MONEY_KINDS:
        event = NewEvent(reward.contact_id, "reward.approved", {
            "reward_id": reward.id, "amount_cents": reward.amount_cents,
            "currency": reward.currency, "kind": reward.kind, "rule": reward.rule,
            "beneficiary": reward.beneficiary}, now, "referral",
            dedupe_key=f"reward.approved:{reward.id}")
    session.expire(reward)
    return Moved(reward.id, to, event)


def locked(session: Session, reward_id: int) -> Reward:
    """The reward, locked after the contact it rewards: every writer takes the contact first."""
    contact_id = session.scalar(select(Reward.contact_id).where(Reward.id == reward_id))
    if contact_id is not None:
        lock_contacts(session, [contact_id])
    row = session.get(Reward, reward_id, with_for_update=True)
    if row is None:
        raise NotFound(f"There is no reward with id {reward_id}.")
    return row


def void_pending(session: Session, referral_id: int, actor: str, reason: str,
                 now: datetime, include_approved: bool = False) -> list[int]:
    """Void a referral's pending rewards (and approved, unpaid ones on fraud)."""
    states = ("pending", "approved") if include_approved else ("pending",)
    rows = session.scalars(select(Reward).where(Reward.referral_id == referral_id,
                                                Reward.status.in_(states))
                           .with_for_update()).all()
    return [move(session, row, "voided", actor, reason, now).reward_id for row in rows]


def due_for_approval(session: Session, now: datetime, limit: int) -> list[Reward]:
    """Pending rewards past their hold whose referral is not waiting for review (those that
    cost money: the others wait for a person, not for a date), locked
    after the contacts they reward (the order the event pipeline takes)."""
    def due(statement: Select[T]) -> Select[T]:
        return (statement.join(Referral, Referral.id == Reward.referral_id)
                .where(Reward.status == "pending", Reward.eligible_at <= now,
                       Reward.kind.in_(HELD_KINDS),
                       Referral.review.in_(("", "cleared")))
                .order_by(Reward.eligible_at, Reward.id).limit(limit))

    lock_contacts(session, {c for c in session.scalars(due(select(Reward.contact_id))) if c})
    return list(session.scalars(due(select(Reward)).with_for_update(of=Reward)))
