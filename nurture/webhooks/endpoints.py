"""Endpoints: create, change their events, rotate the secret, enable, disable, delete."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from nurture.webhooks import signing
from nurture.webhooks.errors import EndpointError
from nurture.webhooks.models import WebhookEndpoint

PREVIOUS_SECRET_KEPT = timedelta(hours=24)  # both secrets sign for a day after a rotation
_EVENT_TYPE = re.compile(r"^(\*|[a-z0-9_]+(\.[a-z0-9_*]+)*)$")


def clean_events(types: Iterable[str]) -> list[str]:
    """The subscribed event types, checked: `contact.created`, `email.*` or `*`."""
    cleaned = list(dict.fromkeys(t.strip() for t in types if t.strip()))
    if not cleaned:
        raise EndpointError("Choose at least one event type.")
    bad = [t for t in cleaned if len(t) > 120 or not _EVENT_TYPE.match(t)]
    if bad:
        raise EndpointError(f"{bad[0]!r} is not an event type (like contact.created, "
                            "email.* or *).")
    return cleaned


def clean_url(url: str) -> str:
    url = url.strip()
    if len(url) > 2000 or not re.match(r"^https?://[^\s/?#]+[^\s]*$", url):
        raise EndpointError("The URL must be an http or https address.")
    return url


def matches(subscribed: Iterable[str], event_type: str) -> bool:
    for pattern in subscribed:
        if pattern == "*" or pattern == event_type or (
                pattern.endswith(".*") and event_type.startswith(pattern[:-1])):
            return True
    return False


def create(session: Session, url: str, events: Iterable[str], description: str,
           owner_id: int | None, now: datetime) -> WebhookEndpoint:
    endpoint = WebhookEndpoint(url=clean_url(url), event_types=clean_events(events),
                               description=description.strip()[:500],
                               secret=signing.new_secret(), owner_id=owner_id, enabled=True,
                               failure_count=0, created_at=now)
    session.add(endpoint)
    session.flush()
    return endpoint


def change(session: Session, endpoint: WebhookEndpoint, url: str, events: Iterable[str],
           description: str) -> None:
    endpoint.url, endpoint.event_types = clean_url(url), clean_events(events)
    endpoint.description = description.strip()[:500]


def rotate(endpoint: WebhookEndpoint, now: datetime) -> str:
    """A new secret; the old one keeps signing beside it for 24 hours."""
    endpoint.previous_secret = endpoint.secret
    endpoint.previous_expires_at = now + PREVIOUS_SECRET_KEPT
    endpoint.secret = signing.new_secret()
    return endpoint.secret


def set_enabled(endpoint: WebhookEndpoint, enabled: bool, now: datetime,
                reason: str = "Disabled by a user.") -> None:
    endpoint.enabled = enabled
    endpoint.disabled_at = None if enabled else now
    endpoint.disabled_reason = None if enabled else reason
    if enabled:  # a fresh start: the old run of failures no longer counts
        endpoint.failure_count, endpoint.failing_since = 0, None


def listening(session: Session) -> list[WebhookEndpoint]:
    return list(session.scalars(select(WebhookEndpoint).where(
        WebhookEndpoint.enabled.is_(True)).order_by(WebhookEndpoint.id)))
