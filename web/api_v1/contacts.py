"""`/api/v1/contacts`: list, read, create, upsert, change and erase contacts; their sends,
their score and everything stored about them.

The rules are the console's: the contact pages are for marketers and admins, so a sales
user's token reads a contact's score only (as `GET /api/scores` did); a change goes through
the contact page's editing service, audited under the token's user; an erasure is the
privacy erase of the contact page. Creating and upserting are `nurture.contacts.upserts`
(consent only with its basis, as an import). `POST /api/v1/contacts/bulk` is
`contacts_bulk`.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from flask import Response, current_app, url_for

from nurture.app import contact_admin, contact_views
from nurture.app.contact_views import ContactView, SendView
from nurture.audiences import browse
from nurture.contacts import given as checks
from nurture.contacts import upserts
from nurture.errors import Forbidden, NotFound
from scoring.queries import score_card
from web.api_auth import token_required
from web.api_v1.blueprint import bp
from web.api_v1.caller import acting_as, acting_user
from web.api_v1.contacts_schemas import (
    ContactConsentOut,
    ContactExport,
    ContactIn,
    ContactOut,
    ContactPage,
    ContactPatch,
    ContactQuery,
    ContactSendOut,
    ContactSendPage,
)
from web.api_v1.etags import precondition_failed, tagged
from web.api_v1.idempotent import idempotent
from web.api_v1.paging import PageQuery, page_of, start_after
from web.openapi import validate
from web.problems import Problem
from web.schemas import ScoreCard

TAGS = ("contacts",)


def marketers_only() -> None:
    """The console's rule for the contact pages: marketers and admins, not sales."""
    user = acting_user()
    if user is not None and user.role == "sales":
        raise Forbidden("Contacts are for marketers and admins, as in the console; this "
                        f"token's user, {user.email}, is a sales user. A contact's score "
                        "is open to sales: GET /api/v1/contacts/{id}/score.")


def contact_out(view: ContactView) -> ContactOut:
    c = view.contact
    return ContactOut(
        id=c.id, email=c.email, first_name=c.first_name, last_name=c.last_name,
        phone=c.phone, company=c.company, role=c.role, industry=c.industry,
        company_size=c.company_size, country=c.country, timezone=c.timezone,
        language=c.language, stage=c.stage, score=c.score, grade=view.grade,
        owner=view.owner, account_id=c.account_id, attributes=dict(c.attributes or {}),
        consent=ContactConsentOut(marketing=c.consent_marketing, at=c.consent_at,
                                  source=c.consent_source, suppressed=view.suppressed),
        email_topics=list(c.email_topics or []), email_frequency=c.email_frequency,
        created_at=c.created_at, updated_at=c.updated_at)


def read(contact_id: int) -> ContactOut:
    return contact_out(contact_views.one(current_app.extensions["nurture"], contact_id))


def _filters(query: ContactQuery) -> browse.Filters:
    fields = (("stage", query.stage), ("vertical", query.vertical), ("grade", query.grade),
              ("language", query.language), ("owner", query.owner))
    return browse.Filters(search=query.q or "",
                          fields=tuple((k, v) for k, v in fields if v is not None),
                          consent=query.consent, segment_id=query.segment,
                          list_id=query.list, email=query.email,
                          updated_since=query.updated_since)


@bp.get("/contacts")
@token_required()
@validate(query=ContactQuery, resp={"HTTP_200": ContactPage, "HTTP_403": Problem}, tags=TAGS)
def list_contacts(query: ContactQuery):
    """Contacts by id, oldest first, a page at a time, filtered as the console's list."""
    marketers_only()
    found, last = contact_views.page(current_app.extensions["nurture"], _filters(query),
                                     start_after(query), query.limit)
    return page_of(query, ContactPage, [contact_out(v) for v in found], last)


@bp.get("/contacts/<int:contact_id>")
@token_required()
@validate(resp={"HTTP_200": ContactOut, "HTTP_304": None, "HTTP_403": Problem}, tags=TAGS)
def get_contact(contact_id: int):
    """One contact: its fields, attributes, stage, consent, owner, score and grade."""
    marketers_only()
    return tagged(read(contact_id))


def _created(contact_id: int, status: int = 201) -> Response:
    answer = tagged(read(contact_id), status)
    if status == 201:
        answer.headers["Location"] = url_for("api_v1.get_contact", contact_id=contact_id)
    return answer


