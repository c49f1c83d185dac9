"""The declared properties of the event types that move a contact, score or reward.

`effects.py`, scoring and referrals read these properties; a wrong type or size there was a
crash or a row no database keeps. Other known types and `custom.*` events carry whatever
properties they like, within the rules every event obeys (`services.check`). Known keys are
required only for `contact.updated`, whose properties are written onto the contact.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StrictStr,
    ValidationError,
)

from nurture.contacts.schemas import ContactFields, Text40, Text80
from nurture.violations import Violation, from_pydantic

MAX_AMOUNT = 1e12
DECIMAL = re.compile(r"[0-9]{1,13}(\.[0-9]{1,6})?")
Text320 = Annotated[StrictStr, Field(max_length=320)]  # an email address
Text2000 = Annotated[StrictStr, Field(max_length=2000)]


def _amount(value: Any) -> Any:
    """A number, or a decimal string as billing systems send it ("10.50"), 0 to 10^12."""
    numeric = isinstance(value, int | float) and not isinstance(value, bool)
    number = float(value) if numeric or (isinstance(value, str) and DECIMAL.fullmatch(value)) \
        else None
    if number is None or not math.isfinite(number):
        raise ValueError('The amount must be a number, or a decimal string like "10.50"')
    if not 0 <= number <= MAX_AMOUNT:
        raise ValueError("The amount must be between 0 and 1,000,000,000,000")
    return value


Amount = Annotated[Any, AfterValidator(_amount)]


class Open(BaseModel):
    model_config = ConfigDict(extra="allow")


Role = Literal["activation", "administrator", "technical", "billing", "notices"]  # ROLES


class ContactUpdated(ContactFields):
    attributes: dict[str, Any] = Field(default_factory=dict)
    # The contact's company, by name (found, or made), and the roles they hold there.
    account: Annotated[StrictStr, Field(min_length=1, max_length=200)] | None = None
    roles: Annotated[list[Role], Field(max_length=5)] | None = None


class TrialStarted(Open):
    days: Annotated[StrictInt, Field(ge=1, le=365)] | None = None
    seats: Annotated[StrictInt, Field(ge=1, le=10_000)] | None = None
    services: Annotated[list[Text80], Field(max_length=50)] = Field(default_factory=list)
    technical_contact: Text320 | None = None


class TrialExpired(Open):
    retention_days: Annotated[StrictInt, Field(ge=0, le=3650)] | None = None


class Purchase(Open):
    amount: Amount | None = None
    currency: Annotated[StrictStr, Field(pattern=r"^[A-Z]{3}$")] | None = None
    commitment_ends_at: AwareDatetime | None = None
    commitment_months: Annotated[StrictInt, Field(ge=1, le=120)] | None = None
    services: Annotated[list[Text80], Field(max_length=50)] | None = None
    seats: Annotated[StrictInt, Field(ge=1, le=1_000_000)] | None = None
    seat_limit: Annotated[StrictInt, Field(ge=1, le=1_000_000)] | None = None
    account: Annotated[StrictStr, Field(min_length=1, max_length=200)] | None = None
    trial_id: StrictInt | None = None


class TrialConverted(Purchase):
    keep_data: StrictBool | None = None
    retention_until: Text40 | None = None


class Renewed(Open):
    commitment_ends_at: AwareDatetime | None = None


class NPSAnswered(Open):
    score: Annotated[StrictInt, Field(ge=0, le=10)]
    reason: Text2000 | None = None


class EmailBounced(Open):
    kind: Literal["hard", "soft", "complaint"] | None = None


TOUCH_KINDS = ("service", "support", "billing", "sales")
Percent = Annotated[StrictInt | float, Field(ge=0, le=100_000)]
Count = Annotated[StrictInt, Field(ge=0, le=10_000_000)]


class TicketEvent(Open):
    ticket_id: Annotated[StrictStr | StrictInt, Field(union_mode="left_to_right")]
    subject: Text2000 | None = None
    priority: Text40 | None = None
    resolution: Text2000 | None = None


class UsageChange(Open):
    metric: Text80
    period_days: Annotated[StrictInt, Field(ge=1, le=3650)] | None = None
    previous: Annotated[StrictInt | float, Field(ge=0)] | None = None
    current: Annotated[StrictInt | float, Field(ge=0)] | None = None


class UsageDropped(UsageChange):
    drop_percent: Annotated[StrictInt | float, Field(ge=0, le=100)]


class UsageGrew(UsageChange):
    growth_percent: Percent


class UsageSeats(Open):
    seats: Count
    limit: Annotated[StrictInt, Field(ge=1, le=10_000_000)]


class TouchRecorded(Open):
    kind: Literal["service", "support", "billing", "sales"]
    channel: Text40 | None = None
    note: Text2000 | None = None
    by: Text320 | None = None


class AccountDeprovisioned(Open):
    account_id: Annotated[StrictInt, Field(ge=1)] | None = None
    reason: Text2000 | None = None
    ended_at: AwareDatetime | None = None
    retention_until: AwareDatetime | None = None
    export_url: Text2000 | None = None


SCHEMAS: dict[str, type[BaseModel]] = {
    "contact.updated": ContactUpdated,
    "trial.started": TrialStarted,
    "trial.expired": TrialExpired,
    "trial.converted": TrialConverted,
    "purchase.completed": Purchase,
    "subscription.renewed": Renewed,
    "nps.answered": NPSAnswered,
    "email.bounced": EmailBounced,
    "support.ticket_opened": TicketEvent,
    "support.ticket_closed": TicketEvent,
    "usage.dropped": UsageDropped,
    "usage.grew": UsageGrew,
    "usage.seats": UsageSeats,
    "touch.recorded": TouchRecorded,
    "account.deprovisioned": AccountDeprovisioned,
}


def property_violations(event_type: str, properties: Mapping[str, Any]) -> list[Violation]:
    """What is wrong with an event's properties for its type (none for most types)."""
    schema = SCHEMAS.get(event_type)
    if schema is None:
        return []
    try:
        schema.model_validate(dict(properties))
    except ValidationError as exc:
        return from_pydantic(exc, "properties")
    return []
