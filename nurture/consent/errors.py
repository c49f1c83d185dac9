"""Errors of consent and suppression lists, each a sentence; `Invalid` (422)."""

from __future__ import annotations

from nurture.errors import Invalid


class ListError(Invalid):
    """A suppression file or request that cannot be applied, as a sentence."""
