"""Reading journey YAML nodes: line numbers, and checked values with whole-sentence errors."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from ruamel.yaml.comments import CommentedSeq

from journeys import definition as j
from journeys.durations import DurationError, parse_duration
from journeys.expressions import ExpressionError, compile_expression
from nurture.events.catalog import is_known

STEP_KINDS = ("send", "wait", "wait_for", "branch", "split", "set", "handoff", "webhook", "exit")
TOP_KEYS = {"id", "name", "description", "stages", "vertical", "topic", "entry", "reentry",
            "exit_on", "steps"}
STEP_KEYS = {"id", "next", "variants", "to", "transactional", "timeout", "on_event",
             "on_timeout", "default", *STEP_KINDS}
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")
_LOCAL = re.compile(rf"^(?:({'|'.join(WEEKDAYS)})\s+)?([01]?\d|2[0-3]):([0-5]\d)$", re.I)
_DATE = re.compile(r"^([A-Za-z_][\w.]*)\s*(?:([+-])\s*(\S+))?$")


@dataclass(frozen=True, order=True)
class Violation:
    file: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"


def line_of(node: Any, key: Any = None, default: int = 1) -> int:
    """1-based line of a mapping key (or sequence item) in ruamel's round-trip tree."""
    try:
        if key is None:
            return node.lc.line + 1
        if isinstance(node, CommentedSeq):
            return node.lc.item(key)[0] + 1
        return node.lc.key(key)[0] + 1
    except (AttributeError, KeyError, IndexError, TypeError):
        return default


class FileReader:
    """Reads one YAML file (journeys, scoring rules, referral rules), collecting every
    problem with its line instead of stopping at the first."""

    def __init__(self, file: str):
        self.file = file
        self.violations: list[Violation] = []

    def bad(self, line: int, message: str) -> None:
        self.violations.append(Violation(self.file, line, message))

    def unknown_keys(self, node: Any, allowed: set[str], line: int, what: str) -> None:
        for key in node:
            if key not in allowed:
                self.bad(line_of(node, key, line), f"{what} has an unknown key '{key}'; "
                         f"use {', '.join(sorted(allowed))}.")

    def duration(self, value: Any, line: int, what: str) -> timedelta | None:
        try:
            return parse_duration(value)
        except DurationError as exc:
            self.bad(line, f"The {what} is not valid: {exc}")
            return None


class Reader(FileReader):
    def __init__(self, file: str, templates: set[str] | None):
        super().__init__(file)
        self.templates = templates

    def text(self, node: Any, key: str, line: int, required: bool = True) -> str | None:
        value = node.get(key) if isinstance(node, dict) else None
        if value is None:
            if required:
                self.bad(line, f"'{key}' is required.")
            return None
        if not isinstance(value, str | int | float) or isinstance(value, bool):
            self.bad(line_of(node, key, line), f"'{key}' must be a text value.")
            return None
        return str(value)

    def condition(self, value: Any, line: int) -> str | None:
        try:
            expression = compile_expression(value)
        except ExpressionError as exc:
            self.bad(line, str(exc))
            return None
        for event_type in sorted(expression.event_types):
            self.event_type(event_type, line)
        return expression.source

    def event_type(self, value: Any, line: int) -> str | None:
        if not isinstance(value, str) or not is_known(value):
            self.bad(line, f"The event type {value!r} is unknown; use a type from the "
                           "catalogue (`nurture events types`) or prefix your own with 'custom.'.")
            return None
        return value

    def template(self, value: Any, line: int) -> str | None:
        if not isinstance(value, str) or not value:
            self.bad(line, "A send step needs a template name.")
            return None
        if self.templates is not None and value not in self.templates:
            self.bad(line, f"The template {value!r} is unknown; "
                           f"add templates/email/{value}/ or fix the name.")
        return value

    def date_offset(self, value: Any, line: int, what: str) -> j.DateTrigger | None:
        match = _DATE.match(value.strip()) if isinstance(value, str) else None
        if not match:
            self.bad(line, f"The {what} {value!r} is not valid; write a contact date "
                           "attribute with an optional offset, like 'trial.ends_at - 5d'.")
            return None
        attribute, sign, amount = match.groups()
        offset = timedelta()
        if sign:
            parsed = self.duration(amount, line, f"offset of the {what}")
            if parsed is None:
                return None
            offset = parsed if sign == "+" else -parsed
        return j.DateTrigger(attribute.removeprefix("attributes."), offset)
