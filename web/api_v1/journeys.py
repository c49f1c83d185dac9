"""`/api/v1/journeys`: the journeys with their counts, their versions, and their contacts:
list them, enter one contact, take one out.

The rules are the console's: entering a contact is the contact list's "enroll in a
journey" (`journeys.operations.enroll`: the journey's audience, one active enrollment at a
time, its re-entry policy), refused with a 409 sentence when the engine would not let the
contact in; taking one out is the journey page's "take out" (`journeys.operations.take_out`).
Journeys are named by their id, as their files spell it (`trial-nurture`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from flask import Response, current_app, url_for
from pydantic import Field, StrictInt, StrictStr, model_validator

from journeys import queries
from journeys.queries import Enrolled
from journeys.report import Listed
from nurture.app import journeys_console
from nurture.app.runtime import Runtime
from nurture.errors import NotFound
from nurture.yamlfile import ID_PATTERN
from web.api_auth import token_required
from web.api_v1.blueprint import bp
from web.api_v1.caller import acting_as
from web.api_v1.etags import tagged
from web.api_v1.idempotent import idempotent
from web.api_v1.paging import PageBase, PageQuery, page_of, start_after
from web.openapi import validate
from web.problems import Problem
from web.schemas import Closed

TAGS = ("journeys",)
STATUSES = ("scheduled", "active", "completed", "exited")
MAX_ID = 2**63 - 1


class JourneyOut(Closed):
    id: str = Field(description="The journey's id, as its file spells it.")
    name: str
    version: int = Field(description="The newest version's number.")
    topic: str
    status: Literal["live", "paused", "retired"]
    active: int = Field(description="Contacts in it now.")
    entered: int = Field(description="Enrollments ever.")
    converted: int = Field(description="Enrollments that reached an exit goal.")
    conversion: float | None = Field(description=(
        "converted / entered; null when the journey has no goal or nobody entered."))


class JourneyPage(PageBase):
    data: list[JourneyOut]


class JourneyVersionOut(Closed):
    version: int
    name: str
    published_at: datetime
    published_by: str | None = Field(description="Who published it; null from a file.")
    note: str | None
    based_on: int | None = Field(description="The version it was edited from, if known.")
    retired: bool


class JourneyVersionPage(PageBase):
    data: list[JourneyVersionOut]


class EnrollmentOut(Closed):
    id: int
    journey_id: str
    contact_id: int
    email: str
    version: int = Field(description="The journey version the contact follows.")
    status: Literal["scheduled", "active", "completed", "exited"]
    step_id: str | None = Field(description="The step the contact is at; null before the "
                                            "first.")
    entered_at: datetime
    ended_at: datetime | None
    exit_reason: str | None = Field(description=(
        "Why it ended early: `goal:<event>`, `removed by <who>` ..."))
    next_run_at: datetime | None


class EnrollmentPage(PageBase):
    data: list[EnrollmentOut]


class EnrollmentQuery(PageQuery):
    status: Literal["scheduled", "active", "completed", "exited", "in"] | None = Field(
        None, description="Only enrollments in this status; `in`: scheduled or active.")


class EnrollmentIn(Closed):
    """The contact to enter, by id or by address (one of the two)."""

    contact_id: Annotated[StrictInt, Field(ge=1, le=MAX_ID)] | None = None
    email: Annotated[StrictStr, Field(min_length=3, max_length=320)] | None = None

    @model_validator(mode="after")
    def _one(self) -> EnrollmentIn:
        if (self.contact_id is None) == (self.email is None):
            raise ValueError("Give either contact_id or email, not both.")
        return self


def _rt() -> Runtime:
    runtime: Runtime = current_app.extensions["nurture"]
    return runtime


def _checked(journey_id: str) -> str:
    """A journey id is as a journey file spells it; anything else names no journey."""
    if len(journey_id) > 120 or not ID_PATTERN.match(journey_id):
        raise NotFound("No journey has this id; list them at /api/v1/journeys.")
    return journey_id


def _journey_out(item: Listed) -> JourneyOut:
    return JourneyOut(id=item.id, name=item.name, version=item.version, topic=item.topic,
                      status=item.status,  # type: ignore[arg-type]
                      active=item.active, entered=item.entered, converted=item.converted,
                      conversion=item.conversion)


def _enrollment_out(item: Enrolled) -> EnrollmentOut:
    return EnrollmentOut(id=item.id, journey_id=item.journey_id, contact_id=item.contact_id,
                         email=item.email, version=item.version,
                         status=item.status,  # type: ignore[arg-type]
                         step_id=item.step_id, entered_at=item.entered_at,
                         ended_at=item.ended_at, exit_reason=item.exit_reason,
                         next_run_at=item.next_run_at)


def _journey(journey_id: str) -> JourneyOut:
    found = journeys_console.listing(_rt(), [_checked(journey_id)])
    if not found:
        raise NotFound(f"No journey {journey_id!r} is published; list them at "
                       "/api/v1/journeys.")
    return _journey_out(found[0])


@bp.get("/journeys")
@token_required()
@validate(query=PageQuery, resp={"HTTP_200": JourneyPage}, tags=TAGS)
def list_journeys(query: PageQuery):
    """Published journeys by id, each with its status, newest version and counts."""
    with _rt().sessions() as session:
        ids, last = queries.journey_ids(session, start_after(query), query.limit)
    listed = journeys_console.listing(_rt(), ids) if ids else []
    return page_of(query, JourneyPage, [_journey_out(j) for j in listed], last)


@bp.get("/journeys/<journey_id>")
@token_required()
@validate(resp={"HTTP_200": JourneyOut, "HTTP_304": None}, tags=TAGS)
def get_journey(journey_id: str):
    """One journey, with its status, newest version and counts."""
    return tagged(_journey(journey_id))


@bp.get("/journeys/<journey_id>/versions")
@token_required()
@validate(query=PageQuery, resp={"HTTP_200": JourneyVersionPage}, tags=TAGS)
def list_versions(journey_id: str, query: PageQuery):
    """The journey's published versions, newest first: who published each, and why."""
    with _rt().sessions() as session:
        found, last = queries.versions(session, _checked(journey_id), start_after(query),
                                       query.limit)
        if not found and query.cursor is None:
            raise NotFound(f"No journey {journey_id!r} is published.")
        data = [JourneyVersionOut(version=v.version, name=v.name, published_at=v.published_at,
                                  published_by=v.published_by, note=v.note,
                                  based_on=v.based_on, retired=v.retired) for v in found]
    return page_of(query, JourneyVersionPage, data, last)


