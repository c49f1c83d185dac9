"""Scoring's subscriber to recorded events: score each batch, and hand off the leads that
reached the threshold (or raised a hand). The hand-offs' own `sales.handoff` events are
answered to the recorder, which records them as the next round."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from nurture.config import Settings
from nurture.events.bus import CreatedBatch, Reaction, RecordedBatch
from scoring.engine import rounded
from scoring.handoffs import Outcome, SalesConfig, open_handoffs
from scoring.rules import Rules, fit_facts
from scoring.scorer import HandoffRequest, fit_memo, rules_from, score_batch


class _Written:
    """A new contact's columns as written, read as a row's attributes (as scoring reads
    a contact); its score is the one scoring gives it."""

    __slots__ = ("fields", "score")

    def __init__(self, fields: Mapping[str, Any]):
        self.fields = fields
        self.score = fields.get("score") or 0

    def __getattr__(self, name: str) -> Any:
        return self.fields.get(name)


@dataclass(frozen=True)
class Setup:
    rules: Rules
    config: SalesConfig


def setup_for(settings: Settings) -> Setup | None:
    """The rules (`NURTURE_SCORING_RULES`, default `scoring/rules.yaml`) and where hand-offs
    go; None while the rules file is invalid (scoring pauses, events are still recorded)."""
    rules = rules_from(settings.scoring.rules_file)
    return Setup(rules, SalesConfig.from_settings(settings)) if rules else None


def hand_off(session: Session, setup: Setup | None, requests: Sequence[HandoffRequest],
             now: datetime) -> Outcome:
    if setup is None or not requests:
        return Outcome()
    return open_handoffs(session, setup.rules, setup.config, requests, now)


@dataclass(frozen=True)
class ScoringSubscriber:
    """Registered by the composition root; reads the rules file as it changes."""

    settings: Settings

    def __call__(self, session: Session, batch: RecordedBatch) -> Reaction:
        setup = setup_for(self.settings)
        if setup is None:
            return Reaction()
        rows = [{"contact_id": e.contact_id, "type": e.type, "properties": e.properties,
                 "occurred_at": e.occurred_at} for e in batch.events]
        scored = score_batch(session, setup.rules, dict(batch.contacts), rows,
                             [e.id for e in batch.events], set(batch.changed), batch.now)
        # A lead with an open hand-off is never handed off again, so the hand-off's own
        # `sales.handoff` event, recorded next, opens no second one.
        handed = hand_off(session, setup, scored.handoffs, batch.now)
        return Reaction(changed=set(scored.scores), events=handed.events)

    def fill_created(self, rows: list[dict[str, Any]]) -> None:
        """The score of contacts about to be inserted: their fit, as `on_created` will
        find it (it writes any score that differs)."""
        setup = setup_for(self.settings)
        if setup is None:
            return
        memo = fit_memo(setup.rules)
        for row in rows:
            row["score"] = rounded(sum(memo.held(fit_facts(row)).values()))

    def on_created(self, session: Session, batch: CreatedBatch) -> Reaction:
        """The bulk path (an import's batch): the new contacts' fit from the columns just
        written, with no contact row loaded; their scores written in one statement."""
        if batch.changed:  # moved since they were written: score the rows as they are
            return self(session, batch.recorded())
        setup = setup_for(self.settings)
        if setup is None:
            return Reaction()
        contacts = {cid: _Written(fields) for cid, fields in batch.fields.items()}
        rows = [{"contact_id": e.contact_id, "type": e.type, "properties": e.properties,
                 "occurred_at": e.occurred_at} for e in batch.events]
        scored = score_batch(session, setup.rules, contacts, rows,
                             [e.id for e in batch.events], set(), batch.now, batch.fields)
        handed = hand_off(session, setup, scored.handoffs, batch.now)
        return Reaction(changed=set(scored.scores), events=handed.events)
