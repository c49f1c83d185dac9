"""`/api/v1/segments`: list, read, create, change and delete segments; count their members.

The pattern every resource here follows: a paged list, a single resource with an ETag, an
idempotent create answering 201 with `Location`, a PATCH guarded by `If-Match`, a DELETE
answering 204. The rules are the segment builder's (`nurture.audiences.services`): a
condition that does not parse is a 422 naming its line and column, and nothing is saved.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from flask import Response, current_app, url_for
from pydantic import Field, StrictStr

from nurture.audiences import services
from nurture.audiences.services import SegmentView
from web.api_auth import token_required
from web.api_v1.blueprint import bp
from web.api_v1.caller import acting_as
from web.api_v1.etags import precondition_failed, tagged
from web.api_v1.idempotent import idempotent
from web.api_v1.paging import PageBase, PageQuery, page_of, start_after
from web.openapi import validate
from web.problems import Problem
from web.schemas import Closed

Name = Annotated[StrictStr, Field(min_length=1, max_length=120)]
Condition = Annotated[StrictStr, Field(min_length=1, max_length=10_000, description=(
    "In the journeys' condition language, e.g. `stage == \"trial\" and score >= 40`."))]
Description = Annotated[StrictStr, Field(max_length=2000)]


class SegmentOut(Closed):
    id: int
    name: str
    condition: str
    description: str
    created_by: str
    created_at: datetime
    updated_by: str
    updated_at: datetime
    count: int | None = Field(None, description=(
        "How many contacts are in it now (on a single segment; null in lists)."))


class SegmentPage(PageBase):
    data: list[SegmentOut]


class SegmentQuery(PageQuery):
    name_contains: Annotated[StrictStr, Field(min_length=1, max_length=120)] | None = None


class SegmentIn(Closed):
    name: Name
    condition: Condition
    description: Description = ""


class SegmentPatch(Closed):
    name: Name | None = None
    condition: Condition | None = None
    description: Description | None = None


def _out(view: SegmentView) -> SegmentOut:
    return SegmentOut(id=view.id, name=view.name, condition=view.condition,
                      description=view.description, created_by=view.created_by,
                      created_at=view.created_at, updated_by=view.updated_by,
                      updated_at=view.updated_at, count=view.count)


def _counted(segment_id: int) -> SegmentOut:
    rt = current_app.extensions["nurture"]
    with rt.db.sessions() as session:
        view = services.find(session, segment_id)
        return _out(view).model_copy(update={
            "count": services._count_or_none(session, view.condition, rt.clock.now())})


@bp.get("/segments")
@token_required()
@validate(query=SegmentQuery, resp={"HTTP_200": SegmentPage}, tags=("segments",))
def list_segments(query: SegmentQuery):
    """Segments, oldest first, a page at a time."""
    with current_app.extensions["nurture"].db.sessions() as session:
        found, last = services.page(session, start_after(query), query.limit,
                                    query.name_contains)
    return page_of(query, SegmentPage, [_out(v) for v in found], last)


@bp.get("/segments/<int:segment_id>")
@token_required()
@validate(resp={"HTTP_200": SegmentOut, "HTTP_304": None}, tags=("segments",))
def get_segment(segment_id: int):
    """One segment, with how many contacts are in it now."""
    return tagged(_counted(segment_id))


@bp.post("/segments")
@token_required()
@idempotent
@validate(json=SegmentIn, resp={"HTTP_201": SegmentOut}, tags=("segments",))
def create_segment(json: SegmentIn):
    """Save a new segment. Send an `Idempotency-Key` to make a retry safe."""
    rt = current_app.extensions["nurture"]
    segment_id = services.saved(rt.db, None, json.name, json.condition, rt.clock.now(),
                                acting_as(), json.description)
    answer = tagged(_counted(segment_id), 201)
    answer.headers["Location"] = url_for("api_v1.get_segment", segment_id=segment_id)
    return answer


@bp.patch("/segments/<int:segment_id>")
@token_required()
@validate(json=SegmentPatch, resp={"HTTP_200": SegmentOut, "HTTP_412": Problem},
          tags=("segments",))
def patch_segment(segment_id: int, json: SegmentPatch):
    """Change a segment's name, condition or description. Send `If-Match` with the ETag you
    read to refuse the change (412) if someone changed it since."""
    rt = current_app.extensions["nurture"]
    current = _counted(segment_id)
    refused = precondition_failed(current)
    if refused is not None:
        return refused
    services.saved(rt.db, segment_id, json.name or current.name,
                   json.condition or current.condition, rt.clock.now(), acting_as(),
                   current.description if json.description is None else json.description)
    return tagged(_counted(segment_id))


@bp.delete("/segments/<int:segment_id>")
@token_required()
@validate(resp={"HTTP_204": None}, tags=("segments",))
def delete_segment(segment_id: int):
    """Delete a segment (journeys triggered by it stop being entered)."""
    services.removed(current_app.extensions["nurture"].db, segment_id)
    return Response(status=204)
