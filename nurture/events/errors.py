"""Errors of the event pipeline; each becomes a whole-sentence message for the caller."""

from __future__ import annotations

from collections.abc import Sequence

from nurture.violations import Violation


class EventError(ValueError):
    """Raised when an event cannot be recorded as given (unknown type, contact or time, or
    properties that break the type's schema); `violations` lists each field and why."""

    def __init__(self, problem: str | Sequence[Violation]):
        if isinstance(problem, str):
            self.violations: list[Violation] = []
            super().__init__(problem)
            return
        self.violations = list(problem)
        first = self.violations[0].sentence() if self.violations else "The event is not valid."
        more = len(self.violations) - 1
        super().__init__(first if not more else
                         f"{first} ({more} more problem{'s' if more > 1 else ''}: see "
                         "the list.)")
