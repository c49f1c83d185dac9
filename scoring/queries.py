"""Read models for people: a contact's score card (parts, grade, explanation, predictive
contributions), the sales inbox (and the API's pages of hand-offs, by the same access
rule), and the best customers by lifetime value."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, tzinfo
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from nurture.config import Settings
from nurture.contacts.models import Contact
from nurture.contacts.services import email_key
from nurture.db import Database
from nurture.events.touches import BEFORE_PURCHASE, counts_before, touches
from nurture.paging import Key, after, split
from nurture.unit_of_work import Works
from nurture.users.models import User
from scoring.access import Viewer, sees_every_lead, visible_to
from scoring.clv import CLVReport, CustomerValue, value_customers
from scoring.clv_data import contact_emails, periods_per_year, summarize, transactions_from_events
from scoring.errors import CLVError
from scoring.handoffs import explanation
from scoring.lookalike import Estimate, inbox_order, urgency
from scoring.models import ContactScore, Handoff, HandoffNote
from scoring.subscriber import setup_for
from scoring.value import predicted, value_book

OPEN = ("open", "accepted")


def score_card(works: Works, settings: Settings, contact_id: int | None = None,
               email: str | None = None) -> dict[str, Any] | None:
    setup, now = setup_for(settings), works.now()
    with works.sessions() as session:
        query = select(Contact)
        query = query.where(Contact.id == contact_id) if contact_id is not None else \
            query.where(Contact.email_key == email_key(email or ""))
        contact = session.scalar(query)
        if contact is None:
            return None
        part = session.get(ContactScore, contact.id)
        half_life = setup.rules.half_life if setup else None
        engagement = 0.0
        if part and part.engagement_at and half_life:
            engagement = part.engagement * 0.5 ** ((now - part.engagement_at) / half_life)
        live = _predictive(session, contact.id, now)
        return {
            "contact_id": contact.id, "email": contact.email, "score": contact.score,
            "grade": part.grade if part else "D", "fit": part.fit if part else 0.0,
            "engagement": round(engagement, 2),
            "explanation": explanation(session, setup.rules, contact.id, now) if setup else [],
            "predictive": live.probability if live else None,
            "model_version": live.version if live else None,
            "predictive_explanation": live.as_dicts() if live else [],
        }


def _predictive(session, contact_id: int, now):
    """The live prediction with the latest approved model (None without one)."""
    from scoring.model_store import explain_contact  # noqa: PLC0415 (scipy, ~1 s: on use)

    return explain_contact(session, contact_id, now)


def inbox(works: Works, user: Viewer, show: str = "mine") -> list[dict[str, Any]]:
    """Hand-offs for a user: `mine` (assigned to them, plus the unassigned queue), `all`
    (marketers and admins), or `closed` (theirs, most recent first). A rep never gets
    another rep's lead, whatever `show` says."""
    with works.sessions() as session:
        query = (select(Handoff, Contact, User.name, User.email)
                 .join(Contact, Contact.id == Handoff.contact_id)
                 .outerjoin(User, User.id == Handoff.assigned_to))
        if show == "closed":
            query = query.where(Handoff.status.not_in(OPEN)).order_by(Handoff.closed_at.desc())
        else:
            query = query.where(Handoff.status.in_(OPEN)).order_by(
                case((Handoff.status == "open", 0), else_=1), Handoff.priority.desc(),
                Handoff.created_at)
        if show != "all" or not sees_every_lead(user):
            query = query.where((Handoff.assigned_to == user.id) | (
                (Handoff.assigned_to.is_(None)) if show != "closed" else False))
        rows = session.execute(query.limit(200)).all()
        before = counts_before(session, {h.id: (c.id, h.created_at) for h, c, _n, _e in rows})
        found = [_row(h, c, name or rep_email, before[h.id]) for h, c, name, rep_email in rows]
        if show != "closed":
            found = _by_value(session, found, works.now())
        return found


def _by_value(session: Session, rows: list[dict[str, Any]], now: datetime
              ) -> list[dict[str, Any]]:
    """The open hand-offs with their predicted value, the most valuable first among leads
    of the same urgency (`scoring.lookalike.inbox_order`)."""
    if not rows:
        return rows
    values = predicted(session, [r["contact_id"] for r in rows],
                       value_book(session, now.astimezone(UTC).date(), UTC))
    for row in rows:
        row.update(_value(values.get(row["contact_id"])))
        row["urgency"] = urgency(row["status"], row["trigger"], bool(
            row["escalations"] or (row["due_at"] and row["due_at"] <= now)))
    return sorted(rows, key=lambda r: inbox_order(r["urgency"], r["value"], r["priority"],
                                                  r["created_at"].timestamp()))


def _value(found: Estimate | None) -> dict[str, Any]:
    return {"value": found.clv if found else None, "value_basis": found.basis if found
            else "", "value_label": found.label if found else ""}


def _row(handoff: Handoff, contact: Contact, rep: str | None,
         touches_before: int) -> dict[str, Any]:
    return {"id": handoff.id, "status": handoff.status, "trigger": handoff.trigger,
            "touches": touches_before, "typical_touches": BEFORE_PURCHASE,
            "reason": handoff.reason, "score": handoff.score, "grade": handoff.grade,
            "priority": handoff.priority, "predictive": handoff.predictive,
            "created_at": handoff.created_at, "rep": rep or "",
            "due_at": handoff.due_at, "escalations": handoff.escalations,
            "name": f"{contact.first_name} {contact.last_name}".strip() or contact.email,
            "company": contact.company, "email": contact.email, "industry": contact.industry,
            "contact_id": contact.id, "current_score": contact.score}


