"""Broadcasts, the use cases: create one (its audience made into sends at once, in bulk),
pause, resume and cancel it, and decide its A/B test and send the winner to the rest.

A broadcast's recipients are rows of `sends`, keyed `broadcast:<id>:<contact>`: made once
(running it twice adds none), delivered by the send pipeline like every marketing send,
so consent, suppression, topics, the send rate and, through `pacing.CapAndQuietHours`,
the frequency cap and quiet hours apply at send time. The rest of an A/B test's audience
waits as `waiting` sends (no due time) until the winner is chosen.
"""

from __future__ import annotations

import random
from datetime import datetime, time
from typing import Any

from sqlalchemy import Select, String, case, cast, func, literal, null, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from nurture.audiences import services as audiences
from nurture.audiences.errors import SegmentNotFound
from nurture.broadcasts import plan as plans
from nurture.broadcasts.arms import test_result
from nurture.broadcasts.errors import BroadcastConflict, BroadcastInvalid, BroadcastNotFound
from nurture.broadcasts.models import CANCELLED, REST, SENDING, TESTING, WAITING, Broadcast
from nurture.broadcasts.plan import Plan
from nurture.contacts import lists
from nurture.contacts.models import Contact, ContactList, ListMember
from nurture.db import Database, UTCDateTime, rowcount
from nurture.sending import pauses
from nurture.sending.classes import MARKETING
from nurture.sending.models import Send
from nurture.sending.render import TemplateStore
from nurture.violations import Violation

BATCH = 50_000  # contacts per INSERT ... SELECT: one statement each, never one per contact


def choosable(store: TemplateStore) -> list[str]:
    """The templates a broadcast may send: marketing ones, by name (a send picks the
    contact's variant and translation as always)."""
    return [name for name in store.folders()
            if "@" not in name and store.message_class(name) == MARKETING]


def key_prefix(broadcast_id: int) -> str:
    return f"broadcast:{broadcast_id}:"


def get(session: Session, broadcast_id: int) -> Broadcast:
    row = session.get(Broadcast, broadcast_id)
    if row is None:
        raise BroadcastNotFound(f"There is no broadcast #{broadcast_id}.")
    return row


def _audience(session: Session, plan: Plan) -> tuple[int, str]:
    """The segment's or list's id and name, from a name or an id."""
    ref = plan.audience_ref
    if plan.audience == plans.SEGMENT:
        try:
            found = audiences.find(session, int(ref) if ref.isdigit() else ref)
        except SegmentNotFound as exc:
            raise BroadcastInvalid([Violation("audience", str(exc))]) from exc
        return found.id, found.name
    list_id = int(ref) if ref.isdigit() else lists.find(session, ref)
    listed = None if list_id is None else session.get(ContactList, list_id)
    if listed is None:
        raise BroadcastInvalid([Violation("audience", f"There is no list {ref[:80]!r}.")])
    return listed.id, listed.name


