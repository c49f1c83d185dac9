"""Scoring and sales for the outside world (web, CLI, actors, scheduler): one transaction
each, events through the pipeline, and the resulting work kicked after the commit."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from nurture.config import Settings
from nurture.contacts.models import Contact
from nurture.db import Database
from nurture.unit_of_work import Works
from nurture.users.models import User
from scoring import sales
from scoring.errors import HandoffInvalid, ScoringPaused
from scoring.features import WINDOW
from scoring.handoffs import Outcome, open_handoffs
from scoring.models import ContactScore, Handoff
from scoring.repository import recompute_all
from scoring.scorer import HandoffRequest, refresh_missing, score_batch
from scoring.subscriber import Setup, setup_for

log = logging.getLogger(__name__)


def _setup(settings: Settings) -> Setup:
    setup = setup_for(settings)
    if setup is None:
        raise ScoringPaused("The scoring rules file is not valid; run `nurture scoring "
                            "validate` to see why.")
    return setup


def _run(works: Works, settings: Settings,
         work: Callable[[Session, Setup, datetime], Outcome]) -> Outcome:
    setup, now = _setup(settings), works.now()
    with works.work(now) as unit:
        outcome = work(unit.session, setup, now)
        unit.record(outcome.events)
        unit.due("deliver_sends", outcome.send_ids)
        unit.due("deliver_webhooks", outcome.webhook_ids)
    return outcome


def _user(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None or not user.active:
        raise HandoffInvalid("Your account is not active.")
    return user


def accept(works: Works, settings: Settings, handoff_id: int, user_id: int) -> None:
    _run(works, settings, lambda s, setup, now: sales.accept(
        s, setup.config, handoff_id, _user(s, user_id), now))


def reject(works: Works, settings: Settings, handoff_id: int, user_id: int, code: str,
           detail: str) -> None:
    _run(works, settings, lambda s, setup, now: sales.reject(
        s, setup.config, handoff_id, _user(s, user_id), code, detail, now))


def close(works: Works, settings: Settings, handoff_id: int, user_id: int, won: bool,
          detail: str, amount: float | None = None) -> None:
    _run(works, settings, lambda s, setup, now: sales.close(
        s, setup.config, handoff_id, _user(s, user_id), won, detail, amount, now))


def hand_off(works: Works, settings: Settings, contact_id: int, reason: str,
             trigger: str = "manual") -> list[int]:
    """Hand a lead to sales now (a marketer's decision or `nurture scoring handoff`); the
    cool-down and the one-open-hand-off rule still apply. Returns the new hand-off ids."""
    request = HandoffRequest(contact_id, trigger, reason)
    return _run(works, settings, lambda s, setup, now: open_handoffs(s, setup.rules, setup.config,
                                                        [request], now)).handoff_ids


def escalate_due(works: Works, settings: Settings, ids: list[int]) -> None:
    _run(works, settings, lambda s, setup, now: sales.escalate(
        s, setup.rules, setup.config, ids, now))


def run_scoring_jobs(works: Works, settings: Settings, db: Database) -> dict[str, int]:
    """The periodic job: fit for new contacts, then everyone's decay (in chunks, side by
    side on PostgreSQL: `db`)."""
    setup = setup_for(settings)
    if setup is None:
        return {}
    now = works.now()
    done = {"fitted": 0}
    while True:  # hand-offs from fit alone are not a thing: fit never meets velocity
        with works.transaction() as session:
            count = refresh_missing(session, setup.rules, now)
        done["fitted"] += count
        if count < 5000:
            break
    done["decayed"] = recompute_all(db, setup.rules, now)
    with works.transaction() as session:
        done["predicted"] = predict_recent(session, now)
    return done


def refit_everyone(works: Works, settings: Settings, chunk: int = 2000) -> int:
    """Re-evaluate every contact's fit rules (after the rules file changed): each change is a
    ledger delta. Engagement already earned stays as it was earned."""
    setup, now, after, done = _setup(settings), works.now(), 0, 0
    while True:
        with works.transaction() as session:
            contacts = {c.id: c for c in session.scalars(
                select(Contact).where(Contact.id > after).order_by(Contact.id).limit(chunk))}
            if not contacts:
                return done
            score_batch(session, setup.rules, contacts, [], [], set(contacts), now)
        after, done = max(contacts), done + len(contacts)


def predict_recent(session: Session, now: datetime) -> int:
    """The predictive score of everyone active within the model's engagement window (their
    features moved); others keep theirs until `nurture scoring approve` rescores all."""
    from scoring.model_store import score_contacts  # noqa: PLC0415 (scipy, ~1 s: on use)

    ids = list(session.scalars(select(ContactScore.contact_id).where(
        ContactScore.engagement_at >= now - WINDOW - timedelta(days=1))))
    return len(score_contacts(session, ids, now)) if ids else 0


def open_for(works: Works, contact_id: int) -> int | None:
    with works.sessions() as session:
        return session.scalar(select(Handoff.id).where(
            Handoff.contact_id == contact_id, Handoff.status.in_(("open", "accepted"))))
