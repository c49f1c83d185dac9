"""Errors of the event pipeline; each becomes a whole-sentence message for the caller."""


class EventError(ValueError):
    """Raised when an event cannot be recorded as given (unknown type, contact or time)."""