def _given(json: ContactIn) -> dict[str, Any]:
    return json.model_dump(exclude_unset=True)


@bp.post("/contacts")
@token_required()
@idempotent
@validate(json=ContactIn, resp={"HTTP_201": ContactOut, "HTTP_403": Problem,
                                 "HTTP_409": Problem}, tags=TAGS)
def create_contact(json: ContactIn):
    """Create a contact; 409 naming the contact that has the address already. Send an
    `Idempotency-Key` to make a retry safe."""
    rt = current_app.extensions["nurture"]
    return _created(upserts.create(rt, _given(json), acting_as()))


@bp.post("/contacts/upsert")
@token_required()
@idempotent
@validate(json=ContactIn, resp={"HTTP_200": ContactOut, "HTTP_201": ContactOut,
                                 "HTTP_403": Problem, "HTTP_409": Problem}, tags=TAGS)
def upsert_contact(json: ContactIn):
    """Create the contact (201) or update the one with this address (200): the fields
    given are set, the attributes given merged, the others left as they are."""
    rt = current_app.extensions["nurture"]
    created, contact_id = upserts.upsert(rt, _given(json), acting_as())
    return _created(contact_id, 201 if created else 200)


@bp.patch("/contacts/<int:contact_id>")
@token_required()
@validate(json=ContactPatch, resp={"HTTP_200": ContactOut, "HTTP_403": Problem,
                                   "HTTP_409": Problem, "HTTP_412": Problem}, tags=TAGS)
def patch_contact(contact_id: int, json: ContactPatch):
    """Change fields, attributes (merged; null removes a key), stage or owner, as the
    contact page does: each change is in the audit trail under the token's user. Send
    `If-Match` with the ETag you read to refuse the change (412) if it changed since."""
    rt = current_app.extensions["nurture"]
    current = read(contact_id)
    refused = precondition_failed(current)
    if refused is not None:
        return refused
    given = json.model_dump(exclude_unset=True)
    edit = checks.edit_of(given, current.attributes)
    contact_admin.edit_by_id(rt, contact_id, edit, given.get("owner") or "", acting_as(),
                             source="api")
    return tagged(read(contact_id))


@bp.delete("/contacts/<int:contact_id>")
@token_required()
@validate(resp={"HTTP_204": None, "HTTP_403": Problem}, tags=TAGS)
def erase_contact(contact_id: int):
    """Erase the contact for good (the right to be forgotten), as the contact page does:
    every row about it is deleted or emptied; only a hash of its address stays, on the
    suppression list, so that it is never mailed again without a new opt-in."""
    contact_admin.erase_by_id(current_app.extensions["nurture"], contact_id, acting_as())
    return Response(status=204)


@bp.get("/contacts/<int:contact_id>/export")
@token_required()
@validate(resp={"HTTP_200": ContactExport, "HTTP_403": Problem}, tags=TAGS)
def export_contact(contact_id: int):
    """Everything stored about the contact, as the contact page's export (a data-access
    request): each table's rows about it."""
    marketers_only()
    document = contact_admin.export_by_id(current_app.extensions["nurture"], contact_id)
    return Response(ContactExport.model_validate(document).model_dump_json(), 200,
                    mimetype="application/json")


def _send_out(view: SendView) -> ContactSendOut:
    return ContactSendOut.model_validate({**asdict(view.send), "opens": view.opens,
                                          "clicks": view.clicks})


@bp.get("/contacts/<int:contact_id>/sends")
@token_required()
@validate(query=PageQuery, resp={"HTTP_200": ContactSendPage, "HTTP_403": Problem},
          tags=TAGS)
def contact_sends(contact_id: int, query: PageQuery):
    """The contact's sends, newest first, with their status and why one was skipped."""
    marketers_only()
    found, last = contact_views.sends(current_app.extensions["nurture"], contact_id,
                                      start_after(query), query.limit)
    return page_of(query, ContactSendPage, [_send_out(s) for s in found], last)


@bp.get("/contacts/<int:contact_id>/score")
@token_required()
@validate(resp={"HTTP_200": ScoreCard}, tags=TAGS)
def contact_score(contact_id: int):
    """The contact's score card: score, grade, fit, engagement and the rules behind them
    (what `GET /api/scores?email=` answered)."""
    rt = current_app.extensions["nurture"]
    card = score_card(rt, rt.settings, contact_id=contact_id)
    if card is None:
        raise NotFound("There is no contact with this id; it may have been erased.")
    return ScoreCard.model_validate(card)
