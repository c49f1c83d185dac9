"""What can stop an import as a whole (a bad row never does: it is rejected and reported)."""

from __future__ import annotations

from nurture.errors import Invalid, NotFound


class ImportFileError(Invalid):
    """Raised when a file cannot be read as a CSV file of contacts: empty, UTF-16, no
    header, no email column, too large."""


class MappingError(Invalid):
    """Raised when a mapping of columns to fields or the import's options cannot be used:
    no email column, an unknown field or column, a field given twice, a bad name."""


class ImportNotFound(NotFound):
    """Raised when there is no import job or saved mapping by that id or name."""
