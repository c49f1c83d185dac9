"""Errors of the event pipeline; each becomes a whole-sentence message for the caller."""

from __future__ import annotations

from nurture.errors import Invalid


class EventError(Invalid):
    """Raised when an event cannot be recorded as given (unknown type, contact or time, or
    properties that break the type's schema); `violations` lists each field and why."""
