"""DKIM signatures (RFC 6376, and RFC 8463 for Ed25519) of built messages.

A message is signed once, after its MIME is built, with relaxed/relaxed canonicalization
and a SHA-256 body hash; the signature itself goes through OpenSSL (`cryptography`):
dkimpy's own RSA is pure Python and costs about twenty times as much per message. The
key is loaded once per process, with the settings (`load_key`), never per message.
"""

from __future__ import annotations

import base64
import hashlib
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa

from nurture.sending.errors import DkimKeyError

# The headers a verifier expects to be covered, signed when the message has them. From is
# named twice ("oversigned"): a second From added on the way breaks the signature.
SIGNED = ("From", "To", "Subject", "Date", "Message-ID", "MIME-Version", "Content-Type",
          "List-Unsubscribe", "List-Unsubscribe-Post", "List-Id", "Reply-To", "Feedback-ID")
SELECTOR = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
                      r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*$")
_WSP = re.compile(rb"[ \t]+")
_TRAILING = re.compile(rb"[ \t]+\r\n")
_HEADER = re.compile(rb"^([^:\s]+)[ \t]*:(.*?)\r\n(?![ \t])", re.S | re.M)

PrivateKey = rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey


@dataclass(frozen=True)
class DkimKey:
    """A selector and its private key: RSA (rsa-sha256) or Ed25519 (ed25519-sha256)."""

    selector: str
    key: PrivateKey

    @property
    def algorithm(self) -> str:
        return "ed25519-sha256" if isinstance(self.key, ed25519.Ed25519PrivateKey) \
            else "rsa-sha256"

    def record(self) -> str:
        """The TXT record's value to publish at SELECTOR._domainkey.DOMAIN."""
        return txt_record(self.key)


def load_key(selector: str, path: Path) -> DkimKey:
    """The key in the PEM file at `path`; raises DkimKeyError (a sentence) when the file
    cannot be read or holds no RSA or Ed25519 private key."""
    if not SELECTOR.match(selector):
        raise DkimKeyError(f"A DKIM selector is letters, digits, dashes and dots, "
                           f"not {selector!r}.")
    try:
        pem = path.read_bytes()
    except OSError as exc:
        raise DkimKeyError(f"{path} cannot be read: {exc.strerror or exc}.") from None
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError):
        raise DkimKeyError(f"{path} holds no unencrypted private key in PEM form.") from None
    if not isinstance(key, rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey):
        raise DkimKeyError(f"{path} holds a private key of another kind "
                           f"({type(key).__name__}): DKIM signs with an RSA or an Ed25519 "
                           f"key.")
    if isinstance(key, rsa.RSAPrivateKey) and key.key_size < 1024:
        raise DkimKeyError(f"{path} holds a {key.key_size}-bit RSA key: verifiers refuse "
                           f"keys under 1024 bits (use 2048).")
    return DkimKey(selector, key)


def generate(ed25519_key: bool = False) -> PrivateKey:
    """A new private key: RSA-2048, which every verifier knows, or Ed25519."""
    if ed25519_key:
        return ed25519.Ed25519PrivateKey.generate()
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def pem(key: PrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def txt_record(key: PrivateKey) -> str:
    """`v=DKIM1; k=...; p=...` for the public half of `key`."""
    public = key.public_key()
    if isinstance(public, ed25519.Ed25519PublicKey):
        raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        return f"v=DKIM1; k=ed25519; p={base64.b64encode(raw).decode()}"
    der = public.public_bytes(serialization.Encoding.DER,
                              serialization.PublicFormat.SubjectPublicKeyInfo)
    return f"v=DKIM1; k=rsa; p={base64.b64encode(der).decode()}"


def relaxed_body(body: bytes) -> bytes:
    """The body canonicalized "relaxed" (RFC 6376 3.4.4)."""
    if _has_whitespace_to_change(body):
        body = _TRAILING.sub(b"\r\n", _WSP.sub(b" ", body))
    end = len(body)
    while end >= 2 and body.startswith(b"\r\n", end - 2):
        end -= 2
    return body[:end] + b"\r\n" if end else b""


def _has_whitespace_to_change(body: bytes, few: int = 64) -> bool:
    """Whether the body has a tab, or a space before a space or a line end. Built messages
    are base64 lines with a handful of spaces in their part headers: finding those few
    costs a fifth of scanning 20 kB for a two-byte pattern, and the substitutions, a
    tenth of the RSA signature, then run on no message at all."""
    if b"\t" in body or body.count(b" ") > few:
        return True
    at = body.find(b" ")
    while at != -1:
        if body[at + 1:at + 2] in (b" ", b"\r", b""):
            return True
        at = body.find(b" ", at + 1)
    return False


def relaxed_header(name: bytes, value: bytes) -> bytes:
    """One header canonicalized "relaxed" (RFC 6376 3.4.2), without its CRLF."""
    value = _WSP.sub(b" ", value.replace(b"\r\n", b"")).strip(b" ")
    return name.strip().lower() + b":" + value


def sign(message: bytes, key: DkimKey, domain: str, *, now: int | None = None) -> bytes:
    """`message` (CRLF line ends, as built) with a DKIM-Signature header first."""
    head, sep, body = message.partition(b"\r\n\r\n")
    headers = [(m.group(1), m.group(2)) for m in _HEADER.finditer(head + b"\r\n")]
    body_hash = base64.b64encode(hashlib.sha256(relaxed_body(body if sep else b"")).digest())
    # Each name covers its last occurrence not covered yet (RFC 6376 5.4.2).
    remaining: dict[bytes, list[bytes]] = {}
    for name, value in headers:
        remaining.setdefault(name.lower(), []).append(value)
    names, covered = [], []
    for wanted in SIGNED:
        found = remaining.get(wanted.lower().encode())
        if found:
            names.append(wanted)
            covered.append(relaxed_header(wanted.encode(), found.pop()))
    names.append("From")  # oversigned: names an instance that does not exist
    stamp = int(time.time()) if now is None else now
    field = (f"v=1; a={key.algorithm}; c=relaxed/relaxed; d={domain}; s={key.selector};\r\n"
             f" t={stamp}; h={':'.join(names)};\r\n bh={body_hash.decode()};\r\n b=")
    signed = b"".join(h + b"\r\n" for h in covered) + relaxed_header(
        b"DKIM-Signature", field.encode())
    if isinstance(key.key, ed25519.Ed25519PrivateKey):
        signature = key.key.sign(hashlib.sha256(signed).digest())
    else:
        signature = key.key.sign(signed, padding.PKCS1v15(), hashes.SHA256())
    return (b"DKIM-Signature: " + field.encode() + base64.b64encode(signature) + b"\r\n"
            + message)


def sign_all(message: bytes, keys: Sequence[DkimKey], domain: str, *,
             now: int | None = None) -> bytes:
    """`message` signed with each key in turn: RSA, and Ed25519 beside it when both are
    configured (RFC 8463 6: a verifier that knows only RSA ignores the Ed25519 signature,
    one that knows both needs only one to pass). No key: the message as it is."""
    for key in keys:
        message = sign(message, key, domain, now=now)
    return message
