"""Scoring in the event pipeline: ledger rows, score parts and the hand-off check, for a
whole batch of events at once, in the caller's transaction."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from nurture.contacts.models import Contact
from nurture.db import one_of
from nurture.writes import bulk_insert, bulk_update
from scoring.engine import (
    Delta,
    FitMemo,
    HandoffCase,
    ScoredEvent,
    ScoreState,
    handoff_reason,
    refit,
    rounded,
    score_event,
)
from scoring.loader import DEFAULT_FILE, load_rules_file
from scoring.models import ContactScore, Handoff, ScoreEntry
from scoring.rules import Rules, fit_facts

log = logging.getLogger(__name__)
_cache: dict[Path, tuple[float, Rules | None]] = {}


def rules_from(path: str | Path | None = None) -> Rules | None:
    """The rules in effect, re-read when the file changes. An invalid file is logged and
    scoring pauses (events are still recorded); `nurture scoring validate` says why."""
    path = Path(path or DEFAULT_FILE)
    try:
        mtime = path.stat().st_mtime
    except OSError:
        mtime = -1.0
    cached = _cache.get(path)
    if cached and cached[0] == mtime:
        return cached[1]
    loaded = load_rules_file(path)
    for violation in loaded.violations:
        log.error("scoring rules: %s", violation)
    _cache[path] = (mtime, loaded.rules)
    return loaded.rules


@dataclass(frozen=True)
class HandoffRequest:
    contact_id: int
    trigger: str  # score | hand_raiser | journey | manual
    reason: str
    score: int | None = None  # the score when it was decided (a batch's moment); None: now


@dataclass
class Scored:
    scores: dict[int, int] = field(default_factory=dict)  # contacts whose score changed
    handoffs: list[HandoffRequest] = field(default_factory=list)


def load_states(session: Session, ids: Iterable[int]) -> dict[int, ScoreState]:
    rows = session.execute(select(ContactScore.contact_id, ContactScore.fit,
                                  ContactScore.engagement, ContactScore.engagement_at,
                                  ContactScore.fit_facts)
                           .where(one_of(session, ContactScore.contact_id, list(ids))))
    return {r.contact_id: ScoreState(r.fit, r.engagement, r.engagement_at, dict(r.fit_facts or {}))
            for r in rows}


def save_states(session: Session, rules: Rules, states: dict[int, ScoreState],
                existing: set[int], now: datetime) -> None:
    rows = [{"contact_id": cid, "fit": s.fixed, "engagement": s.engagement,
             "engagement_at": s.engagement_at, "fit_facts": s.fit_points,
             "grade": rules.grade(sum(s.fit_points.values())), "updated_at": now}
            for cid, s in states.items()]
    # The bulk paths (`nurture.writes`): one statement each for a batch's hundreds of
    # scores (an executemany of UPDATEs ran one statement per contact on the server), and
    # for an import's thousands of new contacts.
    bulk_update(session, ContactScore, [r for r in rows if r["contact_id"] in existing],
                key="contact_id")
    bulk_insert(session, ContactScore, [r for r in rows if r["contact_id"] not in existing])


def append(session: Session, deltas: Sequence[Delta]) -> None:
    bulk_insert(session, ScoreEntry, [
        {"contact_id": d.contact_id, "kind": d.kind, "rule": d.rule, "delta": d.delta,
         "at": d.at, "event_id": d.event_id} for d in deltas])


def _cap_usage(session: Session, rules: Rules, events: list[ScoredEvent]
               ) -> dict[int, dict[tuple[str, datetime], float]]:
    """Points each capped rule already gave each contact in the periods this batch touches."""
    capped = {r.id: r.cap for r in rules.engagement if r.cap is not None}
    used: dict[int, dict[tuple[str, datetime], float]] = defaultdict(dict)
    starts = [cap.window_start(e.at) for e in events for r in rules.engagement
              if (cap := r.cap) is not None and r.applies(e.type, e.properties)]
    if not starts:
        return used
    rows = session.execute(select(ScoreEntry.contact_id, ScoreEntry.rule, ScoreEntry.at,
                                  ScoreEntry.delta)
                           .where(one_of(session, ScoreEntry.contact_id,
                                         {e.contact_id for e in events}),
                                  ScoreEntry.rule.in_(list(capped)),
                                  ScoreEntry.at >= min(starts)))
    for row in rows:
        window = (row.rule, capped[row.rule].window_start(row.at))
        used[row.contact_id][window] = used[row.contact_id].get(window, 0.0) + row.delta
    return used


_memos: dict[int, tuple[Rules, FitMemo]] = {}


def fit_memo(rules: Rules) -> FitMemo:
    """The memo of these rules' fit verdicts, kept from batch to batch while the rules
    stay the same (an import's batches meet the same domains and industries again)."""
    kept = _memos.get(id(rules))
    if kept is None or kept[0] is not rules:
        _memos.clear()  # the rules changed: the last ones' verdicts are of no use
        kept = _memos[id(rules)] = (rules, FitMemo(rules))
    return kept[1]


def score_batch(session: Session, rules: Rules, contacts: Mapping[int, Any],
                rows: Sequence[dict[str, Any]], event_ids: Sequence[int], refit_ids: set[int],
                now: datetime, fields: Mapping[int, Mapping[str, Any]] | None = None
                ) -> Scored:
    """Score recorded events (`rows` with their `event_ids`) and re-fit contacts whose fields
    changed. Updates `contacts[...].score`; returns changed scores and hand-off requests.
    `fields`: the contacts' columns as plain values, when at hand (the bulk path), read
    for fit rather than the rows' attributes."""
    scored_rows = [(r, ScoredEvent(r["contact_id"], eid, r["type"], r["properties"] or {},
                                   r["occurred_at"]))
                   for r, eid in zip(rows, event_ids, strict=True)
                   if r["type"] in rules.event_types]
    events = [e for _r, e in scored_rows]
    raisers = {r["contact_id"] for r in rows if r["type"] in rules.handoff.hand_raisers}
    everyone = {r["contact_id"] for r in rows} | set(refit_ids)
    if not everyone:
        return Scored()
    states = load_states(session, everyone)
    existing = set(states)
    refits = (everyone - existing) | set(refit_ids)  # a contact's first score starts with fit
    ids = {e.contact_id for e in events} | refits | raisers
    for cid in ids - existing:
        states[cid] = ScoreState()
    states = {cid: states[cid] for cid in ids}
    deltas: list[Delta] = []
    memo = fit_memo(rules)
    for cid in sorted(refits):
        given = fields[cid] if fields is not None else _fields(contacts[cid])
        deltas += refit(rules, cid, states[cid], fit_facts(given), now, memo)
    used = _cap_usage(session, rules, events)
    moments = _Moments(rules, now)
    for cid in ids:  # after the refits: alone, the first event of a contact refits it first
        moments.start(cid, states[cid])
    scored = {id(r): e for r, e in scored_rows}
    for row in sorted(rows, key=lambda r: r["occurred_at"]):
        cid = row["contact_id"]
        item = scored.get(id(row))
        if item is None and row["type"] not in rules.handoff.hand_raisers:
            continue  # alone, it would not have been scored, nor its contact looked at
        earned = score_event(rules, states[cid], item, used[cid]) if item else []
        deltas += earned
        moments.after(cid, row["type"], earned)
    append(session, deltas)
    save_states(session, rules, states, existing, now)
    result = Scored()
    final = {cid: rounded(state.total(now, rules.half_life)) for cid, state in states.items()}
    for cid, score in final.items():
        if contacts[cid].score != score:
            result.scores[cid] = score
    store_scores(session, contacts, result.scores, now)
    result.handoffs = check_handoffs(session, rules, contacts, states,
                                     moments.candidates(final), moments, now)
    return result


def store_scores(session: Session, contacts: Mapping[int, Any], scores: dict[int, int],
                 now: datetime) -> None:
    """Write changed scores in one statement (the ORM wrote one UPDATE per contact: an
    import's batch of thousands), and set them on the rows in hand as the stored values."""
    bulk_update(session, Contact, [{"id": cid, "score": score, "updated_at": now}
                                   for cid, score in scores.items()])
    for cid, score in scores.items():
        contact = contacts[cid]
        if isinstance(contact, Contact):
            set_committed_value(contact, "score", score)
            set_committed_value(contact, "updated_at", now)
        else:
            contact.score = score


def _fields(contact: Any) -> dict[str, Any]:
    return {name: getattr(contact, name) for name in (
        "email", "industry", "company_size", "role", "country", "stage", "company", "timezone")}


@dataclass(frozen=True)
class Moment:
    """A contact's score right after one of the batch's events (or before them all)."""

    score: int
    hand_raiser: str | None = None
    engaged: int = 0  # this batch's positive engagement events so far, within the velocity


class _Moments:
    """Each contact's score after each of the batch's events, in their order: hand-offs are
    decided at the first moment one is due, as if the events had come one at a time (the
    score, the reason and the hand-raiser of that moment, not of the batch's end). Only the
    steps are kept as the batch is scored; the scores of the moments are worked out after,
    for the few contacts that may be handed off, by replaying their deltas on their state
    as it stood before the batch (as `score_event` applied them)."""

    def __init__(self, rules: Rules, now: datetime):
        self.rules, self.now = rules, now
        self.since = now - timedelta(days=rules.handoff.velocity_days)
        self.before: dict[int, tuple[float, float, datetime | None]] = {}
        self.steps: dict[int, list[tuple[str | None, Sequence[Delta]]]] = {}

    def start(self, cid: int, state: ScoreState) -> None:
        self.before[cid] = (state.fixed, state.engagement, state.engagement_at)
        self.steps[cid] = []

    def after(self, cid: int, type_: str, earned: Sequence[Delta]) -> None:
        raiser = type_ if type_ in self.rules.handoff.hand_raisers else None
        self.steps[cid].append((raiser, earned))

    def candidates(self, scores: Mapping[int, int]) -> set[int]:
        """The contacts that may be due at some moment: a hand-raiser, a final score at
        the threshold, or a score that went down on the way (it may have been higher)."""
        threshold = self.rules.handoff.threshold
        return {cid for cid, steps in self.steps.items()
                if scores[cid] >= threshold
                or any(raiser or any(d.delta < 0 for d in earned) for raiser, earned in steps)}

    def of(self, cid: int) -> list[Moment]:
        """The contact's moments: after each of its events, or its one score without any."""
        fixed, engagement, at = self.before[cid]
        state = ScoreState(fixed, engagement, at)
        half_life = self.rules.half_life
        if not self.steps[cid]:
            return [Moment(rounded(state.total(self.now, half_life)))]
        moments, engaged = [], 0
        for raiser, earned in self.steps[cid]:
            for d in earned:
                if d.kind == "engagement":
                    state.add_engagement(d.delta, d.at, half_life)
                else:
                    state.fixed += d.delta
            engaged += any(d.kind == "engagement" and d.delta > 0 and d.at >= self.since
                           for d in earned)
            moments.append(Moment(rounded(state.total(self.now, half_life)), raiser, engaged))
        return moments


def check_handoffs(session: Session, rules: Rules, contacts: Mapping[int, Any],
                   states: dict[int, ScoreState], candidates: set[int],
                   moments: _Moments, now: datetime) -> list[HandoffRequest]:
    if not candidates:
        return []
    policy = rules.handoff
    since = now - timedelta(days=policy.velocity_days)
    recent = dict(session.execute(
        select(ScoreEntry.contact_id, func.count(func.distinct(ScoreEntry.event_id)))
        .where(one_of(session, ScoreEntry.contact_id, candidates),
               ScoreEntry.kind == "engagement",
               ScoreEntry.delta > 0, ScoreEntry.at >= since)
        .group_by(ScoreEntry.contact_id)).all())
    history = last_handoffs(session, candidates)
    requests = []
    for cid in sorted(candidates):
        is_open, last_at = history.get(cid, (False, None))
        grade = rules.grade(sum(states[cid].fit_points.values()))
        seen = moments.of(cid)
        # The ledger counts the whole batch: at an earlier moment, its later events not yet.
        before = recent.get(cid, 0) - seen[-1].engaged
        for moment in seen:
            if not moment.hand_raiser and moment.score < policy.threshold:
                continue
            case = HandoffCase(moment.score, grade, contacts[cid].stage,
                               before + moment.engaged, moment.hand_raiser, is_open, last_at)
            decision = handoff_reason(policy, case, now)
            if decision:
                requests.append(HandoffRequest(cid, *decision, score=moment.score))
                break
    return requests


def last_handoffs(session: Session, ids: Iterable[int]
                  ) -> dict[int, tuple[bool, datetime | None]]:
    """Per contact: is a hand-off still open (or accepted), and when did the last one start
    or close (the cool-down runs from the later)."""
    out: dict[int, tuple[bool, datetime | None]] = {}
    rows = session.execute(select(Handoff.contact_id, Handoff.status, Handoff.created_at,
                                  Handoff.closed_at).where(one_of(session, Handoff.contact_id,
                                                                 list(ids))))
    for row in rows:
        is_open, last = out.get(row.contact_id, (False, None))
        moment = max(t for t in (row.created_at, row.closed_at) if t is not None)
        out[row.contact_id] = (is_open or row.status in ("open", "accepted"),
                               moment if last is None else max(last, moment))
    return out


def refresh_missing(session: Session, rules: Rules, now: datetime, limit: int = 5000) -> int:
    """Fit for contacts created outside the event pipeline (imports, demo data): those with
    no score row yet. Field changes arrive as `contact.updated` events and re-fit there."""
    ids = list(session.scalars(
        select(Contact.id).outerjoin(ContactScore, ContactScore.contact_id == Contact.id)
        .where(ContactScore.contact_id.is_(None)).order_by(Contact.id).limit(limit)))
    if ids:
        contacts = {c.id: c for c in session.scalars(select(Contact).where(Contact.id.in_(ids)))}
        score_batch(session, rules, contacts, [], [], set(ids), now)
    return len(ids)