def create(session: Session, plan: Plan, now: datetime, *, by: str,
           default_tz: str = "UTC", seed: int | None = None) -> Broadcast:
    """Save the broadcast and make its sends."""
    audience_id, audience_name = _audience(session, plan)
    row = Broadcast(
        name=plan.name, audience=plan.audience, audience_id=audience_id,
        audience_name=audience_name[:120], templates=list(plan.templates),
        subjects=list(plan.subjects) or [""] * len(plan.templates), topic=plan.topic,
        timing=plan.timing, send_at=plan.send_at,
        local_time=None if plan.local_time is None else plan.local_time.strftime("%H:%M"),
        sample_percent=plan.sample_percent if plan.tested else 0, metric=plan.metric,
        window_hours=int(plan.window.total_seconds() // 3600),
        seed=random.randrange(plans.BUCKETS) if seed is None else seed,
        status=TESTING if plan.tested else SENDING, created_at=now, created_by=by[:320])
    session.add(row)
    session.flush()
    materialize(session, row, now, default_tz)
    if plan.tested:  # the window runs from the last sample send's due time
        last = session.scalar(select(func.max(Send.due_at))
                              .where(Send.broadcast_id == row.id, Send.status == "queued"))
        row.winner_due_at = max(last or now, now) + plan.window
    return row


def _members(session: Session, row: Broadcast, now: datetime) -> Select:
    """The ids of the audience's contacts, as a SELECT (never loaded into Python)."""
    if row.audience == plans.SEGMENT:
        return audiences.contact_ids(session, row.audience_id, now)
    return select(ListMember.contact_id).where(ListMember.list_id == row.audience_id)


def _local(row: Broadcast) -> time | None:
    if row.local_time is None:
        return None
    hour, minute = row.local_time.split(":")
    return time(int(hour), int(minute))


def _due_by_zone(session: Session, row: Broadcast, members: Select, now: datetime,
                 default_tz: str) -> Any:
    """The due time as a SQL expression over the contact's zone: one value unless the
    broadcast goes at a local hour, then a CASE over the audience's (few) zones."""
    at = row.send_at
    if row.timing != plans.LOCAL:
        return literal(plans.due(row.timing, now, at, None, None), UTCDateTime())
    local = _local(row)
    zones = session.scalars(select(Contact.timezone).distinct()
                            .where(Contact.id.in_(members))).all()
    default = literal(plans.due(row.timing, now, at, local, "", default_tz), UTCDateTime())
    whens = {zone: literal(plans.due(row.timing, now, at, local, zone, default_tz),
                           UTCDateTime()) for zone in zones if zone}
    return case(whens, value=Contact.timezone, else_=default) if whens else default


def materialize(session: Session, row: Broadcast, now: datetime, default_tz: str) -> int:
    """Make the broadcast's sends for its audience, in INSERT ... SELECT batches; a send
    that exists already is left alone, so running this twice makes nothing new. Returns
    how many recipients the broadcast has."""
    members = _members(session, row, now)
    due = _due_by_zone(session, row, members, now, default_tz)
    bucket = (Contact.id * plans.MULTIPLIER + row.seed) % plans.BUCKETS
    templates, lines = row.templates, arm_subjects(row)
    status: Any
    due_at: Any
    template: Any
    variant: Any
    subject: Any
    if row.sample_percent and len(templates) > 1:
        sampled = bucket < row.sample_percent * plans.BUCKETS // 100
        arm = bucket % len(templates)
        status = case((sampled, literal("queued")), else_=literal(WAITING))
        due_at = case((sampled, due), else_=None)
        template = case((sampled, case(*[(arm == i, literal(t))
                                         for i, t in enumerate(templates)])),
                        else_=literal(templates[0]))
        variant = case((sampled, case(*[(arm == i, literal(plans.ARMS[i]))
                                        for i in range(len(templates))])),
                       else_=literal(REST))
        subject = case((sampled, case(*[(arm == i, _line(line))
                                        for i, line in enumerate(lines)])),
                       else_=null())  # the rest's is the winner's, written with it
    else:
        status, due_at = literal("queued"), due
        template, variant, subject = literal(templates[0]), literal(""), _line(lines[0])
    columns = {
        "send_key": literal(key_prefix(row.id)) + cast(Contact.id, String),
        "contact_id": Contact.id, "to_email": Contact.email, "role": literal("contact"),
        "template": template, "variant": variant, "subject": subject,
        "message_class": literal(MARKETING),
        "topic": literal(row.topic), "status": status, "attempts": literal(0),
        "created_at": literal(now, UTCDateTime()), "due_at": due_at,
        "broadcast_id": literal(row.id)}
    low, high = session.execute(select(func.min(Contact.id), func.max(Contact.id))
                                .where(Contact.id.in_(members))).one()
    module = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    if low is not None:
        for start in range(low, high + 1, BATCH):
            chosen = (select(*columns.values())
                      .where(Contact.id >= start, Contact.id < start + BATCH,
                             Contact.id.in_(members)))
            session.execute(module.insert(Send).from_select(list(columns), chosen)
                            .on_conflict_do_nothing(index_elements=["send_key"]))
    row.recipients = session.scalar(select(func.count()).select_from(Send)
                                    .where(Send.broadcast_id == row.id)) or 0
    return row.recipients


def arm_subjects(row: Broadcast) -> list[str]:
    """Each arm's subject line ("" for the template's own), beside `row.templates`."""
    lines = list(row.subjects or [])
    return lines + [""] * (len(row.templates) - len(lines))


def _line(line: str) -> Any:
    """An arm's subject line for a send's `subject` column: NULL keeps the template's."""
    return literal(line, String(300)) if line else null()


def _source(row: Broadcast) -> pauses.Source:
    return pauses.Source(pauses.BROADCAST, str(row.id))


def _live(session: Session, broadcast_id: int) -> Broadcast:
    row = get(session, broadcast_id)
    if row.status == CANCELLED:
        raise BroadcastConflict(f"The broadcast #{row.id} was cancelled.")
    return row


def pause(session: Session, broadcast_id: int, by: str, reason: str, now: datetime) -> bool:
    """Hold the broadcast's queued sends (nothing is dropped). False if already paused."""
    row = _live(session, broadcast_id)
    return pauses.pause(session, _source(row), reason, by, now) is not None


def resume(session: Session, broadcast_id: int, by: str, reason: str, now: datetime) -> int:
    """End the pause; the held sends are due again (each at its own time, or now if that
    has passed; the cap and quiet hours apply as they go). Returns how many."""
    row = get(session, broadcast_id)
    source = _source(row)
    pauses.resume(session, source, by, reason, now)
    held = pauses.held(session, source)
    return pauses.release(session, {send.id: max(send.held_due_at, now) for send in held})


def cancel(session: Session, broadcast_id: int, by: str, now: datetime) -> int:
    """Stop every send not yet handed to the mail server, in one conditional UPDATE: a send
    a worker marks `sending` first goes, one cancelled first never does (the mark needs it
    `queued`). Returns how many were cancelled; the broadcast keeps the count."""
    row = _live(session, broadcast_id)
    result = session.execute(
        update(Send).where(Send.broadcast_id == row.id, Send.status.in_(("queued", WAITING)))
        .values(status=CANCELLED, due_at=None, held_due_at=None,
                reason=f"cancelled by {by}"[:200])
        .execution_options(synchronize_session=False))
    row.status, row.cancelled_at, row.cancelled_by = CANCELLED, now, by[:320]
    row.winner_due_at = None
    row.never_sent = rowcount(result)
    return row.never_sent


def release_rest(session: Session, row: Broadcast, winner: str, now: datetime,
                 default_tz: str) -> int:
    """Give the waiting rest of the audience the winner's template and subject line, and
    a due time (held instead, while the broadcast is paused). Returns how many."""
    template = row.templates[plans.ARMS.index(winner)]
    line = arm_subjects(row)[plans.ARMS.index(winner)]
    zone = (select(Contact.timezone).where(Contact.id == Send.contact_id)
            .scalar_subquery())
    due: Any = literal(plans.due(row.timing, now, row.send_at, None, None), UTCDateTime())
    if row.timing == plans.LOCAL:
        zones = session.scalars(select(Contact.timezone).distinct().where(
            Contact.id.in_(select(Send.contact_id).where(Send.broadcast_id == row.id,
                                                         Send.status == WAITING)))).all()
        local = _local(row)
        whens = {z: literal(plans.due(row.timing, now, None, local, z, default_tz),
                            UTCDateTime()) for z in zones if z}
        default = literal(plans.due(row.timing, now, None, local, "", default_tz),
                          UTCDateTime())
        due = case(whens, value=zone, else_=default) if whens else default
    paused = pauses.reasons(session, pauses.BROADCAST).get(str(row.id))
    timing = ({"due_at": None, "held_due_at": due, "reason": paused[:200]} if paused
              else {"due_at": due})
    result = session.execute(
        update(Send).where(Send.broadcast_id == row.id, Send.status == WAITING)
        .values(status="queued", template=template, subject=line or None, **timing)
        .execution_options(synchronize_session=False))
    return rowcount(result)


def choose_winner(session: Session, broadcast_id: int, now: datetime, *, by: str,
                  default_tz: str = "UTC") -> str:
    """Decide the test now and send the winner to the rest: the arm the test found, or,
    when none reached the threshold, the arm with the best rate so far (what the
    marketer asked for by clicking, or what the window's end means). Returns the arm."""
    row = _live(session, broadcast_id)
    if row.status != TESTING:
        raise BroadcastConflict(f"The broadcast #{row.id} has no A/B test waiting for a "
                                f"winner.")
    result = test_result(session, row)
    winner = result.winner or result.leader
    reason = result.reason if result.winner else (
        f"{result.reason} The window ended, so the arm with the best rate so far, "
        f"{result.leader}, went to the rest." if by == "scheduler" else
        f"{result.reason} {by} sent the arm with the best rate so far, {result.leader}.")
    row.winner, row.winner_reason, row.winner_at, row.winner_by = (
        winner, reason[:400], now, by[:320])
    row.status, row.winner_due_at = SENDING, None
    release_rest(session, row, winner, now, default_tz)
    return winner


def due_winners(db: Database, now: datetime, default_tz: str = "UTC") -> dict[str, int]:
    """The scheduler's job: broadcasts whose test window ended get their winner sent to
    the rest. Safe on several schedulers at once: each claims a row by clearing its due
    time in a conditional UPDATE first."""
    decided = 0
    with db.sessions() as session:
        due = session.scalars(select(Broadcast.id).where(Broadcast.winner_due_at <= now)
                              .order_by(Broadcast.winner_due_at).limit(100)).all()
    for broadcast_id in due:
        with db.transaction() as session:
            claimed = rowcount(session.execute(
                update(Broadcast).where(Broadcast.id == broadcast_id,
                                        Broadcast.winner_due_at.is_not(None))
                .values(winner_due_at=None).execution_options(synchronize_session=False)))
            if claimed and get(session, broadcast_id).status == TESTING:
                choose_winner(session, broadcast_id, now, by="scheduler",
                              default_tz=default_tz)
                decided += 1
    return {"winners": decided}


# The console's and the command line's calls: each in a transaction of its own.

def created(db: Database, plan: Plan, now: datetime, *, by: str, default_tz: str) -> int:
    with db.transaction() as session:
        return create(session, plan, now, by=by, default_tz=default_tz).id


def paused(db: Database, broadcast_id: int, by: str, reason: str, now: datetime) -> bool:
    with db.transaction() as session:
        return pause(session, broadcast_id, by, reason, now)


def resumed(db: Database, broadcast_id: int, by: str, reason: str, now: datetime) -> int:
    with db.transaction() as session:
        return resume(session, broadcast_id, by, reason, now)


def cancelled(db: Database, broadcast_id: int, by: str, now: datetime) -> int:
    with db.transaction() as session:
        return cancel(session, broadcast_id, by, now)


def winner_sent(db: Database, broadcast_id: int, by: str, now: datetime,
                default_tz: str) -> str:
    with db.transaction() as session:
        return choose_winner(session, broadcast_id, now, by=by, default_tz=default_tz)
