"""The refusals of broadcasts, each a sentence for the marketer."""

from __future__ import annotations

from nurture.errors import Conflict, Invalid, NotFound


class BroadcastInvalid(Invalid):
    """Raised when a broadcast's form breaks a rule (its `violations` say which)."""


class BroadcastNotFound(NotFound):
    """Raised when no broadcast has the id asked for."""


class BroadcastConflict(Conflict):
    """Raised when the broadcast's state forbids the action (cancelled, no test running)."""
