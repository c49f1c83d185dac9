"""Referral actions at the runtime level: one transaction each, events recorded with them
and their journeys kicked after commit. The web app, the CLI and the scheduler call these."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from nurture.contacts.models import Contact
from nurture.events.bus import NewEvent
from nurture.unit_of_work import Works
from referral import ledger, sources
from referral.errors import Conflict, Invalid, NotFound
from referral.models import Referral, ReferralClick, ReferralSource, Reward

log = logging.getLogger(__name__)
BATCH = 500
DECISIONS = ("approve", "reject")


@dataclass(frozen=True)
class Click:
    code: str
    target: str  # local path of the landing page
    reason: str  # "ok" or why the visit carries no attribution


def click(works: Works, code: str, visitor: str, via: str = "link") -> Click:
    """A visit of a share link (or a landing page with `?ref=`): counted, and raised as
    `referral.clicked` on the referrer (once per visitor and day, so a reload or a link
    scanner does not flood journeys). An unknown, paused or expired code is logged."""
    now = works.now()
    with works.work(now) as work:
        session = work.session
        found = sources.find(session, code, now)
        if found.source is None:
            log.info("referral: %s visit with %s code %r carries no attribution", via,
                     found.reason, str(code)[:64])
            return Click("", "/l/trial", found.reason)
        source = found.source
        session.add(ReferralClick(source_id=source.id, visitor=visitor[:40], via=via, at=now))
        if source.contact_id is not None:
            work.record([NewEvent(
                source.contact_id, "referral.clicked", {"code": source.code, "via": via},
                now, "referral",
                dedupe_key=f"referral.clicked:{source.id}:{visitor or '-'}:{now.date()}")])
        result = Click(source.code, sources.landing_target(source), "ok")
    return result


def create_source(works: Works, type_: str, name: str, email: str = "", campaign: str = "",
                  landing: str = "trial", actor: str = "system",
                  expires_at: datetime | None = None) -> tuple[int, str]:
    with works.transaction() as session:
        row = sources.create(session, type_, name, email, campaign, landing, works.now(),
                             actor, expires_at)
        return row.id, row.code


def set_source_status(works: Works, source_id: int, status: str) -> None:
    if status not in ("active", "paused"):
        raise Invalid("A source is either active or paused.")
    with works.transaction() as session:
        row = session.get(ReferralSource, source_id)
        if row is None:
            raise NotFound(f"There is no referral source with id {source_id}.")
        row.status = status


def review(works: Works, referral_id: int, decision: str, actor: str, note: str = "") -> str:
    """A marketer's verdict on a flagged referral: approve clears it (its rewards follow the
    hold as usual), reject voids its rewards. Returns the new review state."""
    if decision not in DECISIONS:
        raise Invalid("Choose to approve or reject the referral.")
    note = " ".join(str(note or "").split())[:500]
    if decision == "reject" and not note:
        raise Invalid("Give a reason for rejecting the referral.")
    now = works.now()
    with works.transaction() as session:
        row = session.get(Referral, referral_id, with_for_update=True)
        if row is None:
            raise NotFound(f"There is no referral with id {referral_id}.")
        if row.review != "flagged":
            raise Conflict("This referral is not waiting for review; it was "
                           f"{row.review or 'never flagged'}.")
        row.review = "cleared" if decision == "approve" else "rejected"
        row.review_note, row.reviewed_by, row.reviewed_at = note, actor[:320], now
        if decision == "reject":
            ledger.void_pending(session, row.id, actor, f"Fraud review: {note}", now,
                                include_approved=True)
        return row.review


def move_reward(works: Works, reward_id: int, to: str, actor: str, reason: str = "") -> str:
    """A marketer approves early, marks paid, or voids a reward (audited)."""
    if to not in ("approved", "paid", "voided", "fulfilled"):
        raise Invalid("A reward can be approved, marked paid or fulfilled, or voided.")
    now = works.now()
    with works.work(now) as work:
        reward = ledger.locked(work.session, reward_id)
        moved = ledger.move(work.session, reward, to, actor, reason or _default_reason(to),
                            now)
        work.record([moved.event] if moved.event else [])
    return moved.to


def fulfil(works: Works, reward_id: int, actor: str, note: str) -> str:
    """A person fulfils a thank-you, a referral back, a feature or a gift and says what
    they did (the lead passed, the permission asked, the parcel sent). The ledger keeps who
    and when; `reward.fulfilled` goes on the referrer's timeline."""
    return move_reward(works, reward_id, "fulfilled", actor, note)


def _default_reason(to: str) -> str:
    return {"approved": "Approved by a marketer.", "paid": "Paid."}.get(to, "")


def approve_due(works: Works, batch: int = BATCH) -> int:
    """Approve pending rewards whose hold period is over (the scheduler runs this every
    minute; safe on several schedulers: conditional updates). Returns how many."""
    total = 0
    while True:
        now = works.now()
        with works.work(now) as work:
            session = work.session
            rows = ledger.due_for_approval(session, now, batch)
            events = []
            for row in rows:
                try:
                    moved = ledger.move(session, row, "approved", ledger.SYSTEM,
                                        "The hold period is over.", now)
                except Conflict:
                    continue
                total += 1
                if moved.event:
                    events.append(moved.event)
            work.record(events)
        if len(rows) < batch:
            return total


def run_referral_jobs(works: Works) -> dict[str, int]:
    return {"rewards_approved": approve_due(works)}


def backfill_codes(works: Works, stages: tuple[str, ...] = ("onboard", "adopt", "renew",
                                                           "expand")) -> int:
    """Give every existing customer without a code their own (for installations that had
    customers before referrals)."""
    made = 0
    now = works.now()
    with works.transaction() as session:
        for contact in session.scalars(select(Contact).where(Contact.stage.in_(stages))):
            if not ((contact.attributes or {}).get("referral") or {}).get("code"):
                sources.ensure_for_contact(session, contact, now)
                made += 1
    return made


def reward(works: Works, reward_id: int) -> Reward:
    with works.sessions() as session:
        row = session.get(Reward, reward_id)
        if row is None:
            raise NotFound(f"There is no reward with id {reward_id}.")
        return row
