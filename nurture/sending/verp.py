"""VERP return paths: each message's envelope sender is `bounces+TOKEN@DOMAIN`, the token
naming its send, so that a bounce is matched to its send even when the bounce itself says
nothing usable (no original headers, no recipient).

The token is the send id in hex, a dash, and a 48-bit MAC of it (HMAC-SHA256 keyed by the
SECRET_KEY with the salt "verp"), in lower case: mail servers may fold a local part's case,
and it must stay a short dot-atom (at most 64 characters). It has no age: a bounce can come
days later, and the send it names is pruned with its links anyway (`retention.py`).
"""

from __future__ import annotations

import hashlib
import hmac
import re

LOCAL = "bounces"
_TOKEN = re.compile(r"^bounces\+([0-9a-f]{1,16})-([0-9a-f]{12})@(.+)$")


class Verp:
    """Makes and reads the return paths of one installation."""

    def __init__(self, secret_key: str):
        self._key = hmac.new(secret_key.encode(), b"nurture.verp", hashlib.sha256).digest()

    def _mac(self, send_id: int) -> str:
        return hmac.new(self._key, str(send_id).encode(), hashlib.sha256).hexdigest()[:12]

    def address(self, send_id: int, domain: str) -> str:
        """The return path of this send's message."""
        return f"{LOCAL}+{send_id:x}-{self._mac(send_id)}@{domain}"

    def send_id(self, address: str, domain: str) -> int | None:
        """The send a return path names, when it is one of ours with a good MAC."""
        found = _TOKEN.match(address.strip().strip("<>").lower())
        if found is None or found[3] != domain.lower():
            return None
        send_id = int(found[1], 16)
        return send_id if hmac.compare_digest(found[2], self._mac(send_id)) else None
