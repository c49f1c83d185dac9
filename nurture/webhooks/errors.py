"""Errors of outgoing webhooks; each carries a sentence a user can read."""

from __future__ import annotations


class WebhookError(Exception):
    """Raised when a webhook cannot be set up or sent as asked."""


class Refused(WebhookError):
    """Raised when a target's address may not be reached (the SSRF guard)."""


class EndpointError(WebhookError):
    """Raised when an endpoint's URL, events or description cannot be used."""
