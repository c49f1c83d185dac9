"""Violations: where a value is wrong and why, as a sentence, for every way data comes in.

Declared schemas (pydantic models) say what a body, a query or an event's properties may
be; `from_pydantic` turns what they refuse into violations that a page, a problem document
or a command shows as they are: every violation, each with its field's path. The input
itself is never repeated back (it may be huge, or not printable).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from pydantic import ValidationError
from pydantic_core import ErrorDetails

# The sentence for a kind of pydantic error, where its own message is not one a person
# would write; `{...}` takes the error's context.
SENTENCES = {
    "missing": "This field is required.",
    "extra_forbidden": "This field is not known here; remove it.",
    "string_type": "This must be text.",
    "int_type": "This must be a whole number.",
    "int_parsing": "This must be a whole number.",
    "int_from_float": "This must be a whole number.",
    "float_type": "This must be a number.",
    "float_parsing": "This must be a number.",
    "finite_number": "This must be a finite number.",
    "bool_type": "This must be true or false.",
    "bool_parsing": "This must be true or false.",
    "dict_type": "This must be a JSON object.",
    "model_type": "This must be a JSON object.",
    "list_type": "This must be a list.",
    "string_too_long": "This is longer than {max_length} characters.",
    "string_too_short": "This must have at least {min_length} characters.",
    "too_long": "This has more than {max_length} items.",
    "greater_than_equal": "This must be at least {ge}.",
    "less_than_equal": "This must be at most {le}.",
    "greater_than": "This must be greater than {gt}.",
    "less_than": "This must be less than {lt}.",
    "literal_error": "This must be one of {expected}.",
    "enum": "This must be one of {expected}.",
    "timezone_aware": "This date and time needs a time zone offset, e.g. 2026-03-02T10:00Z.",
    "datetime_type": "This must be an ISO 8601 date and time, e.g. 2026-03-02T10:00Z.",
    "datetime_parsing": "This must be an ISO 8601 date and time, e.g. 2026-03-02T10:00Z.",
    "datetime_from_date_parsing": "This must be an ISO 8601 date and time, e.g. "
                                  "2026-03-02T10:00Z.",
    "date_parsing": "This must be a date written as YYYY-MM-DD, like 2026-12-31.",
    "date_from_datetime_parsing": "This must be a date written as YYYY-MM-DD, like "
                                  "2026-12-31.",
    "string_pattern_mismatch": "This is not in the expected form.",
}
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)  # nothing we record happened before


@dataclass(frozen=True)
class Violation:
    """One field that is not acceptable: its path (`properties.company_size`) and why."""

    field: str
    message: str

    def sentence(self) -> str:
        return f"{self.field}: {self.message}" if self.field else self.message


def from_pydantic(exc: ValidationError, prefix: str = "") -> list[Violation]:
    """Every error of a failed validation, with its path under `prefix`."""
    found = []
    for error in exc.errors(include_url=False, include_input=False):
        field = prefix
        for part in error["loc"]:
            if isinstance(part, int):  # an item of a list: `events[3].type`
                field += f"[{part}]"
            elif not part.startswith(("function-", "constrained")):
                field = f"{field}.{part}" if field else part
        found.append(Violation(field, _sentence(error)))
    return found


def _sentence(error: ErrorDetails) -> str:
    template = SENTENCES.get(error["type"])
    context = error.get("ctx") or {}
    if template is not None:
        try:
            return template.format(**context)
        except (KeyError, IndexError):
            pass
    message = str(context.get("error") or error.get("msg") or "This is not valid")
    message = message.removeprefix("Value error, ")
    message = message[:1].upper() + message[1:]
    return message if message.endswith((".", "?", "!")) else message + "."


def moment_problem(moment: datetime, now: datetime, future: timedelta) -> str | None:
    """Why an event's time is not believable, as a sentence: no zone, before 1970, or later
    than `future` from now (which also keeps year 1 and 9999 from overflowing)."""
    if moment.tzinfo is None:
        return "This date and time needs a time zone offset, e.g. 2026-03-02T10:00Z."
    try:
        utc = moment.astimezone(UTC)
    except OverflowError:
        return "This date and time is out of range; give the real time of the event."
    if utc < EARLIEST:
        return "This date and time is before 1970; give the real time of the event."
    if utc > now + future:
        return f"This date and time is in the future ({utc.isoformat()})."
    return None