def handoff_detail(works: Works, settings: Settings, handoff_id: int,
                   viewer: Viewer) -> dict[str, Any] | None:
    """One hand-off with its contact, notes and score card; None when there is none with
    this id that `viewer` may see (`scoring.access`)."""
    with works.sessions() as session:
        row = session.execute(select(Handoff, Contact).join(
            Contact, Contact.id == Handoff.contact_id).where(
            Handoff.id == handoff_id, visible_to(viewer))).first()
        if row is None:
            return None
        handoff, contact = row
        rep = session.get(User, handoff.assigned_to) if handoff.assigned_to else None
        notes = session.execute(select(HandoffNote, User.name).outerjoin(
            User, User.id == HandoffNote.user_id).where(HandoffNote.handoff_id == handoff_id)
            .order_by(HandoffNote.id)).all()
        before = touches(session, contact.id, handoff.created_at)
        detail = _row(handoff, contact, (rep.name or rep.email) if rep else None, before.total)
        detail["touch_kinds"] = before.by_kind
        now = works.now()
        detail.update(_value(predicted(session, [contact.id], value_book(
            session, now.astimezone(UTC).date(), UTC)).get(contact.id)))
        detail.update({
            "assigned_to": handoff.assigned_to, "explanation": handoff.explanation,
            "timeline": handoff.timeline, "outcome_reason": handoff.outcome_reason,
            "role": contact.role, "company_size": contact.company_size,
            "country": contact.country, "stage": contact.stage, "phone": contact.phone,
            "notes": [{"at": n.at, "action": n.action, "note": n.note, "by": name or ""}
                      for n, name in notes],
        })
    card = score_card(works, settings, contact_id=detail["contact_id"])
    detail["card"] = card
    return detail


def customer_value(db: Database, tz: tzinfo, end: date, horizon: int, top: int = 5,
                   discount_rate: float = 0.10
                   ) -> tuple[CLVReport, list[tuple[CustomerValue, str]]]:
    """Lifetime value over `horizon` weeks from Nurture's own purchase events up to `end`
    (days taken in `tz`), and the `top` customers with their email addresses. Raises
    `CLVError` with a sentence when there is nothing to value or the models cannot fit."""
    with db.sessions() as session:
        transactions = transactions_from_events(session, tz=tz)
        summaries = summarize(transactions, end, "weeks")
        if not summaries:
            raise CLVError("No customer has a recorded purchase yet.")
        report = value_customers(summaries, horizon, discount_rate, periods_per_year("weeks"))
        best = report.best(top)
        emails = contact_emails(session, [c.customer_id for c in best])
    return report, [(c, emails.get(c.customer_id, "")) for c in best]


@dataclass(frozen=True)
class HandoffView:
    """A hand-off as the API shows it: the row, its lead's address, its rep's, and (for
    one read alone) its notes, oldest first."""

    handoff: Handoff
    email: str
    rep_email: str | None
    notes: tuple[tuple[datetime, str, str, str | None], ...] = ()  # at, action, note, by


def _visible(viewer: Viewer) -> Any:
    return (select(Handoff, Contact.email, User.email)
            .join(Contact, Contact.id == Handoff.contact_id)
            .outerjoin(User, User.id == Handoff.assigned_to).where(visible_to(viewer)))


def handoffs_page(works: Works, viewer: Viewer, statuses: tuple[str, ...] | None,
                  owner: str | None, unassigned: bool, last: Key | None, limit: int
                  ) -> tuple[list[HandoffView], Key | None]:
    """A page of the hand-offs `viewer` may see (`scoring.access`, as the inbox), newest
    first; only those in `statuses`, of the rep whose address is `owner`, or `unassigned`,
    when asked."""
    query = _visible(viewer)
    if statuses is not None:
        query = query.where(Handoff.status.in_(statuses))
    if owner is not None:
        query = query.where(func.lower(User.email) == owner.strip().lower())
    if unassigned:
        query = query.where(Handoff.assigned_to.is_(None))
    with works.sessions() as session:
        rows = session.execute(after(query, [Handoff.id], last, limit, descending=True)).all()
        found = [HandoffView(h, email, rep) for h, email, rep in rows]
    return split(found, limit, lambda v: [v.handoff.id])


def handoff_view(works: Works, handoff_id: int, viewer: Viewer) -> HandoffView | None:
    """One hand-off with its notes; None when there is none `viewer` may see."""
    with works.sessions() as session:
        row = session.execute(_visible(viewer).where(Handoff.id == handoff_id)).first()
        if row is None:
            return None
        notes = session.execute(select(HandoffNote.at, HandoffNote.action, HandoffNote.note,
                                       User.email)
                                .outerjoin(User, User.id == HandoffNote.user_id)
                                .where(HandoffNote.handoff_id == handoff_id)
                                .order_by(HandoffNote.id)).all()
        return HandoffView(row[0], row[1], row[2],
                           tuple((at, action, note, by) for at, action, note, by in notes))
