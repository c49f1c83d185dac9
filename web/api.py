"""JSON API: events, bounces, inbound mail and scores. Authenticated by a user's API token
or the deprecated NURTURE_API_KEY (`web/api_auth.py`).

Each view declares its body or query (`web/schemas.py`) with `@validate`: a call that breaks
it is a 422 problem document, stored nowhere. Errors are problem documents (`web/problems.py`);
a service's refusal (an unknown contact, a bad bounce event) becomes one in `web/errors.py`.
"""

from __future__ import annotations

from flask import Blueprint, current_app, request
from werkzeug.exceptions import RequestEntityTooLarge

from nurture.app import guard
from nurture.events.services import record_for_email
from nurture.inbound.services import handle, mailboxes
from nurture.sending.dsn import parse_json_event
from scoring.queries import score_card
from web.api_auth import key_required
from web.openapi import successor_values, validate
from web.problems import Problem, problem
from web.schemas import (
    BouncesIn,
    BouncesRecorded,
    EventIn,
    EventRecorded,
    InboundHandled,
    ScoreCard,
    ScoreQuery,
)

bp = Blueprint("api", __name__, url_prefix="/api")
INBOUND_MAX = 10 * 2**20  # a forwarded email with attachments; the IMAP path has no limit


def error(message: str, status: int):
    """A problem document with this sentence (404, 409, 422 ...)."""
    return problem(status, message)


@bp.post("/bounces")
@key_required
@validate(json=BouncesIn, resp={"HTTP_202": BouncesRecorded}, tags=("bounces",),
          successor="/api/v1/bounces")
def post_bounces(json: BouncesIn):
    """Bounces and complaints from an email provider's webhook (see docs/delivery.md)."""
    return bounces_recorded()


def bounces_recorded():
    """What both forms of the bounces call answer."""
    bounces = parse_json_event(request.get_json())
    counts = guard.intake(current_app.extensions["nurture"], bounces, "webhook")
    return BouncesRecorded(recorded=len(bounces), by_kind=counts), 202


@bp.post("/inbound")
@key_required
@validate(resp={"HTTP_200": InboundHandled, "HTTP_413": Problem, "HTTP_415": Problem},
          tags=("inbound",), successor="/api/v1/inbound", body="message/rfc822")
def post_inbound():
    """One raw email (`Content-Type: message/rfc822`) that a relay received for the
    unsubscribe address or a bounce address: unsubscribes, bounces and complaints are
    applied at once, anything else is kept for a person (see docs/delivery.md)."""
    return inbound_handled()


def inbound_handled():
    """What both forms of the inbound call answer."""
    if request.mimetype != "message/rfc822":
        return error("The body must be one raw email message, sent with "
                     "Content-Type: message/rfc822.", 415)
    request.max_content_length = INBOUND_MAX
    try:
        data = request.get_data(cache=False)
    except RequestEntityTooLarge:
        return error(f"The message is larger than {INBOUND_MAX // 2**20} MB, the most this "
                     "address takes.", 413)
    if not data.strip():
        return error("The body is empty; it must be one raw email message.", 400)
    rt = current_app.extensions["nurture"]
    done = handle(rt, mailboxes(rt.settings), data, "inbound-api")
    return InboundHandled(handled=done.handled, message_id=done.message_id,
                          detail=done.detail, duplicate=done.duplicate)


@bp.post("/events")
@key_required
@validate(json=EventIn, resp={"HTTP_201": EventRecorded}, tags=("events",),
          successor="/api/v1/events")
def post_event(json: EventIn):
    """Record an event about a contact; it moves journeys, scores and referrals."""
    event_id = record_for_email(current_app.extensions["nurture"], json.email, json.type,
                                json.properties, source="api", occurred_at=json.occurred_at)
    return EventRecorded(id=event_id), 201


@bp.get("/scores")
@key_required
@validate(query=ScoreQuery, resp={"HTTP_200": ScoreCard}, tags=("scores",),
          successor="/api/v1/contacts/{id}/score")
def get_score(query: ScoreQuery):
    """A contact's score, grade and the rules behind it: `GET /api/scores?email=...`."""
    rt = current_app.extensions["nurture"]
    card = score_card(rt, rt.settings, email=query.email)
    if card is None:
        return error(f"There is no contact with the email address {query.email}.", 404)
    successor_values(id=card["contact_id"])
    return card
