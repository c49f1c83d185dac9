"""`/api/v1/lists`: contact lists (static, named sets of contacts, as imports and bulk
actions make them): list, read and create them; page through their members, add up to
1,000 contacts at once by id or email with a result for each, and take one off.

The rules are `nurture.contacts.lists`: a list's name is unique and at most 120 characters;
a contact is on a list at most once. Broadcasts send to lists (`/api/v1/broadcasts`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from flask import Response, current_app, url_for
from pydantic import Field, PlainValidator, StrictStr, WithJsonSchema

from nurture.contacts import list_pages
from nurture.contacts.lists import ListSummary
from nurture.db import Database
from web.api_auth import token_required
from web.api_v1.blueprint import bp
from web.api_v1.caller import acting_as
from web.api_v1.etags import tagged
from web.api_v1.idempotent import idempotent
from web.api_v1.paging import PageBase, PageQuery, page_of, start_after
from web.openapi import validate
from web.problems import Problem
from web.schemas import Closed

TAGS = ("lists",)
MAX_ITEMS = 1000
MAX_ID = 2**63 - 1


class ListOut(Closed):
    id: int
    name: str
    description: str
    members: int = Field(description="How many contacts are on it now.")
    created_at: datetime


class ListPage(PageBase):
    data: list[ListOut]


class ListIn(Closed):
    name: Annotated[StrictStr, Field(min_length=1, max_length=120, description=(
        "Unique among lists."))]
    description: Annotated[StrictStr, Field(max_length=2000)] = ""


class MemberOut(Closed):
    contact_id: int
    email: str
    added_at: datetime
    source: str = Field(description="How it was added: `import:<job>`, `bulk:<user>`, "
                                    "`api:<user>` ...")


class MemberPage(PageBase):
    data: list[MemberOut]


def _contact_ref(value: object) -> int | str:
    """A contact id or an email address; one sentence for anything else (a union would
    give one error per branch, with its name in the path)."""
    if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= MAX_ID:
        return value
    if isinstance(value, str) and 3 <= len(value.strip()) <= 320:
        return value
    raise ValueError("Each contact is a contact id (a whole number) or an email address "
                     "(text of 3 to 320 characters).")


ContactRef = Annotated[int | str, PlainValidator(_contact_ref), WithJsonSchema({
    "oneOf": [{"type": "integer", "minimum": 1, "maximum": MAX_ID},
              {"type": "string", "minLength": 3, "maxLength": 320}]})]


class MembersIn(Closed):
    contacts: Annotated[list[ContactRef], Field(min_length=1, max_length=MAX_ITEMS,
                                                description=(
        f"Up to {MAX_ITEMS:,} contacts, each a contact id (a number) or an email address "
        "(a string)."))]


class MemberResult(Closed):
    item: int | str = Field(description="The item as given.")
    result: Literal["added", "already_member", "not_found"]
    contact_id: int | None = Field(description="The contact it named; null when none.")


class MembersAdded(Closed):
    added: int = Field(description="How many contacts were added now.")
    results: list[MemberResult] = Field(description="One per item, in the order given.")


def _out(summary: ListSummary) -> ListOut:
    return ListOut(id=summary.id, name=summary.name, description=summary.description,
                   members=summary.members, created_at=summary.created_at)


def _db() -> Database:
    return current_app.extensions["nurture"].db


@bp.get("/lists")
@token_required()
@validate(query=PageQuery, resp={"HTTP_200": ListPage}, tags=TAGS)
def list_lists(query: PageQuery):
    """Contact lists, oldest first, with their member counts."""
    found, last = list_pages.page(_db(), start_after(query), query.limit)
    return page_of(query, ListPage, [_out(s) for s in found], last)


@bp.get("/lists/<int:list_id>")
@token_required()
@validate(resp={"HTTP_200": ListOut, "HTTP_304": None}, tags=TAGS)
def get_list(list_id: int):
    """One list, with how many contacts are on it."""
    return tagged(_out(list_pages.one(_db(), list_id)))


@bp.post("/lists")
@token_required()
@idempotent
@validate(json=ListIn, resp={"HTTP_201": ListOut, "HTTP_409": Problem}, tags=TAGS)
def create_list(json: ListIn):
    """Make an empty list. A name another list has is a 422. Send an `Idempotency-Key` to
    make a retry safe."""
    rt = current_app.extensions["nurture"]
    list_id = list_pages.create(rt.db, json.name, json.description, rt.clock.now(),
                                acting_as())
    answer = tagged(_out(list_pages.one(rt.db, list_id)), 201)
    answer.headers["Location"] = url_for("api_v1.get_list", list_id=list_id)
    return answer


@bp.get("/lists/<int:list_id>/members")
@token_required()
@validate(query=PageQuery, resp={"HTTP_200": MemberPage}, tags=TAGS)
def list_members(list_id: int, query: PageQuery):
    """The list's members, by contact id."""
    found, last = list_pages.members(_db(), list_id, start_after(query), query.limit)
    data = [MemberOut(contact_id=m.contact_id, email=m.email, added_at=m.added_at,
                      source=m.source) for m in found]
    return page_of(query, MemberPage, data, last)


@bp.post("/lists/<int:list_id>/members")
@token_required()
@idempotent
@validate(json=MembersIn, resp={"HTTP_200": MembersAdded, "HTTP_409": Problem}, tags=TAGS)
def add_members(list_id: int, json: MembersIn):
    """Put contacts on the list, by id or email: each item's result says whether it was
    added now, was on the list already, or names no contact. Adding twice is harmless."""
    rt = current_app.extensions["nurture"]
    results = list_pages.add_items(rt.db, list_id, json.contacts, rt.clock.now(),
                                   f"api:{acting_as()}")
    return MembersAdded(added=sum(r.result == list_pages.ADDED for r in results),
                        results=[MemberResult(item=r.item, result=r.result,
                                              contact_id=r.contact_id) for r in results])


@bp.delete("/lists/<int:list_id>/members/<int:contact_id>")
@token_required()
@validate(resp={"HTTP_204": None}, tags=TAGS)
def remove_member(list_id: int, contact_id: int):
    """Take a contact off the list; 404 when it was not on it."""
    list_pages.remove_one(_db(), list_id, contact_id)
    return Response(status=204)
