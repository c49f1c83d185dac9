"""Errors of sending that a person can act on, each a sentence; `Invalid` (422).

A template that cannot be rendered (`render.TemplateError`) and a transport that fails
(`senders.SendError`) are not refusals of a request: they keep their own classes.
"""

from __future__ import annotations

from nurture.errors import Invalid, NurtureError


class DSNError(Invalid):
    """Raised when the input is not an email message at all, or a JSON event is invalid."""


class RetryError(Invalid):
    """Raised when a retry is refused: no such send, an outcome that is known, a send
    already retried, or no operator named. The message is a sentence."""


class DkimKeyError(Invalid):
    """Raised when the DKIM key cannot be used: a file that cannot be read, one holding no
    RSA or Ed25519 private key, or a selector that is no DNS label. The message is a
    sentence."""


class PauseError(NurtureError):
    """Raised when a pause or a resume is refused: a resume or a pause without a reason, a
    source that is not paused, or text that names no source (400). The message is a
    sentence."""
