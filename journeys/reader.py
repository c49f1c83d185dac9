"""Reading journey YAML nodes: checked values with whole-sentence errors, at their lines."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from journeys import definition as j
from journeys.durations import parse_duration
from journeys.expressions import ExpressionError, compile_expression
from nurture.events.catalog import is_known
from nurture.yamlfile import YamlReader, line_of

# Names the journey engine's facts do not load (nurture.audiences reads them).
SEGMENT_ONLY = frozenset({"grade", "owner", "trial", "referral"})
STEP_KINDS = ("send", "wait", "wait_for", "branch", "split", "set", "handoff", "webhook", "exit")
TOP_KEYS = {"id", "name", "description", "stages", "vertical", "topic", "entry", "reentry",
            "exit_on", "steps", "owner"}
STEP_KEYS = {"id", "next", "variants", "to", "class", "transactional", "timeout", "on_event",
             "on_timeout", "default", "metric", *STEP_KINDS}
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_LOCAL = re.compile(rf"^(?:({'|'.join(WEEKDAYS)})\s+)?([01]?\d|2[0-3]):([0-5]\d)$", re.I)
_DATE = re.compile(r"^([A-Za-z_][\w.]*)\s*(?:([+-])\s*(\S+))?$")


class Reader(YamlReader):
    """Reads one journey file: the checks a journey's values need, on top of the YAML."""

    def __init__(self, file: str, templates: set[str] | None):
        super().__init__(file)
        self.templates = templates

    def duration(self, value: Any, line: int, what: str) -> timedelta | None:
        return self.checked(parse_duration, value, line, what)

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
        segment_only = sorted(expression.names & SEGMENT_ONLY)
        if segment_only or "in_list" in expression.names:
            # The engine's facts do not hold these yet: refused rather than read as None.
            named = ", ".join([*segment_only, *["in_list()"] * ("in_list" in expression.names)])
            self.bad(line, f"The condition {expression.source!r} uses {named}, which only "
                           "segments read for now; save a segment and start the journey "
                           "with entry: {segment: NAME}.")
            return None
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
