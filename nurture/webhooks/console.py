"""What the console shows and does with webhooks, as plain values: endpoints, the delivery
log (subscriptions, CRM hand-offs and journey steps alike), and the changes a user makes."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from nurture.db import Database
from nurture.paging import Key, after, split
from nurture.webhooks import endpoints, ssrf
from nurture.webhooks.errors import (
    DeliveryNotFound,
    EndpointError,
    EndpointNotFound,
    Refused,
)
from nurture.webhooks.models import WebhookDelivery, WebhookEndpoint
from nurture.webhooks.services import replay

LOG_ROWS = 100


@dataclass(frozen=True)
class EndpointView:
    id: int
    url: str
    event_types: tuple[str, ...]
    description: str
    enabled: bool
    disabled_reason: str | None
    failure_count: int
    rotating_until: datetime | None  # the previous secret still signs until then


@dataclass(frozen=True)
class DeliveryView:
    id: int
    endpoint_id: int | None
    source: str  # "endpoint", "hand-off", "journey", "replay"
    url: str
    event: str
    request: str  # the JSON body as sent
    status: str
    attempts: int
    response_code: int | None
    response_excerpt: str | None
    error: str | None
    duration_ms: int | None
    created_at: datetime
    next_try: datetime | None


def _endpoint(row: WebhookEndpoint, now: datetime) -> EndpointView:
    until = row.previous_expires_at if row.previous_expires_at and \
        row.previous_expires_at > now else None
    return EndpointView(row.id, row.url, tuple(row.event_types), row.description,
                        row.enabled, row.disabled_reason, row.failure_count, until)


def _source(row: WebhookDelivery) -> str:
    head = row.delivery_key.split(":", 1)[0]
    return {"event": "endpoint", "handoff": "hand-off", "replay": "replay"}.get(head, "journey")


def _delivery(row: WebhookDelivery) -> DeliveryView:
    return DeliveryView(row.id, row.endpoint_id, _source(row), row.url, row.event,
                        json.dumps(row.payload, sort_keys=True, indent=1)[:2000], row.status,
                        row.attempts, row.response_code, row.response_excerpt, row.last_error,
                        row.duration_ms, row.created_at, row.due_at)


def listed(db: Database, now: datetime) -> tuple[list[EndpointView], list[DeliveryView]]:
    """Every endpoint, and the latest deliveries of every kind."""
    with db.sessions() as session:
        hooks = [_endpoint(r, now) for r in session.scalars(
            select(WebhookEndpoint).order_by(WebhookEndpoint.id))]
        log = [_delivery(r) for r in session.scalars(
            select(WebhookDelivery).order_by(WebhookDelivery.id.desc()).limit(LOG_ROWS))]
    return hooks, log


def shown(db: Database, endpoint_id: int, now: datetime
          ) -> tuple[EndpointView, list[DeliveryView]]:
    with db.sessions() as session:
        row = session.get(WebhookEndpoint, endpoint_id)
        if row is None:
            raise EndpointNotFound()
        log = [_delivery(r) for r in session.scalars(
            select(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint_id)
            .order_by(WebhookDelivery.id.desc()).limit(LOG_ROWS))]
        return _endpoint(row, now), log


def _guarded(url: str, allow: Sequence[str]) -> None:
    """The SSRF guard's rule, when the URL is saved: an inside address is refused."""
    try:
        ssrf.check(endpoints.clean_url(url), allow)
    except Refused as exc:
        raise EndpointError(str(exc)) from exc


def page(db: Database, last: Key | None, limit: int, now: datetime
         ) -> tuple[list[EndpointView], Key | None]:
    """Endpoints oldest first, a keyset page at a time (the API's list)."""
    with db.sessions() as session:
        rows = session.scalars(after(select(WebhookEndpoint), [WebhookEndpoint.id], last,
                                     limit)).all()
        found, key = split(rows, limit, lambda r: [r.id])
        return [_endpoint(r, now) for r in found], key


def one(db: Database, endpoint_id: int, now: datetime) -> EndpointView:
    with db.sessions() as session:
        return _endpoint(_found(session, endpoint_id), now)


def deliveries(db: Database, endpoint_id: int, last: Key | None, limit: int
               ) -> tuple[list[DeliveryView], Key | None]:
    """An endpoint's deliveries, newest first, a keyset page at a time."""
    with db.sessions() as session:
        _found(session, endpoint_id)
        rows = session.scalars(after(
            select(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint_id),
            [WebhookDelivery.id], last, limit, descending=True)).all()
        found, key = split(rows, limit, lambda r: [r.id])
        return [_delivery(r) for r in found], key


def delivery(db: Database, delivery_id: int) -> DeliveryView:
    with db.sessions() as session:
        row = session.get(WebhookDelivery, delivery_id)
        if row is None:
            raise DeliveryNotFound()
        return _delivery(row)


def created(db: Database, url: str, events: Iterable[str], description: str,
            owner_id: int | None, now: datetime, allow: Sequence[str] = ()
            ) -> tuple[int, str]:
    """The new endpoint's id and its secret (shown once, to copy to the receiver). A URL
    the SSRF guard refuses (unless `allow`, NURTURE_WEBHOOK_ALLOW, names it) is refused."""
    _guarded(url, allow)
    with db.transaction() as session:
        row = endpoints.create(session, url, events, description, owner_id, now)
        return row.id, row.secret


def _found(session: Session, endpoint_id: int) -> WebhookEndpoint:
    row = session.get(WebhookEndpoint, endpoint_id)
    if row is None:
        raise EndpointNotFound()
    return row


def changed(db: Database, endpoint_id: int, url: str, events: Iterable[str],
            description: str, allow: Sequence[str] = ()) -> None:
    _guarded(url, allow)
    with db.transaction() as session:
        endpoints.change(session, _found(session, endpoint_id), url, events, description)


def rotated(db: Database, endpoint_id: int, now: datetime) -> str:
    with db.transaction() as session:
        return endpoints.rotate(_found(session, endpoint_id), now)


def switched(db: Database, endpoint_id: int, enabled: bool, now: datetime) -> None:
    with db.transaction() as session:
        endpoints.set_enabled(_found(session, endpoint_id), enabled, now)


def removed(db: Database, endpoint_id: int) -> str:
    with db.transaction() as session:
        row = _found(session, endpoint_id)
        url = row.url
        session.delete(row)
        return url


def replayed(db: Database, delivery_id: int, now: datetime) -> int:
    with db.transaction() as session:
        new_id = replay(session, delivery_id, now)
        if new_id is None:
            raise DeliveryNotFound()
        return new_id
