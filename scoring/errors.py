"""Errors of the scoring package, each a whole sentence meant for the person who asked."""

from __future__ import annotations


class CLVError(ValueError):
    """Raised when transactions cannot be read, or a lifetime-value model cannot be fitted to
    them."""


class HandoffError(ValueError):
    """Raised when a hand-off cannot make the asked transition (wrong state, not yours, no
    reason given)."""


class HandoffNotFound(HandoffError):
    """Raised when there is no hand-off with the id, or none the user may see: the two are
    the same answer, so that an id does not tell a rep whether another rep's lead exists."""


class ScoringPaused(RuntimeError):
    """Raised when the scoring rules file is invalid, so nothing can be scored."""
