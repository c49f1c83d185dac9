"""Hand-offs to sales: open one (from the score, a hand-raiser, a journey step or by hand),
route it to a rep, tell the rep and the CRM, and escalate it when nobody accepts it in time.

Everything happens in the caller's transaction; the caller records the returned events
(`sales.handoff`) through the event pipeline so journeys and scoring see them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from nurture.config import Settings
from nurture.contacts.models import Contact
from nurture.db import one_of
from nurture.events.bus import NewEvent
from nurture.events.effects import merge_attributes
from nurture.events.models import Event
from nurture.events.touches import touches
from nurture.sending.models import Send
from nurture.users.models import User
from nurture.webhooks.models import WebhookDelivery
from nurture.writes import insert_ignore
from scoring.engine import explain
from scoring.models import ContactScore, Handoff, HandoffNote, ScoreEntry
from scoring.routing import Rep, choose_rep
from scoring.rules import Rules
from scoring.scorer import HandoffRequest, last_handoffs

NOTIFY_TEMPLATE = "sales-handoff"
GRADE_WEIGHT = {"A": 300, "B": 200, "C": 100, "D": 0}
TIMELINE_SIZE = 15


@dataclass(frozen=True)
class SalesConfig:
    """Where hand-offs go: the CRM webhook (`NURTURE_CRM_WEBHOOK_URL`, optional) and the
    app's address for the links in the rep's email."""

    base_url: str
    crm_webhook_url: str = ""

    @classmethod
    def from_settings(cls, settings: Settings) -> SalesConfig:
        return cls(settings.base_url, settings.scoring.crm_webhook_url or "")


@dataclass
class Outcome:
    """What to kick or record after the transaction."""

    handoff_ids: list[int] = field(default_factory=list)
    send_ids: list[int] = field(default_factory=list)
    webhook_ids: list[int] = field(default_factory=list)
    events: list[NewEvent] = field(default_factory=list)

    def __iadd__(self, other: Outcome) -> Outcome:
        for name in ("handoff_ids", "send_ids", "webhook_ids", "events"):
            getattr(self, name).extend(getattr(other, name))
        return self


def priority(trigger: str, grade: str, score: int) -> int:
    """Hand-raisers first, then better fit, then higher score."""
    return (1000 if trigger == "hand_raiser" else 0) + GRADE_WEIGHT.get(grade, 0) + \
        max(0, min(score, 99))


def open_handoffs(session: Session, rules: Rules, config: SalesConfig,
                  requests: Sequence[HandoffRequest], now: datetime) -> Outcome:
    """Open a hand-off for each request whose lead has none open and is out of its
    cool-down; one per contact, whatever the batch holds."""
    out = Outcome()
    wanted = {r.contact_id: r for r in requests}
    if not wanted:
        return out
    history = last_handoffs(session, wanted)
    out += _follow_ups(session, [r for cid, r in wanted.items() if history.get(cid, (False,))[0]
                                 and r.trigger in ("journey", "manual")], now)
    cooldown = rules.handoff.cooldown
    wanted = {cid: r for cid, r in wanted.items()
              if not history.get(cid, (False, None))[0]
              and not ((last := history.get(cid, (False, None))[1]) and now - last < cooldown)}
    if not wanted:
        return out
    contacts = {c.id: c for c in session.scalars(
        select(Contact).where(Contact.id.in_(wanted)).order_by(Contact.id))}
    scores = {s.contact_id: s for s in session.scalars(
        select(ContactScore).where(ContactScore.contact_id.in_(wanted)))}
    from scoring.model_store import score_contacts  # noqa: PLC0415 (scipy, ~1 s: on use)

    predicted = score_contacts(session, list(wanted), now)  # the latest approved model's
    reps = _reps(session)
    explained = explanations(session, rules, list(wanted), now)
    timelines_ = timelines(session, list(wanted))
    for cid, request in sorted(wanted.items()):
        contact, part = contacts[cid], scores.get(cid)
        grade = part.grade if part else rules.grade(0)
        score = contact.score if request.score is None else request.score
        handoff = Handoff(
            contact_id=cid, trigger=request.trigger, reason=request.reason, status="open",
            score=score, grade=grade, priority=priority(request.trigger, grade, score),
            predictive=predicted.get(cid),
            explanation=explained[cid], timeline=timelines_[cid], created_at=now,
            due_at=now + rules.handoff.sla)
        session.add(handoff)
        session.flush()
        _note(session, handoff, "opened", None, request.reason, now)
        out += _assign(session, config, handoff, contact, reps, now, exclude=None)
        out += _webhook(session, config, handoff, contact, reps, "sales.handoff", now)
        out.handoff_ids.append(handoff.id)
        out.events.append(NewEvent(cid, "sales.handoff", {
            "handoff_id": handoff.id, "trigger": request.trigger, "reason": request.reason,
            "score": score, "grade": grade}, now, source="scoring"))
    return out


def _follow_ups(session: Session, requests: Sequence[HandoffRequest], now: datetime
                ) -> Outcome:
    """A journey (or a marketer) hands off a lead sales already has: the reason joins the
    open hand-off's trail instead of opening a second one."""
    out = Outcome()
    if not requests:
        return out
    open_ids = dict(session.execute(select(Handoff.contact_id, Handoff.id).where(
        Handoff.contact_id.in_([r.contact_id for r in requests]),
        Handoff.status.in_(("open", "accepted")))).all())
    for request in requests:
        handoff_id = open_ids[request.contact_id]
        session.add(HandoffNote(handoff_id=handoff_id, at=now, action=request.trigger,
                                note=request.reason))
        out.events.append(NewEvent(request.contact_id, "sales.handoff", {
            "handoff_id": handoff_id, "trigger": request.trigger, "reason": request.reason,
            "follow_up": True}, now, source="scoring"))
    return out