@bp.get("/journeys/<journey_id>/enrollments")
@token_required()
@validate(query=EnrollmentQuery, resp={"HTTP_200": EnrollmentPage}, tags=TAGS)
def list_enrollments(journey_id: str, query: EnrollmentQuery):
    """Who entered the journey, oldest first; `status` keeps one kind."""
    journey = _journey(journey_id)
    statuses = None if query.status is None else (
        ("scheduled", "active") if query.status == "in" else (query.status,))
    with _rt().sessions() as session:
        found, last = queries.enrollments(session, journey.id, statuses, start_after(query),
                                          query.limit)
    return page_of(query, EnrollmentPage, [_enrollment_out(e) for e in found], last)


def _latest(journey_id: str, contact_id: int) -> EnrollmentOut:
    with _rt().sessions() as session:
        found = queries.latest_enrollment(session, _checked(journey_id), contact_id)
    if found is None:
        raise NotFound("This contact has never been in this journey.")
    return _enrollment_out(found)


@bp.get("/journeys/<journey_id>/enrollments/<int:contact_id>")
@token_required()
@validate(resp={"HTTP_200": EnrollmentOut, "HTTP_304": None}, tags=TAGS)
def get_enrollment(journey_id: str, contact_id: int):
    """The contact's latest enrollment in the journey."""
    return tagged(_latest(journey_id, contact_id))


@bp.post("/journeys/<journey_id>/enrollments")
@token_required()
@idempotent
@validate(json=EnrollmentIn, resp={"HTTP_201": EnrollmentOut, "HTTP_409": Problem},
          tags=TAGS)
def enroll(journey_id: str, json: EnrollmentIn):
    """Enter a contact into the journey now, as the contact list's bulk action does: 409
    when the journey would not take them (in it already, re-entry not allowed yet, not in
    its audience, retired). Send an `Idempotency-Key` to make a retry safe."""
    rt = _rt()
    contact_id = json.contact_id if json.contact_id is not None else \
        journeys_console.contact_by_email(rt, json.email or "")
    journeys_console.enroll(rt, _checked(journey_id), contact_id, acting_as())
    answer = tagged(_latest(journey_id, contact_id), 201)
    answer.headers["Location"] = url_for("api_v1.get_enrollment", journey_id=journey_id,
                                         contact_id=contact_id)
    return answer


@bp.delete("/journeys/<journey_id>/enrollments/<int:contact_id>")
@token_required()
@validate(resp={"HTTP_204": None, "HTTP_409": Problem}, tags=TAGS)
def take_out(journey_id: str, contact_id: int):
    """Take the contact out of the journey, as its console page does: the enrollment ends
    as exited ("removed by ..."; GET it to see), and none of its emails are made any more.
    404 when the contact is not in it; 409 while a worker is moving them along (try again)."""
    journeys_console.take_out_contact(_rt(), _checked(journey_id), contact_id, acting_as())
    return Response(status=204)
