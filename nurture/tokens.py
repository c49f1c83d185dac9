"""Signed tokens for links in emails and pages: one salt per purpose, each with a max age.

A token only says what it was signed for; the views still look up the rows it names, so a
valid token for a deleted contact or send leads nowhere.
"""

from __future__ import annotations

from typing import Any

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

DAY = 86400
MAX_AGE = {
    "unsubscribe": 400 * DAY,  # RFC 8058 one-click must work long after the send
    "preferences": 400 * DAY,
    "confirm": 14 * DAY,  # double opt-in confirmation
    "track": 400 * DAY,  # open pixel and click redirects of one send
    "nps": 90 * DAY,
}


class TokenError(ValueError):
    """A token that is malformed, tampered with, expired, or signed for another purpose."""


class Tokens:
    def __init__(self, secret_key: str):
        self._serializers = {
            purpose: URLSafeTimedSerializer(secret_key, salt=f"nurture.{purpose}")
            for purpose in MAX_AGE
        }

    def sign(self, purpose: str, value: Any) -> str:
        return self._serializers[purpose].dumps(value)

    def load(self, purpose: str, token: str) -> Any:
        try:
            return self._serializers[purpose].loads(token, max_age=MAX_AGE[purpose])
        except SignatureExpired:
            raise TokenError("This link has expired.") from None
        except BadSignature:
            raise TokenError("This link is not valid.") from None
