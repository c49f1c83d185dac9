"""What the engine decides; the caller turns these into rows, messages or counters."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class StepEntered:
    step_id: str
    seq: int


@dataclass(frozen=True)
class StepCompleted:
    step_id: str
    seq: int


@dataclass(frozen=True)
class SendEmail:
    step_id: str
    seq: int
    template: str
    variant: str
    to: tuple[str, ...]
    message_class: str  # transactional | service | marketing
    topic: str = ""


@dataclass(frozen=True)
class Deferred:
    """A send that may not go yet; `reason` is frequency_cap or quiet_hours."""

    step_id: str
    seq: int
    until: datetime
    reason: str


@dataclass(frozen=True)
class SetStage:
    step_id: str
    from_stage: str
    to_stage: str


@dataclass(frozen=True)
class SetAttributes:
    step_id: str
    values: dict[str, Any]


@dataclass(frozen=True)
class HandOff:
    step_id: str
    seq: int
    reason: str


@dataclass(frozen=True)
class CallWebhook:
    step_id: str
    seq: int
    url: str
    event: str


@dataclass(frozen=True)
class Finished:
    reason: str


Decision = (
    StepEntered | StepCompleted | SendEmail | Deferred | SetStage | SetAttributes | HandOff
    | CallWebhook | Finished
)
