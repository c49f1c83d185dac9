"""Errors about segments, each a sentence for the marketer who wrote the segment."""

from __future__ import annotations

from nurture.errors import Invalid, NotFound


class SegmentInvalid(Invalid):
    """Raised when a segment's name or condition cannot be saved or counted. `line` and
    `column` (from 1) point into the condition when the problem has a place there."""

    def __init__(self, problem: str, line: int | None = None, column: int | None = None):
        super().__init__(problem)
        self.line, self.column = line, column


class SegmentNotFound(NotFound):
    """Raised when no segment has the id or name asked for."""
