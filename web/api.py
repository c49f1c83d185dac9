"""JSON API: record events. Authenticated by the NURTURE_API_KEY bearer token."""

from __future__ import annotations

import hmac
from datetime import datetime

from flask import Blueprint, current_app, jsonify, request

from nurture.contacts.services import ContactError
from nurture.events.api import record_for_email
from nurture.events.errors import EventError
from nurture.sending.bounces import record_bounces
from nurture.sending.dsn import DSNError, parse_json_event

bp = Blueprint("api", __name__, url_prefix="/api")


def error(message: str, status: int):
    return jsonify({"error": message}), status


def authorized() -> bool:
    """The request carries the API key (`Authorization: Bearer $NURTURE_API_KEY`)."""
    key = current_app.extensions["nurture"].settings.extra.get("api_key") or ""
    given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
    return bool(key) and hmac.compare_digest(given, key)


@bp.post("/bounces")
def post_bounces():
    """Bounces and complaints from an email provider's webhook (see docs/delivery.md)."""
    if not authorized():
        return error("A valid API key is required (Authorization: Bearer ...).", 401)
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return error("The request body must be a JSON object.", 400)
    try:
        bounces = parse_json_event(body)
    except DSNError as exc:
        return error(str(exc), 422)
    counts = record_bounces(current_app.extensions["nurture"], bounces, "webhook")
    return jsonify({"recorded": len(bounces), "by_kind": counts}), 202


@bp.post("/events")
def post_event():
    rt = current_app.extensions["nurture"]
    if not authorized():
        return error("A valid API key is required (Authorization: Bearer ...).", 401)
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return error("The request body must be a JSON object.", 400)
    email, event_type = body.get("email"), body.get("type")
    if not isinstance(email, str) or not isinstance(event_type, str):
        return error("An event needs an 'email' and a 'type'.", 400)
    properties = body.get("properties") or {}
    if not isinstance(properties, dict):
        return error("'properties' must be a JSON object.", 400)
    occurred_at = None
    if body.get("occurred_at") is not None:
        try:
            occurred_at = datetime.fromisoformat(str(body["occurred_at"]))
        except ValueError:
            return error("'occurred_at' must be an ISO 8601 date and time.", 400)
        if occurred_at.tzinfo is None:
            return error("'occurred_at' needs a time zone offset, e.g. 2026-03-02T10:00Z.", 400)
    try:
        event_id = record_for_email(rt, email, event_type, properties, source="api",
                                    occurred_at=occurred_at)
    except (EventError, ContactError) as exc:
        return error(str(exc), 422)
    return jsonify({"id": event_id}), 201


@bp.get("/scores")
def get_score():
    """A contact's score, grade and the rules behind it: `GET /api/scores?email=...`."""
    from scoring.queries import score_card

    if not authorized():
        return error("A valid API key is required (Authorization: Bearer ...).", 401)
    email = request.args.get("email", "")
    if not email:
        return error("Give the contact's email address: /api/scores?email=ann@example.com.",
                     400)
    card = score_card(current_app.extensions["nurture"], email=email)
    if card is None:
        return error(f"There is no contact with the email address {email}.", 404)
    return jsonify(card)
