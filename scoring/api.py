"""Scoring and sales for the outside world (web, CLI, actors, scheduler): one transaction
each, events through the pipeline, and the resulting work kicked after the commit."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from nurture.app.runtime import Runtime
from nurture.events.services import record_events
from nurture.users.models import User
from scoring import sales
from scoring.errors import HandoffInvalid, ScoringPaused
from scoring.handoffs import Outcome, open_handoffs
from scoring.pipeline import Setup, setup_for
from scoring.repository import recompute_all
from scoring.services import HandoffRequest, refresh_missing

log = logging.getLogger(__name__)


def _setup(rt: Runtime) -> Setup:
    setup = setup_for(rt.settings)
    if setup is None:
        raise ScoringPaused("The scoring rules file is not valid; run `nurture scoring "
                            "validate` to see why.")
    return setup


def _run(rt: Runtime, work: Callable[[Session, Setup, datetime], Outcome]) -> Outcome:
    setup, now = _setup(rt), rt.clock.now()
    with rt.work(now) as unit:
        outcome = work(unit.session, setup, now)
        if outcome.events:
            unit.due("advance_enrollments",
                     record_events(unit.session, rt.versions, outcome.events, now).kick)
        unit.due("deliver_sends", outcome.send_ids)
        unit.due("deliver_webhooks", outcome.webhook_ids)
    return outcome


def _user(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None or not user.active:
        raise HandoffInvalid("Your account is not active.")
    return user


def accept(rt: Runtime, handoff_id: int, user_id: int) -> None:
    _run(rt, lambda s, setup, now: sales.accept(s, setup.config, handoff_id, _user(s, user_id),
                                                now))


def reject(rt: Runtime, handoff_id: int, user_id: int, code: str, detail: str) -> None:
    _run(rt, lambda s, setup, now: sales.reject(s, setup.config, handoff_id, _user(s, user_id),
                                                code, detail, now))


def close(rt: Runtime, handoff_id: int, user_id: int, won: bool, detail: str,
          amount: float | None = None) -> None:
    _run(rt, lambda s, setup, now: sales.close(s, setup.config, handoff_id, _user(s, user_id),
                                               won, detail, amount, now))


def hand_off(rt: Runtime, contact_id: int, reason: str, trigger: str = "manual") -> list[int]:
    """Hand a lead to sales now (a marketer's decision or `nurture scoring handoff`); the
    cool-down and the one-open-hand-off rule still apply. Returns the new hand-off ids."""
    request = HandoffRequest(contact_id, trigger, reason)
    return _run(rt, lambda s, setup, now: open_handoffs(s, setup.rules, setup.config,
                                                        [request], now)).handoff_ids


def escalate_due(rt: Runtime, ids: list[int]) -> None:
    _run(rt, lambda s, setup, now: sales.escalate(s, setup.rules, setup.config, ids, now))


def run_scoring_jobs(rt: Runtime) -> dict[str, int]:
    """The periodic job: fit for new contacts, then everyone's decay."""
    setup = setup_for(rt.settings)
    if setup is None:
        return {}
    now = rt.clock.now()
    done = {"fitted": 0}
    while True:  # hand-offs from fit alone are not a thing: fit never meets velocity
        with rt.db.transaction() as session:
            count = refresh_missing(session, setup.rules, now)
        done["fitted"] += count
        if count < 5000:
            break
    done["decayed"] = recompute_all(rt.db, setup.rules, now)
    with rt.db.transaction() as session:
        done["predicted"] = predict_recent(session, now)
    return done


def refit_everyone(rt: Runtime, chunk: int = 2000) -> int:
    """Re-evaluate every contact's fit rules (after the rules file changed): each change is a
    ledger delta. Engagement already earned stays as it was earned."""
    from nurture.contacts.models import Contact
    from scoring.services import score_batch

    setup, now, after, done = _setup(rt), rt.clock.now(), 0, 0
    while True:
        with rt.db.transaction() as session:
            contacts = {c.id: c for c in session.scalars(
                select(Contact).where(Contact.id > after).order_by(Contact.id).limit(chunk))}
            if not contacts:
                return done
            score_batch(session, setup.rules, contacts, [], [], set(contacts), now)
        after, done = max(contacts), done + len(contacts)


def predict_recent(session: Session, now: datetime) -> int:
    """The predictive score of everyone active within the model's engagement window (their
    features moved); others keep theirs until `nurture scoring approve` rescores all."""
    from scoring.features import WINDOW
    from scoring.model_store import score_contacts
    from scoring.models import ContactScore

    ids = list(session.scalars(select(ContactScore.contact_id).where(
        ContactScore.engagement_at >= now - WINDOW - timedelta(days=1))))
    return len(score_contacts(session, ids, now)) if ids else 0


def open_for(rt: Runtime, contact_id: int) -> int | None:
    from scoring.models import Handoff

    with rt.db.sessions() as session:
        return session.scalar(select(Handoff.id).where(
            Handoff.contact_id == contact_id, Handoff.status.in_(("open", "accepted"))))
