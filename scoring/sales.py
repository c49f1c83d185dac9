"""What sales does with a hand-off (accept, reject with a reason, mark won or lost) and
what happens when nobody accepts it in time (remind the rep, then reassign)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from nurture.contacts.models import Contact
from nurture.contacts.queries import lock_contacts
from nurture.events.bus import NewEvent
from nurture.events.effects import merge_attributes
from nurture.users.models import User
from scoring.access import Viewer, may_see
from scoring.errors import HandoffConflict, HandoffInvalid, HandoffNotFound
from scoring.handoffs import Outcome, SalesConfig, _assign, _note, _reps, _webhook, notify
from scoring.models import Handoff
from scoring.rules import Rules

REASON_MAX = 1000
REJECT_REASONS = {
    "not-ready": "Not ready to buy yet",
    "no-budget": "No budget",
    "not-decision-maker": "Not the decision maker",
    "bad-fit": "Not a fit for our product",
    "bad-data": "Wrong or incomplete contact data",
    "existing-deal": "Already in a deal with us",
    "other": "Other",
}


NO_SUCH = "There is no such hand-off."
# Finite, and no deal of ours comes near it: a typo or a test value, not a sale.
MAX_AMOUNT = 1_000_000_000


def _load(session: Session, handoff_id: int, user: Viewer) -> Handoff:
    """The hand-off, locked after its contact (every writer takes the contact first), when
    `user` may act on it; another rep's lead is `HandoffNotFound`, like a missing one."""
    contact_id = session.scalar(select(Handoff.contact_id).where(Handoff.id == handoff_id))
    if contact_id is None:
        raise HandoffNotFound(NO_SUCH)
    lock_contacts(session, [contact_id])
    handoff = session.get(Handoff, handoff_id, with_for_update=True)
    if handoff is None or not may_see(handoff.assigned_to, user):  # erased in between
        raise HandoffNotFound(NO_SUCH)
    return handoff


def check_amount(amount: float | None) -> None:
    """A deal amount is a finite number from 0 to `MAX_AMOUNT`; raises `HandoffInvalid`."""
    if amount is None:
        return
    if not math.isfinite(amount):
        raise HandoffInvalid("The deal amount must be a number, such as 12000.")
    if amount < 0:
        raise HandoffInvalid("The deal amount cannot be negative.")
    if amount > MAX_AMOUNT:
        raise HandoffInvalid(f"The deal amount must be at most {MAX_AMOUNT:,}.")


def accept(session: Session, config: SalesConfig, handoff_id: int, user: User,
           now: datetime) -> Outcome:
    handoff = _load(session, handoff_id, user)
    if handoff.status != "open":
        raise HandoffConflict(f"This hand-off is already {handoff.status}.")
    handoff.status, handoff.accepted_at, handoff.due_at, handoff.lease_until = (
        "accepted", now, None, None)
    if handoff.assigned_to is None:
        handoff.assigned_to, handoff.assigned_at = user.id, now
    _note(session, handoff, "accepted", user.id, "", now)
    return _changed(session, config, handoff, "sales.accepted", {}, now)


def reject(session: Session, config: SalesConfig, handoff_id: int, user: User, code: str,
           detail: str, now: datetime) -> Outcome:
    """Back to nurture, with the reason recorded; the cool-down starts now."""
    detail = (detail or "").strip()
    if code not in REJECT_REASONS:
        raise HandoffInvalid("Choose a reason for sending the lead back to nurture.")
    if code == "other" and not detail:
        raise HandoffInvalid("Say in a few words why the lead goes back to nurture.")
    if len(detail) > REASON_MAX:
        raise HandoffInvalid(f"The reason is too long; keep it under {REASON_MAX} characters.")
    handoff = _load(session, handoff_id, user)
    if handoff.status not in ("open", "accepted"):
        raise HandoffConflict(f"This hand-off is already {handoff.status}.")
    reason = REJECT_REASONS[code] + (f": {detail}" if detail else "")
    _close(handoff, "rejected", reason, now)
    _note(session, handoff, "rejected", user.id, reason, now)
    return _changed(session, config, handoff, "sales.rejected",
                    {"reason": reason, "reason_code": code}, now)


