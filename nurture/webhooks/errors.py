"""Errors of outgoing webhooks; each carries a sentence a user can read."""

from __future__ import annotations

from nurture.errors import Invalid, NotFound


class WebhookError(Exception):
    """Raised when a webhook cannot be set up or sent as asked."""


class Refused(WebhookError):
    """Raised when a target's address may not be reached (the SSRF guard)."""


class EndpointError(WebhookError, Invalid):
    """Raised when an endpoint's URL, events or description cannot be used."""


class EndpointNotFound(NotFound):
    """Raised when no endpoint has the id asked for."""

    def __init__(self) -> None:
        super().__init__("There is no such webhook endpoint.")


class DeliveryNotFound(NotFound):
    """Raised when no delivery has the id asked for."""

    def __init__(self) -> None:
        super().__init__("There is no such webhook delivery.")
