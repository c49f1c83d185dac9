"""Standard Webhooks signatures (https://www.standardwebhooks.com): the headers a receiver
checks, HMAC-SHA256 over "{id}.{timestamp}.{body}" with a `whsec_<base64>` secret. Pure."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Iterable
from datetime import datetime

PREFIX = "whsec_"


def new_secret() -> str:
    """A fresh endpoint secret: 24 random bytes, as the spec's receivers expect them."""
    return PREFIX + base64.b64encode(secrets.token_bytes(24)).decode()


def derived_secret(secret_key: str) -> str:
    """The secret of deliveries with no endpoint (CRM hand-off, journey steps): derived
    from the installation's key, so that it is stable and never the key itself."""
    key = hmac.new(secret_key.encode(), b"nurture-webhooks", hashlib.sha256).digest()
    return PREFIX + base64.b64encode(key).decode()


def sign(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """One `v1,<base64>` signature of the message under `secret`."""
    key = base64.b64decode(secret.removeprefix(PREFIX))
    signed = f"{message_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def headers(secrets_: Iterable[str], message_id: str, now: datetime, body: bytes
            ) -> dict[str, str]:
    """The request's headers: one signature per live secret, space-separated, so that a
    receiver holding either the old or the new secret accepts it during a rotation."""
    stamp = int(now.timestamp())
    return {"Content-Type": "application/json", "webhook-id": message_id,
            "webhook-timestamp": str(stamp),
            "webhook-signature": " ".join(sign(s, message_id, stamp, body) for s in secrets_)}
