"""Scoring's place in the event pipeline: `record_events` calls `score_recorded` for every
batch and `hand_off` once the batch is recorded."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from nurture.config import Settings
from nurture.contacts.models import Contact
from scoring.handoffs import Outcome, SalesConfig, open_handoffs
from scoring.rules import Rules
from scoring.services import HandoffRequest, Scored, rules_from, score_batch


@dataclass(frozen=True)
class Setup:
    rules: Rules
    config: SalesConfig


def setup_for(settings: Settings) -> Setup | None:
    """The rules (`NURTURE_SCORING_RULES`, default `scoring/rules.yaml`) and where hand-offs
    go; None while the rules file is invalid (scoring pauses, events are still recorded)."""
    rules = rules_from(settings.extra.get("scoring_rules") or None)
    return Setup(rules, SalesConfig.from_settings(settings)) if rules else None


def current_setup() -> Setup | None:
    from nurture.app import runtime

    built = runtime._current
    return setup_for(built.settings) if built is not None else None


def score_recorded(session: Session, contacts: dict[int, Contact],
                   rows: Sequence[dict[str, Any]], event_ids: Sequence[int],
                   changed: set[int], now: datetime) -> tuple[Scored, Setup | None]:
    setup = current_setup()
    if setup is None:
        return Scored(), None
    return score_batch(session, setup.rules, contacts, rows, event_ids, changed, now), setup


def hand_off(session: Session, setup: Setup | None, requests: Sequence[HandoffRequest],
             now: datetime) -> Outcome:
    if setup is None or not requests:
        return Outcome()
    return open_handoffs(session, setup.rules, setup.config, requests, now)
