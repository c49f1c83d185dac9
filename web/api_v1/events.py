"""`POST /api/v1/events`: one event, or a batch of up to 1,000, recorded all or nothing.

Each event names its contact by email address or id, and may carry the client's own id
for it (`id`): sending an event again with the same id records nothing and answers the
first one's id, marked `duplicate`, so a client can retry a batch whose answer it lost.
Client ids share one namespace for the whole installation, not one per token: a token is
rotated, or one system holds several, and a retry sent with the new token must still be
recognised. An id already given to an event of another contact or type is refused (not
answered as a duplicate), so two systems whose ids collide lose nothing quietly.
"""

from __future__ import annotations

from typing import Annotated, Any

from flask import current_app
from pydantic import AwareDatetime, Field, StrictStr, model_validator

from nurture.events.services import Incoming, record_incoming
from web.api_auth import token_required
from web.api_v1.blueprint import bp
from web.inputs import body_up_to
from web.openapi import validate
from web.problems import Problem
from web.schemas import Closed, Email

MAX_BATCH = 1000
MAX_BODY = 16 * 2**20  # 1,000 events with room for properties; the app's limit is 1 MB


class EventV1In(Closed):
    """An event about a contact, named by its email address or its id."""

    id: Annotated[StrictStr, Field(min_length=1, max_length=100, description=(
        "Your own id for this event: sending it again records nothing."))] | None = None
    email: Email | None = None
    contact_id: Annotated[int, Field(ge=1, description="Our id of the contact.")] | None = None
    type: Annotated[StrictStr, Field(min_length=1, max_length=80, description=(
        "A catalogue type (docs/journeys.md) or your own, prefixed with `custom.`."))]
    properties: dict[str, Any] = Field(default_factory=dict, description=(
        "The event's facts; declared for the types that move a contact, e.g. "
        "`contact.updated` and `trial.started`."))
    occurred_at: AwareDatetime | None = Field(default=None, description=(
        "When it happened, with a time zone; at most 5 minutes ahead, not before 1970."))


class EventsIn(Closed):
    """A batch under `events`; one event may also be sent alone, as the whole body (it is
    a batch of one: a problem with it is named `events[0].type`, as in a batch)."""

    events: Annotated[list[EventV1In], Field(min_length=1, max_length=MAX_BATCH)]

    @model_validator(mode="before")
    @classmethod
    def _one_alone(cls, body: Any) -> Any:
        return {"events": [body]} if isinstance(body, dict) and "events" not in body else body


class EventTaken(Closed):
    id: int = Field(description="Our id of the event (the first one's, for a duplicate).")
    client_id: str | None = Field(description="Your id of the event, as sent.")
    duplicate: bool = Field(description="Recorded before with this id; nothing was "
                                        "recorded now.")


class EventsTaken(Closed):
    events: list[EventTaken]


@bp.post("/events")
@token_required()
@body_up_to(MAX_BODY)
@validate(json=EventsIn, resp={"HTTP_201": EventsTaken, "HTTP_200": EventsTaken,
                               "HTTP_403": Problem, "HTTP_429": Problem}, tags=("events",))
def post_events(json: EventsIn):
    """Record one event or a batch of up to 1,000 (all or nothing); 201, or 200 when every
    event had been recorded before (by its `id`)."""
    items = [Incoming(e.type, e.properties, e.occurred_at, e.email, e.contact_id, e.id)
             for e in json.events]
    taken = record_incoming(current_app.extensions["nurture"], items, source="api")
    answer = EventsTaken(events=[EventTaken(id=t.id, client_id=t.client_id,
                                            duplicate=t.duplicate) for t in taken])
    return answer, 200 if all(t.duplicate for t in taken) else 201