def explanation(session: Session, rules: Rules, contact_id: int, now: datetime
                ) -> list[dict[str, Any]]:
    return explanations(session, rules, [contact_id], now)[contact_id]


def explanations(session: Session, rules: Rules, ids: Sequence[int], now: datetime
                 ) -> dict[int, list[dict[str, Any]]]:
    """Per contact, the rules behind its score; one query for a batch's hand-offs."""
    entries: dict[int, list[tuple[str, str, float, datetime, int]]] = {cid: [] for cid in ids}
    for row in session.execute(select(ScoreEntry.contact_id, ScoreEntry.rule, ScoreEntry.kind,
                                      ScoreEntry.delta, ScoreEntry.at, ScoreEntry.entries)
                               .where(one_of(session, ScoreEntry.contact_id, ids))):
        # `entries`: how many changes a folded row stands for (scoring/retention.py)
        entries[row.contact_id].append((row.rule, row.kind, row.delta, row.at, row.entries))
    return {cid: [{"rule": c.rule, "label": c.label, "kind": c.kind, "points": c.points,
                   "events": c.events} for c in explain(rules, rows, now)]
            for cid, rows in entries.items()}


def timelines(session: Session, ids: Sequence[int], size: int = TIMELINE_SIZE
              ) -> dict[int, list[dict[str, Any]]]:
    """Per contact, its latest `size` events, newest first; one query for a batch's
    hand-offs (each contact's rows numbered by a window, the first `size` kept)."""
    place = func.row_number().over(partition_by=Event.contact_id,
                                   order_by=(Event.occurred_at.desc(), Event.id.desc()))
    ranked = (select(Event.contact_id, Event.type, Event.occurred_at, Event.properties,
                     place.label("place"))
              .where(one_of(session, Event.contact_id, ids)).subquery())
    out: dict[int, list[dict[str, Any]]] = {cid: [] for cid in ids}
    for r in session.execute(select(ranked).where(ranked.c.place <= size)
                             .order_by(ranked.c.contact_id, ranked.c.place)):
        out[r.contact_id].append({"type": r.type, "at": r.occurred_at.isoformat(),
                                  "detail": _detail(r.properties)})
    return out


def _detail(properties: dict[str, Any] | None) -> str:
    keep = ("path", "url", "template", "score", "category", "reason", "kind", "amount",
            "service", "seat", "journey", "title")
    props = properties or {}
    return ", ".join(f"{k}: {props[k]}" for k in keep if props.get(k) not in (None, ""))[:200]


def _reps(session: Session) -> dict[int, User]:
    query = select(User).where(User.role == "sales", User.active.is_(True)).order_by(User.id)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update()  # concurrent batches take turns in the same order
    return {u.id: u for u in session.scalars(query)}


