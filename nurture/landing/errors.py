"""Errors of landing pages, each a sentence naming the file; `Invalid` (422)."""

from __future__ import annotations

from nurture.errors import Invalid


class LandingPageError(Invalid):
    """Raised when a landing page file cannot be used; the message names the file."""
