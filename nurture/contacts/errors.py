"""Errors about contacts, each a sentence for whoever sent the data; `Invalid` (422)."""

from __future__ import annotations

from nurture.errors import Invalid, NotFound


class ContactError(Invalid):
    """Raised when contact data is not acceptable (bad email, unknown stage...)."""


class ListNotFound(NotFound):
    """Raised when no list has the id asked for."""