def _assign(session: Session, config: SalesConfig, handoff: Handoff, contact: Contact,
            reps: dict[int, User], now: datetime, exclude: int | None) -> Outcome:
    candidates = [Rep(u.id, tuple(u.verticals or ()), tuple(u.territories or ()),
                      u.last_assigned_at) for u in reps.values()]
    chosen = choose_rep(candidates, contact.industry, contact.country, exclude)
    if chosen is None:
        if exclude is None:
            _note(session, handoff, "unassigned", None, "No active sales rep covers this "
                  "lead; it waits in the shared queue.", now)
        return Outcome()
    user = reps[chosen.id]
    previous = handoff.assigned_to
    handoff.assigned_to, handoff.assigned_at = user.id, now
    # Strictly later than any earlier turn, so leads assigned in the same instant (one
    # batch) still go round the reps in order.
    user.last_assigned_at = max([now] + [u.last_assigned_at + timedelta(microseconds=1)
                                         for u in reps.values() if u.last_assigned_at])
    action = "reassigned" if previous else "assigned"
    _note(session, handoff, action, None, f"Assigned to {user.name or user.email}.", now)
    return notify(session, config, handoff, contact, user, now)


def notify(session: Session, config: SalesConfig, handoff: Handoff, contact: Contact,
           user: User, now: datetime) -> Outcome:
    """Email the rep (transactional, one per hand-off, rep and reminder)."""
    contact.attributes = merge_attributes(contact.attributes or {}, {"handoff": {
        "id": handoff.id, "score": handoff.score, "grade": handoff.grade,
        "reason": handoff.reason, "trigger": handoff.trigger,
        "touches": touches(session, contact.id, handoff.created_at).total,
        "url": f"{config.base_url}/sales/handoffs/{handoff.id}",
        "top": [e["label"] for e in handoff.explanation[:3]],
        "reminder": handoff.escalations > 0}})
    key = f"handoff:{handoff.id}:notify:{user.id}:{handoff.escalations}"
    ids = insert_ignore(session, Send, [{
        "send_key": key, "contact_id": contact.id, "to_email": user.email, "role": "sales_rep",
        "template": NOTIFY_TEMPLATE, "variant": "", "message_class": "transactional",
        "status": "queued", "created_at": now, "due_at": now}], "send_key")
    return Outcome(send_ids=ids)


def _webhook(session: Session, config: SalesConfig, handoff: Handoff, contact: Contact,
             reps: dict[int, User], event: str, now: datetime) -> Outcome:
    if not config.crm_webhook_url:
        return Outcome()
    rep = reps.get(handoff.assigned_to) if handoff.assigned_to else None
    if rep is None and handoff.assigned_to:
        rep = session.get(User, handoff.assigned_to)
    payload = {
        "event": event, "at": now.isoformat(),
        "handoff": {"id": handoff.id, "status": handoff.status, "trigger": handoff.trigger,
                    "reason": handoff.reason, "score": handoff.score, "grade": handoff.grade,
                    "priority": handoff.priority, "predictive": handoff.predictive,
                    "outcome_reason": handoff.outcome_reason,
                    "touches": touches(session, contact.id, handoff.created_at).total,
                    "url": f"{config.base_url}/sales/handoffs/{handoff.id}"},
        "lead": {"id": contact.id, "email": contact.email, "first_name": contact.first_name,
                 "last_name": contact.last_name, "company": contact.company,
                 "role": contact.role, "industry": contact.industry,
                 "company_size": contact.company_size, "country": contact.country,
                 "stage": contact.stage},
        "explanation": handoff.explanation, "timeline": handoff.timeline,
        "rep": {"email": rep.email, "name": rep.name} if rep else None,
    }
    ids = insert_ignore(session, WebhookDelivery, [{
        "delivery_key": f"handoff:{handoff.id}:{event}", "url": config.crm_webhook_url,
        "event": event, "payload": payload, "status": "pending", "created_at": now,
        "due_at": now}], "delivery_key")
    return Outcome(webhook_ids=ids)


def _note(session: Session, handoff: Handoff, action: str, user_id: int | None, note: str,
          now: datetime) -> None:
    session.add(HandoffNote(handoff_id=handoff.id, at=now, action=action, user_id=user_id,
                            note=note))
