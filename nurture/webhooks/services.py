"""Webhook delivery: JSON signed with HMAC-SHA256, retried with exponential backoff."""

from __future__ import annotations

import hashlib
import hmac
import json
import urllib.error
import urllib.request
from datetime import datetime, timedelta

from sqlalchemy import select, update

from nurture.webhooks.models import WebhookDelivery

MAX_ATTEMPTS = 8


def signature(secret: str, body: bytes, timestamp: str) -> str:
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(30 * 2 ** (attempts - 1), 6 * 3600))


def deliver_batch(session_factory, ids: list[int], now: datetime, secret: str) -> None:
    with session_factory() as session:
        rows = session.scalars(select(WebhookDelivery).where(
            WebhookDelivery.id.in_(ids), WebhookDelivery.status == "pending")).all()
        for row in rows:
            body = json.dumps(row.payload, sort_keys=True).encode()
            stamp = str(int(now.timestamp()))
            request = urllib.request.Request(row.url, data=body, method="POST", headers={
                "Content-Type": "application/json", "X-Nurture-Timestamp": stamp,
                "X-Nurture-Signature": signature(secret, body, stamp),
                "X-Nurture-Delivery": row.delivery_key})
            attempts = row.attempts + 1
            try:
                with urllib.request.urlopen(request, timeout=10) as response:
                    ok, error = 200 <= response.status < 300, f"HTTP {response.status}"
            except (urllib.error.URLError, OSError) as exc:
                ok, error = False, str(exc)
            values: dict = {"attempts": attempts, "lease_until": None}
            if ok:
                values |= {"status": "delivered", "delivered_at": now, "due_at": None}
            elif attempts >= MAX_ATTEMPTS:
                values |= {"status": "failed", "last_error": error, "due_at": None}
            else:
                values |= {"last_error": error, "due_at": now + backoff(attempts)}
            session.execute(update(WebhookDelivery).where(WebhookDelivery.id == row.id)
                            .values(**values))
            session.commit()
