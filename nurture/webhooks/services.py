"""The one delivery engine: endpoint subscriptions, CRM hand-offs and journey steps all
become `WebhookDelivery` rows, delivered here through the SSRF guard, signed per Standard
Webhooks, retried with backoff for 3 days, and logged with what came back."""

from __future__ import annotations

import json
import random
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from nurture.config import Settings
from nurture.webhooks import schedule, signing, ssrf
from nurture.webhooks.errors import Refused
from nurture.webhooks.models import WebhookDelivery, WebhookEndpoint

EXCERPT = 500  # characters of the answer kept in the log


@dataclass(frozen=True)
class Engine:
    """How deliveries go out: the secret of deliveries with no endpoint (the CRM hand-off,
    journey steps), the allow list of inside addresses, the request timeout."""

    secret: str
    allow: tuple[str, ...] = ()
    timeout: float = 10.0

    @classmethod
    def from_settings(cls, settings: Settings) -> Engine:
        return cls(signing.derived_secret(settings.secret_key), settings.webhook_allow)


@dataclass(frozen=True)
class Disabled:
    """An endpoint disabled by this batch, for the notice to its owner."""

    endpoint_id: int
    url: str
    owner_id: int | None
    reason: str


@dataclass(frozen=True)
class Attempt:
    ok: bool
    code: int | None
    excerpt: str | None
    error: str | None
    duration_ms: int


def attempt(engine: Engine, url: str, body: bytes, headers: dict[str, str]) -> Attempt:
    """One POST through the guard; a refusal is a failed attempt with its sentence."""
    started = time.monotonic()
    try:
        response = ssrf.post(ssrf.resolve(url, engine.allow), body, headers, engine.timeout)
    except Refused as exc:
        return Attempt(False, None, None, str(exc), 0)
    except OSError as exc:
        return Attempt(False, None, None, str(exc) or type(exc).__name__,
                       int((time.monotonic() - started) * 1000))
    ok = 200 <= response.status < 300
    return Attempt(ok, response.status, response.body.decode("utf-8", "replace")[:EXCERPT],
                   None if ok else f"HTTP {response.status}",
                   int((time.monotonic() - started) * 1000))


def secrets_of(endpoint: WebhookEndpoint | None, engine: Engine, now: datetime) -> list[str]:
    if endpoint is None:
        return [engine.secret]
    live = [endpoint.secret]
    if endpoint.previous_secret and endpoint.previous_expires_at and \
            endpoint.previous_expires_at > now:
        live.append(endpoint.previous_secret)
    return live


def deliver_batch(session_factory: Callable[[], Session], ids: list[int], now: datetime,
                  engine: Engine, draw: Callable[[], float] = random.random) -> list[Disabled]:
    """Try each pending delivery once, committing each outcome as it comes (a slow
    target must not hold the others' results). Returns the endpoints disabled now."""
    disabled: list[Disabled] = []
    stopped: set[int] = set()  # disabled by this batch: its other rows are not tried
    with session_factory() as session:
        rows = session.scalars(select(WebhookDelivery).where(
            WebhookDelivery.id.in_(ids), WebhookDelivery.status == "pending")
            .order_by(WebhookDelivery.id)).all()
        endpoint_ids = {r.endpoint_id for r in rows if r.endpoint_id is not None}
        endpoints = {e.id: e for e in session.scalars(select(WebhookEndpoint).where(
            WebhookEndpoint.id.in_(endpoint_ids)))} if endpoint_ids else {}
        for row in rows:
            endpoint = endpoints.get(row.endpoint_id) if row.endpoint_id else None
            if row.endpoint_id is not None and (endpoint is None or not endpoint.enabled
                                                or row.endpoint_id in stopped):
                _finish(session, row.id, {"status": "failed", "due_at": None,
                                          "lease_until": None,
                                          "last_error": "The endpoint is disabled."})
                continue
            body = json.dumps(row.payload, sort_keys=True).encode()
            # The signed timestamp is the wall clock's: receivers hold it against their own
            # clock to refuse replays, whatever time the scheduler runs on.
            headers = signing.headers(secrets_of(endpoint, engine, now), row.delivery_key,
                                      datetime.now(UTC), body)
            result = attempt(engine, row.url, body, headers)
            attempts = row.attempts + 1
            values: dict = {"attempts": attempts, "lease_until": None,
                            "response_code": result.code, "response_excerpt": result.excerpt,
                            "duration_ms": result.duration_ms, "last_error": result.error}
            if result.ok:
                values |= {"status": "delivered", "delivered_at": now, "due_at": None}
            elif (due := schedule.next_try(row.created_at, attempts, now, draw())) is None:
                values |= {"status": "failed", "due_at": None}
            else:
                values |= {"due_at": due}
            _finish(session, row.id, values)
            if endpoint is not None and (gone := _count(session, endpoint.id, result.ok, now)):
                disabled.append(gone)
                stopped.add(endpoint.id)
    return disabled


def _finish(session: Session, delivery_id: int, values: dict) -> None:
    session.execute(update(WebhookDelivery).where(WebhookDelivery.id == delivery_id)
                    .values(**values))
    session.commit()


def _count(session: Session, endpoint_id: int, ok: bool, now: datetime) -> Disabled | None:
    """Keep the endpoint's run of failures, in one statement each (workers deliver to the
    same endpoint side by side: a read-then-write would lose counts); disable it when the
    run is too long, once, whichever worker sees it first."""
    this = WebhookEndpoint.id == endpoint_id
    if ok:
        session.execute(update(WebhookEndpoint).where(this).values(failure_count=0,
                                                                   failing_since=None))
        session.commit()
        return None
    run = session.execute(update(WebhookEndpoint).where(this).values(
        failure_count=WebhookEndpoint.failure_count + 1,
        failing_since=func.coalesce(WebhookEndpoint.failing_since, now))
        .returning(WebhookEndpoint.failure_count, WebhookEndpoint.failing_since)).one()
    reason = schedule.disable_reason(run.failure_count, run.failing_since, now)
    gone = None
    if reason is not None:
        gone = session.execute(update(WebhookEndpoint).where(
            this, WebhookEndpoint.enabled.is_(True)).values(
            enabled=False, disabled_at=now, disabled_reason=reason)
            .returning(WebhookEndpoint.url, WebhookEndpoint.owner_id)).first()
    session.commit()
    return Disabled(endpoint_id, gone.url, gone.owner_id, reason) if gone and reason else None


def replay(session: Session, delivery_id: int, now: datetime) -> int | None:
    """A new delivery of the same payload to the same place, due now (the original's log
    stays as it was). Returns its id; None when there is no such delivery."""
    row = session.get(WebhookDelivery, delivery_id)
    if row is None:
        return None
    copy = WebhookDelivery(
        delivery_key=f"replay:{row.id}:{uuid.uuid4().hex}", endpoint_id=row.endpoint_id,
        event_id=row.event_id, contact_id=row.contact_id, url=row.url, event=row.event,
        payload=row.payload,
        status="pending", created_at=now, due_at=now)
    session.add(copy)
    session.flush()
    return copy.id
