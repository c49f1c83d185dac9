"""Signed tokens for links in emails and pages: one salt per purpose, each with a max age.

A token only says what it was signed for; the views still look up the rows it names, so a
valid token for a deleted contact or send leads nowhere.

Each purpose signs with its own key, derived once from SECRET_KEY and the purpose's salt;
itsdangerous' TimestampSigner adds the time that max age is checked against. Signing is a
few microseconds: a marketing email carries several tokens, and a send batch has hundreds.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

from itsdangerous import BadSignature, SignatureExpired, TimestampSigner
from itsdangerous.encoding import int_to_bytes
from itsdangerous.signer import HMACAlgorithm

from nurture.errors import NurtureError

DAY = 86400
MAX_AGE = {
    # Managing one's subscription (the unsubscribe link, the RFC 8058 one-click POST and the
    # preference center, which can unsubscribe too): valid long after the send.
    "subscription": 400 * DAY,
    "confirm": 14 * DAY,  # double opt-in confirmation
    "track": 400 * DAY,  # open pixel and click redirects of one send
    "nps": 90 * DAY,
    "trial": 60 * DAY,  # conversion link: from the ending notice to the end of retention
    "signup": 7 * DAY,  # confirming what the public sign-up form asked for a known address
    "bulk": DAY // 24,  # a bulk action confirmed within the hour it was shown
    # Who visits the customer's site: added to email clicks, kept a year in a cookie there.
    "visitor": 400 * DAY,
    # Where the API's next page of a list starts: long enough to walk a large list slowly.
    "cursor": 7 * DAY,
}


_JSON = json.JSONEncoder(separators=(",", ":")).encode  # built once: dumps() builds one per call


def _b64(data: bytes) -> bytes:
    return base64.urlsafe_b64encode(data).rstrip(b"=")


class TokenError(NurtureError, ValueError):
    """A token that is malformed, tampered with, expired, or signed for another purpose.

    A link that cannot be used is a request that is bad as sent (400), neither a missing
    thing nor an invalid form: the page says so and points to a newer email."""

    title = "This link cannot be used"


class _KeyedHMAC(HMACAlgorithm):
    """HMAC-SHA1 with the key schedule done once: each signature copies a keyed state."""

    def __init__(self, key: bytes):
        super().__init__(hashlib.sha1)
        self._keyed = hmac.new(key, digestmod=hashlib.sha1)

    def get_signature(self, key: bytes, value: bytes) -> bytes:
        mac = self._keyed.copy()
        mac.update(value)
        return mac.digest()


class Tokens:
    def __init__(self, secret_key: str):
        self._stamp: tuple[int, bytes] = (-1, b"")
        self._signers = {}
        for purpose in MAX_AGE:
            key = hmac.new(secret_key.encode(), f"nurture.{purpose}".encode(),
                           hashlib.sha256).digest()
            self._signers[purpose] = TimestampSigner(key, key_derivation="none",
                                                     algorithm=_KeyedHMAC(key))

    def sign(self, purpose: str, value: Any) -> str:
        """`TimestampSigner.sign`, spelled out: the same token for a fraction of the calls.
        (An int's JSON is its str; the encoded time is kept for the second it stands for.)"""
        signer = self._signers[purpose]
        payload = str(value) if type(value) is int else _JSON(value)
        now = signer.get_timestamp()
        stamp = self._stamp
        if stamp[0] != now:
            stamp = self._stamp = (now, _b64(int_to_bytes(now)))
        signed = _b64(payload.encode()) + b"." + stamp[1]
        return (signed + b"." + _b64(signer.algorithm.get_signature(b"", signed))).decode()

    def load(self, purpose: str, token: str) -> Any:
        try:
            payload = self._signers[purpose].unsign(token, max_age=MAX_AGE[purpose])
            return json.loads(base64.urlsafe_b64decode(payload + b"=" * (-len(payload) % 4)))
        except SignatureExpired:
            raise TokenError("This link has expired.") from None
        except (BadSignature, ValueError):
            raise TokenError("This link is not valid.") from None
