"""What the event recorder publishes, and what its subscribers give back.

Recording a batch of events (`nurture.events.recorder`) publishes one frozen
`RecordedBatch` to the subscribers that the composition root (`nurture.app.composition`)
registered: journeys, scoring, referral, and whatever later work adds. The recorder knows
none of them. Each subscriber runs in the batch's transaction and answers with a
`Reaction`: the contacts whose fields it changed (so that later subscribers see it), the
events that follow (recorded by the recorder in the next round, never by the subscriber),
and the work it made due now (handed to the unit of work, kicked after the commit).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from nurture.contacts.models import Contact


@dataclass(frozen=True)
class NewEvent:
    """An event to record: what happened to which contact, and when."""

    contact_id: int
    type: str
    properties: Mapping[str, Any] = field(default_factory=dict)
    occurred_at: datetime | None = None
    source: str = "api"
    dedupe_key: str | None = None
    client_id: str | None = None  # an API client's own id for it (unique, like dedupe_key)


@dataclass(frozen=True)
class RecordedEvent:
    """An event as stored: its id, and its time filled in."""

    id: int
    contact_id: int
    type: str
    properties: Mapping[str, Any]
    occurred_at: datetime
    source: str


@dataclass(frozen=True)
class RecordedBatch:
    """One round of recorded events, as every subscriber sees it.

    `contacts` are the batch's contact rows, locked for the transaction; a subscriber may
    change their fields (a score, an attribute) and says so in its `Reaction.changed`.
    `changed` holds the contacts whose fields changed before this subscriber ran: by the
    events' own effects (a stage) and by the subscribers before it."""

    events: tuple[RecordedEvent, ...]
    contacts: Mapping[int, Contact]
    changed: frozenset[int]
    now: datetime

    def of_type(self, *types: str) -> list[RecordedEvent]:
        return [e for e in self.events if e.type in types]


@dataclass(frozen=True)
class CreatedBatch:
    """The bulk path's round (`nurture.events.created`): one `contact.created` per contact
    that this transaction inserted (an import's batch). `fields` are those contacts'
    columns as written, plain values: no contact row is loaded for them. A subscriber with
    no bulk answer of its own calls `recorded()` for the usual `RecordedBatch` (the rows
    are loaded and locked then)."""

    events: tuple[RecordedEvent, ...]
    fields: Mapping[int, Mapping[str, Any]]
    changed: frozenset[int]
    now: datetime
    recorded: Callable[[], RecordedBatch]


@dataclass
class Reaction:
    """What one subscriber did with a batch."""

    changed: set[int] = field(default_factory=set)
    events: list[NewEvent] = field(default_factory=list)
    due: dict[str, list[int]] = field(default_factory=dict)

    def make_due(self, kind: str, ids: list[int]) -> None:
        if ids:
            self.due.setdefault(kind, []).extend(ids)


class Subscriber(Protocol):
    """Reacts to recorded events in their transaction; registered by the composition root."""

    def __call__(self, session: Session, batch: RecordedBatch) -> Reaction: ...


class BulkSubscriber(Subscriber, Protocol):
    """A subscriber that also answers the bulk path's `CreatedBatch` (optional methods:
    the recorder calls `on_created` where a subscriber has one, else `__call__`).
    `fill_created` may first fill columns it owns in the rows of contacts about to be
    inserted (fit scoring: the score), so that `on_created` finds them right and need not
    write every new row a second time."""

    def on_created(self, session: Session, batch: CreatedBatch) -> Reaction: ...

    def fill_created(self, rows: list[dict[str, Any]]) -> None: ...
