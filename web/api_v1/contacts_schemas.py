"""The bodies, queries and answers of `/api/v1/contacts`: what a contact is on the wire.

Types and lengths are checked here; the rules (a stage that may be set by hand, a country's
code, a time zone's name, a language tag, attributes no database refuses, consent only with
its basis) are the console's and the import's, checked by `nurture.contacts.upserts`, so a
value refused in the console is refused here with the same sentence.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, Field, StrictInt, StrictStr

from nurture.contacts.stages import STAGES
from web.api_v1.paging import PageBase, PageQuery
from web.schemas import Closed, Email

Text2 = Annotated[StrictStr, Field(max_length=2)]
Text20 = Annotated[StrictStr, Field(max_length=20)]
Text35 = Annotated[StrictStr, Field(max_length=35)]
Text40 = Annotated[StrictStr, Field(max_length=40)]
Text64 = Annotated[StrictStr, Field(max_length=64)]
Text80 = Annotated[StrictStr, Field(max_length=80)]
Text120 = Annotated[StrictStr, Field(max_length=120)]
Text200 = Annotated[StrictStr, Field(max_length=200)]
Text320 = Annotated[StrictStr, Field(max_length=320)]


Stage = Annotated[StrictStr, Field(max_length=20, description=(
    f"One of {', '.join(STAGES[:-1])} (`deprovisioned` is set by ending a customer's "
    "service, not by hand)."))]
Attributes = Annotated[dict[str, Any], Field(description=(
    "Your own facts about the contact, a JSON object (at most 32,000 characters). The keys "
    "given are set; a key given as null is removed; the others are left as they are."))]


class ContactConsentIn(Closed):
    """The person consented to marketing email: how and when (as an import requires)."""

    basis: Annotated[StrictStr, Field(min_length=1, max_length=500, description=(
        "How they consented, e.g. `Signed up at the Berlin fair`; kept as proof."))]
    at: AwareDatetime = Field(description="When they consented; not in the future.")


class ContactFieldsIn(Closed):
    """The fields a call may set; absent or null ones are left as they are, "" empties."""

    first_name: Text120 | None = None
    last_name: Text120 | None = None
    phone: Text40 | None = None
    company: Text200 | None = None
    role: Text120 | None = None
    industry: Text80 | None = Field(None, description="The vertical.")
    company_size: Annotated[StrictInt, Field(ge=0, le=10_000_000)] | None = None
    country: Text2 | None = Field(None, description="ISO 3166 code in capitals, like FR.")
    timezone: Text64 | None = Field(None, description="An IANA name, like Europe/Paris.")
    language: Text35 | None = Field(None, description="A BCP 47 tag, like fr or pt-BR.")
    stage: Stage | None = None
    attributes: Attributes | None = None


class ContactIn(ContactFieldsIn):
    """A contact to create or upsert, by its address."""

    email: Email
    consent: ContactConsentIn | None = Field(None, description=(
        "Leave it out unless the person consented to marketing email; without it the "
        "contact gets service messages only. An upsert never sets it over an unsubscribe."))


class ContactPatch(ContactFieldsIn):
    """What to change; the rest is left as it is."""

    owner: Email | None = Field(None, description=(
        "The email of an active console user (sales, marketer or admin) who owns the lead."))


class ContactConsentOut(Closed):
    marketing: bool = Field(description="Whether they may get marketing email.")
    at: datetime | None
    source: str
    suppressed: str | None = Field(description=(
        "Why the address is suppressed (unsubscribed, bounced, complained ...); null when "
        "it is not. A suppressed address gets no marketing email, whatever `marketing`."))


class ContactOut(Closed):
    id: int
    email: str
    first_name: str
    last_name: str
    phone: str
    company: str
    role: str
    industry: str
    company_size: int | None
    country: str
    timezone: str
    language: str
    stage: str
    score: int
    grade: str
    owner: str | None = Field(description="The email of the rep who owns the lead.")
    account_id: int | None
    attributes: dict[str, Any]
    consent: ContactConsentOut
    email_topics: list[str]
    email_frequency: str
    created_at: datetime
    updated_at: datetime


class ContactPage(PageBase):
    data: list[ContactOut]


class ContactQuery(PageQuery):
    """The console's filters of the contact list; all given must hold."""

    q: Annotated[StrictStr, Field(min_length=1, max_length=200)] | None = Field(
        None, description="Search in the email, the name and the company.")
    stage: Text20 | None = None
    vertical: Text80 | None = None
    grade: Literal["A", "B", "C", "D"] | None = None
    consent: bool | None = Field(None, description="Marketing consent, true or false.")
    language: Text35 | None = None
    owner: Text320 | None = Field(None, description="The owner's email.")
    segment: Annotated[int, Field(ge=1, le=2**63 - 1)] | None = Field(
        None, description="A segment's id: its members now.")
    list: Annotated[int, Field(ge=1, le=2**63 - 1)] | None = Field(
        None, description="A list's id: its members.")
    email: Email | None = Field(None, description="Exactly this address (any case).")
    updated_since: AwareDatetime | None = Field(None, description=(
        "Changed at or after this moment, e.g. 2026-12-01T00:00Z."))


class ContactSendOut(Closed):
    id: int
    send_key: str = Field(description="The send's key, as a bounce report may name it.")
    template: str
    variant: str
    journey_id: str | None
    step_id: str | None
    broadcast_id: int | None
    message_class: str = Field(description="transactional, service or marketing.")
    to_email: str
    status: str = Field(description="queued, sent, skipped, failed ...")
    reason: str | None = Field(description=(
        "Why it was skipped, deferred or failed (suppressed, frequency-capped, quiet hours "
        "...); null for a send that went."))
    feedback: str | None = Field(description="A hard bounce or a spam complaint.")
    created_at: datetime
    due_at: datetime | None
    sent_at: datetime | None
    opens: int = Field(description="Times a person opened it (mail scanners left out).")
    clicks: int = Field(description="Times a person clicked a link in it.")


class ContactSendPage(PageBase):
    data: list[ContactSendOut]


class ContactExport(Closed):
    """Everything stored about the contact (a data-access request)."""

    format: str
    contact_id: int
    email: str
    tables: dict[str, list[dict[str, Any]]] = Field(description=(
        "Each table's rows about the contact, every column."))


MAX_BULK = 1000


class ContactsBulkIn(Closed):
    """Contacts to upsert by address: each item a `ContactIn`, checked on its own."""

    items: Annotated[list[Any], Field(min_length=1, max_length=MAX_BULK, description=(
        f"1 to {MAX_BULK:,} contacts, each as for `POST /api/v1/contacts/upsert`. A bad "
        "item is reported in its result; it does not stop the others."))]


class ContactItemError(Closed):
    field: str
    detail: str


class ContactItemResult(Closed):
    index: int = Field(description="The item's position in `items`, from 0.")
    status: Literal["created", "updated", "error"]
    id: int | None
    errors: list[ContactItemError]


class ContactsBulkOut(Closed):
    created: int
    updated: int
    failed: int
    results: list[ContactItemResult]
