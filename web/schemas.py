"""The API's bodies, queries and answers as pydantic v2 models: the one declaration that both
validates a call (`web.openapi.validate`) and documents it.

Unknown keys are refused (`extra="forbid"`), except in a bounce event: an email provider's
webhook carries its own fields beside ours, and those are ignored. An event's `properties`
are checked by the events service (`nurture/events/schemas.py`), for every caller.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StrictStr

from nurture.nps.stats import PERIODS, SEGMENTS
from nurture.trials.rules import USAGE_TYPES

Email = Annotated[StrictStr, Field(min_length=3, max_length=320,
                                   description="An email address, as stored (any case).")]


class Closed(BaseModel):
    model_config = ConfigDict(extra="forbid")


# ---- /api/events ---------------------------------------------------------------------

class EventIn(Closed):
    """An event about the contact with this email address."""

    email: Email
    type: Annotated[StrictStr, Field(min_length=1, max_length=80, description=(
        "A catalogue type (docs/journeys.md) or your own, prefixed with `custom.`."))]
    properties: dict[str, Any] = Field(default_factory=dict, description=(
        "The event's facts; declared for the types that move a contact, e.g. "
        "`contact.updated` and `trial.started`."))
    occurred_at: AwareDatetime | None = Field(default=None, description=(
        "When it happened, with a time zone; at most 5 minutes ahead, not before 1970."))


class EventRecorded(Closed):
    id: int


# ---- /api/bounces --------------------------------------------------------------------

class BounceIn(BaseModel):
    """One bounce or complaint. A provider's other fields are allowed and ignored."""

    model_config = ConfigDict(extra="allow")

    type: Literal["bounce", "complaint"]
    email: Email
    status: Annotated[StrictStr, Field(max_length=20)] | None = None
    diagnostic: Annotated[StrictStr, Field(max_length=2000)] | None = None
    message_id: Annotated[StrictStr, Field(max_length=998)] | None = None
    send_key: Annotated[StrictStr, Field(max_length=200)] | None = None
    occurred_at: Annotated[StrictStr, Field(max_length=40)] | None = None


class BouncesIn(BaseModel):
    """One event (its fields at the top level), or a list of them under `events`."""

    model_config = ConfigDict(extra="allow")

    events: Annotated[list[BounceIn], Field(max_length=1000)] | None = None
    type: Literal["bounce", "complaint"] | None = None
    email: Email | None = None
    status: Annotated[StrictStr, Field(max_length=20)] | None = None
    diagnostic: Annotated[StrictStr, Field(max_length=2000)] | None = None
    message_id: Annotated[StrictStr, Field(max_length=998)] | None = None
    send_key: Annotated[StrictStr, Field(max_length=200)] | None = None
    occurred_at: Annotated[StrictStr, Field(max_length=40)] | None = None


class BouncesRecorded(Closed):
    recorded: int
    by_kind: dict[str, int]


# ---- /api/inbound --------------------------------------------------------------------

class InboundHandled(Closed):
    """What was done with one message forwarded by a relay (see docs/delivery.md)."""

    handled: Literal["unsubscribed", "bounce", "complaint", "kept"]
    message_id: str = Field(description="Its Message-ID: a message is handled once.")
    detail: str = Field(description="What was done, as a sentence.")
    duplicate: bool = Field(description="Handled before; nothing was done this time.")


# ---- /api/scores ---------------------------------------------------------------------

class ScoreQuery(Closed):
    email: Email


class ScoreCard(BaseModel):
    contact_id: int
    email: str
    score: int
    grade: str
    fit: float
    engagement: float
    explanation: list[Any]
    predictive: float | None
    model_version: int | str | None
    predictive_explanation: list[Any]


# ---- /api/trials/<id>/usage ----------------------------------------------------------

class UsageIn(Closed):
    """A seat activated (`seat`: the account, e.g. its email) or a service used."""

    # What the trials service requires (`nurture.trials.rules`), said in the document too,
    # so that a call it shows as valid is not refused: the field that names the type's
    # noun, not blank.
    model_config = ConfigDict(extra="forbid", json_schema_extra={"allOf": [
        {"if": {"properties": {"type": {"const": kind}}},
         "then": {"required": [noun], "properties": {noun: {"type": "string",
                                                            "pattern": "\\S"}}}}
        for kind, noun in USAGE_TYPES.items()]})

    type: Literal["seat_activated", "service_used"]
    seat: Annotated[StrictStr, Field(min_length=1, max_length=320)] | None = None
    service: Annotated[StrictStr, Field(min_length=1, max_length=320)] | None = None


class UsageRecorded(Closed):
    recorded: bool
    event_id: int | None
    seats_activated: int


# ---- /api/nps ------------------------------------------------------------------------

class NPSQuery(Closed):
    period: Literal[PERIODS] = "month"  # type: ignore[valid-type]
    segment: Literal[SEGMENTS] | None = None  # type: ignore[valid-type]


class NPSReport(Closed):
    period: str
    segment: str
    method: str
    rows: list[dict[str, Any]]