def close(session: Session, config: SalesConfig, handoff_id: int, user: User, won: bool,
          detail: str, amount: float | None, now: datetime) -> Outcome:
    detail = (detail or "").strip()
    if len(detail) > REASON_MAX:
        raise HandoffInvalid(f"The note is too long; keep it under {REASON_MAX} characters.")
    check_amount(amount)
    handoff = _load(session, handoff_id, user)
    if handoff.status != "accepted":
        if handoff.status == "open":
            raise HandoffInvalid("Accept the lead before marking the deal won or lost.")
        raise HandoffConflict(f"This hand-off is already {handoff.status}.")
    status = "won" if won else "lost"
    _close(handoff, status, detail, now)
    _note(session, handoff, status, user.id, detail, now)
    properties: dict[str, object] = {"reason": detail} if detail else {}
    if won and amount is not None:
        properties["amount"] = amount
    return _changed(session, config, handoff, f"sales.{status}", properties, now)


def _close(handoff: Handoff, status: str, reason: str, now: datetime) -> None:
    handoff.status, handoff.outcome_reason, handoff.closed_at = status, reason, now
    handoff.due_at = handoff.lease_until = None


def _changed(session: Session, config: SalesConfig, handoff: Handoff, event: str,
             properties: dict[str, object], now: datetime) -> Outcome:
    contact = session.get_one(Contact, handoff.contact_id)  # a hand-off goes with its lead
    contact.attributes = merge_attributes(contact.attributes or {}, {"sales": {
        "status": handoff.status, "reason": handoff.outcome_reason, "at": now.isoformat(),
        "handoff_id": handoff.id}})
    out = _webhook(session, config, handoff, contact, {}, event, now)
    out.events.append(NewEvent(contact.id, event, {"handoff_id": handoff.id, **properties},
                               now, source="sales"))
    return out


def escalate(session: Session, rules: Rules, config: SalesConfig, ids: Sequence[int],
             now: datetime) -> Outcome:
    """SLA missed: the first time, remind the rep; after that, give the lead to the next
    rep in turn (or keep reminding if there is nobody else)."""
    out = Outcome()
    # The leads first, then their hand-offs, then the reps: the order opening one takes.
    lock_contacts(session, session.scalars(select(Handoff.contact_id).where(
        Handoff.id.in_(list(ids)))))
    rows = session.scalars(select(Handoff).where(
        Handoff.id.in_(list(ids)), Handoff.status == "open", Handoff.due_at <= now)
        .order_by(Handoff.id).with_for_update()).all()
    if not rows:
        return out
    reps = _reps(session)
    for handoff in rows:
        contact = session.get_one(Contact, handoff.contact_id)
        handoff.escalations += 1
        handoff.due_at, handoff.lease_until = now + rules.handoff.sla, None
        current = reps.get(handoff.assigned_to) if handoff.assigned_to else None
        if handoff.escalations == 1 and current is not None:
            _note(session, handoff, "reminded", None,
                  f"Not accepted within {_hours(rules)}; reminded the rep.", now)
            out += notify(session, config, handoff, contact, current, now)
            continue
        moved = _assign(session, config, handoff, contact, reps, now,
                        exclude=handoff.assigned_to)
        if moved.send_ids or handoff.assigned_to != (current.id if current else None):
            out += moved
        elif current is not None:
            _note(session, handoff, "reminded", None, "No other rep covers this lead; "
                  "reminded the rep again.", now)
            out += notify(session, config, handoff, contact, current, now)
    return out


def _hours(rules: Rules) -> str:
    hours = rules.handoff.sla.total_seconds() / 3600
    return f"{hours:g} hours"
