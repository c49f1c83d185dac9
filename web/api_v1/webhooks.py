"""`/api/v1/webhooks`: webhook subscriptions (a URL, the event types it gets, a
description), as the console's webhooks page manages them; their delivery log, and replay.

The signing secret is shown once: in the 201 answer that creates the endpoint, and in the
answer of a rotation (the previous secret keeps signing beside the new one for 24 hours).
No GET shows it. A URL whose host is an address inside the network is refused with a 422
sentence, by the SSRF guard's rule (`nurture.webhooks.ssrf`; NURTURE_WEBHOOK_ALLOW names
the exceptions). Marketers and admins manage them, as in the console: a write token.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from flask import Response, current_app, url_for
from pydantic import Field, StrictStr

from nurture.webhooks import console
from nurture.webhooks.console import DeliveryView, EndpointView
from web.api_auth import token_required
from web.api_v1.blueprint import bp
from web.api_v1.caller import acting_user
from web.api_v1.etags import precondition_failed, tagged
from web.api_v1.idempotent import idempotent
from web.api_v1.paging import PageBase, PageQuery, page_of, start_after
from web.openapi import validate
from web.problems import Problem
from web.schemas import Closed

TAGS = ("webhooks",)
Url = Annotated[StrictStr, Field(min_length=1, max_length=2000, description=(
    "An http or https address outside the network."))]
EventType = Annotated[StrictStr, Field(min_length=1, max_length=120, description=(
    "An event type (`contact.created`), a family (`email.*`) or `*`."))]
EventTypes = Annotated[list[EventType], Field(min_length=1, max_length=100)]
Description = Annotated[StrictStr, Field(max_length=500)]


class WebhookOut(Closed):
    id: int
    url: str
    event_types: list[str]
    description: str
    enabled: bool
    disabled_reason: str | None = Field(description=(
        "Why it is disabled: by a user, or after failing too long."))
    failure_count: int = Field(description="Failed deliveries in a row.")
    rotating_until: datetime | None = Field(description=(
        "After a rotation: the previous secret still signs until then."))


class WebhookWithSecret(WebhookOut):
    secret: str = Field(description=(
        "The signing secret (Standard Webhooks, `whsec_...`): copy it now, it is not "
        "shown again."))


class WebhookPage(PageBase):
    data: list[WebhookOut]


class WebhookIn(Closed):
    url: Url
    event_types: EventTypes
    description: Description = ""


class WebhookPatch(Closed):
    url: Url | None = None
    event_types: EventTypes | None = None
    description: Description | None = None
    enabled: bool | None = Field(None, description=(
        "false disables it; true enables it again and forgets its run of failures."))


class DeliveryOut(Closed):
    id: int
    endpoint_id: int | None = Field(description="Null for a hand-off or a journey step's.")
    source: str = Field(description="`endpoint`, `hand-off`, `journey` or `replay`.")
    url: str
    event: str
    status: str = Field(description="`pending`, `delivered` or `failed`.")
    attempts: int
    response_code: int | None
    duration_ms: int | None
    error: str | None
    created_at: datetime
    next_try: datetime | None


class DeliveryPage(PageBase):
    data: list[DeliveryOut]


def _out(view: EndpointView) -> WebhookOut:
    return WebhookOut(id=view.id, url=view.url, event_types=list(view.event_types),
                      description=view.description, enabled=view.enabled,
                      disabled_reason=view.disabled_reason, failure_count=view.failure_count,
                      rotating_until=view.rotating_until)


def _delivery(view: DeliveryView) -> DeliveryOut:
    return DeliveryOut(id=view.id, endpoint_id=view.endpoint_id, source=view.source,
                       url=view.url, event=view.event, status=view.status,
                       attempts=view.attempts, response_code=view.response_code,
                       duration_ms=view.duration_ms, error=view.error,
                       created_at=view.created_at, next_try=view.next_try)


def _one(endpoint_id: int) -> WebhookOut:
    rt = current_app.extensions["nurture"]
    return _out(console.one(rt.db, endpoint_id, rt.clock.now()))


def _with_secret(endpoint_id: int, secret: str, status: int) -> Response:
    shown = WebhookWithSecret(**_one(endpoint_id).model_dump(), secret=secret)
    answer = Response(shown.model_dump_json(), status, mimetype="application/json")
    answer.headers["Cache-Control"] = "no-store"  # a secret: no cache keeps it
    return answer


@bp.get("/webhooks")
@token_required()
@validate(query=PageQuery, resp={"HTTP_200": WebhookPage}, tags=TAGS)
def list_webhooks(query: PageQuery):
    """Webhook endpoints, oldest first (without their secrets)."""
    rt = current_app.extensions["nurture"]
    found, last = console.page(rt.db, start_after(query), query.limit, rt.clock.now())
    return page_of(query, WebhookPage, [_out(v) for v in found], last)


@bp.post("/webhooks")
@token_required()
@idempotent
@validate(json=WebhookIn, resp={"HTTP_201": WebhookWithSecret, "HTTP_409": Problem}, tags=TAGS)
def create_webhook(json: WebhookIn):
    """Subscribe a URL to event types. The answer carries the signing secret, once. A URL
    the SSRF guard refuses is a 422."""
    rt = current_app.extensions["nurture"]
    user = acting_user()
    endpoint_id, secret = console.created(
        rt.db, json.url, json.event_types, json.description,
        user.id if user is not None else None, rt.clock.now(), rt.settings.webhook_allow)
    answer = _with_secret(endpoint_id, secret, 201)
    answer.headers["Location"] = url_for("api_v1.get_webhook", endpoint_id=endpoint_id)
    return answer


@bp.get("/webhooks/<int:endpoint_id>")
@token_required()
@validate(resp={"HTTP_200": WebhookOut, "HTTP_304": None}, tags=TAGS)
def get_webhook(endpoint_id: int):
    """One endpoint (never its secret)."""
    return tagged(_one(endpoint_id))


@bp.patch("/webhooks/<int:endpoint_id>")
@token_required()
@validate(json=WebhookPatch, resp={"HTTP_200": WebhookOut, "HTTP_412": Problem}, tags=TAGS)
def patch_webhook(endpoint_id: int, json: WebhookPatch):
    """Change the URL, the event types or the description; enable or disable it. Send
    `If-Match` with the ETag you read to refuse the change (412) if someone changed it."""
    rt = current_app.extensions["nurture"]
    current = _one(endpoint_id)
    refused = precondition_failed(current)
    if refused is not None:
        return refused
    if json.url is not None or json.event_types is not None or json.description is not None:
        console.changed(rt.db, endpoint_id, json.url or current.url,
                        json.event_types or current.event_types,
                        current.description if json.description is None else json.description,
                        rt.settings.webhook_allow)
    if json.enabled is not None and json.enabled != current.enabled:
        console.switched(rt.db, endpoint_id, json.enabled, rt.clock.now())
    return tagged(_one(endpoint_id))


@bp.delete("/webhooks/<int:endpoint_id>")
@token_required()
@validate(resp={"HTTP_204": None}, tags=TAGS)
def delete_webhook(endpoint_id: int):
    """Delete the endpoint, with its deliveries."""
    console.removed(current_app.extensions["nurture"].db, endpoint_id)
    return Response(status=204)


@bp.post("/webhooks/<int:endpoint_id>/rotate-secret")
@token_required()
@idempotent
@validate(resp={"HTTP_200": WebhookWithSecret, "HTTP_409": Problem}, tags=TAGS)
def rotate_webhook_secret(endpoint_id: int):
    """A new signing secret, in this answer only; the previous one keeps signing beside it
    for 24 hours (`rotating_until`), so that the receiver can switch in its own time."""
    rt = current_app.extensions["nurture"]
    secret = console.rotated(rt.db, endpoint_id, rt.clock.now())
    return _with_secret(endpoint_id, secret, 200)


@bp.get("/webhooks/<int:endpoint_id>/deliveries")
@token_required()
@validate(query=PageQuery, resp={"HTTP_200": DeliveryPage}, tags=TAGS)
def list_webhook_deliveries(endpoint_id: int, query: PageQuery):
    """The endpoint's deliveries, newest first: event, status, answer code, duration and
    attempts."""
    found, last = console.deliveries(current_app.extensions["nurture"].db, endpoint_id,
                                     start_after(query), query.limit)
    return page_of(query, DeliveryPage, [_delivery(v) for v in found], last)


@bp.get("/webhooks/deliveries/<int:delivery_id>")
@token_required()
@validate(resp={"HTTP_200": DeliveryOut, "HTTP_304": None}, tags=TAGS)
def get_webhook_delivery(delivery_id: int):
    """One delivery: an endpoint's, a hand-off's or a journey step's."""
    return tagged(_delivery(console.delivery(current_app.extensions["nurture"].db,
                                             delivery_id)))


@bp.post("/webhooks/deliveries/<int:delivery_id>/replay")
@token_required()
@idempotent
@validate(resp={"HTTP_201": DeliveryOut, "HTTP_409": Problem}, tags=TAGS)
def replay_webhook_delivery(delivery_id: int):
    """Send the same payload to the same place again, as a new delivery due now (the
    original stays in the log as it was)."""
    rt = current_app.extensions["nurture"]
    new_id = console.replayed(rt.db, delivery_id, rt.clock.now())
    answer = tagged(_delivery(console.delivery(rt.db, new_id)), 201)
    answer.headers["Location"] = url_for("api_v1.get_webhook_delivery", delivery_id=new_id)
    return answer
