"""A small, safe condition language for journeys: Python-like syntax, never `eval`.

    score >= 50 and industry in ['retail', 'healthcare']
    nps.category == 'detractor' or count('email.clicked', '14d') >= 2
    attributes.trial.seats > 5 and not has('trial.seat_activated')

The source is parsed with `ast` and only a whitelist of node types is accepted; evaluation
walks that tree over plain facts. Missing values are `None`, and comparing `None` is false
rather than an error, so a contact with a gap in its data never stops a batch.

Segments (nurture.audiences) use the same language over every contact, compiled to SQL;
they add what a marketer filters on beyond the contact row:

    grade in ['A', 'B'] and owner == 'rita@example.com' and in_list('VIP')
    opened('30d') >= 2 and not clicked('90d')     # people's opens, not image proxies
    trial.status == 'active' or referral.status == 'converted'
"""

from __future__ import annotations

import ast
import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from journeys.durations import DurationError, parse_duration
from journeys.facts import Facts, attribute_path
from nurture.contacts.language import primary
from nurture.moments import as_datetime

NAMES = {
    "stage", "score", "email", "first_name", "last_name", "company", "role", "industry",
    "vertical", "company_size", "country", "timezone", "language", "attributes", "nps", "event",
    "properties", "grade", "owner", "trial", "referral",
}
# Functions over the contact's event history; the first argument is an event type.
FUNCTIONS = {"count", "has", "days_since"}
# People's email engagement: how many opens or clicks (machines left out) in a period.
ENGAGEMENT = {"opened": "email.opened", "clicked": "email.clicked"}
HELPERS = {"days_until", "lower", "in_list", *ENGAGEMENT}

_COMPARE: dict[type, Callable[[Any, Any], bool]] = {
    ast.Eq: operator.eq, ast.NotEq: operator.ne, ast.Lt: operator.lt, ast.LtE: operator.le,
    ast.Gt: operator.gt, ast.GtE: operator.ge,
    ast.In: lambda a, b: b is not None and a in b,
    ast.NotIn: lambda a, b: b is None or a not in b,
}
_ARITH: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
    ast.Div: operator.truediv,
}


class ExpressionError(ValueError):
    """Raised when a condition is not valid in the journey condition language. `line` and
    `column` (from 1) say where in the source, when a place is known."""

    def __init__(self, message: str, line_offset: int = 0, line: int | None = None,
                 column: int | None = None):
        super().__init__(message)
        self.line_offset = line_offset
        self.line, self.column = line, column


@dataclass(frozen=True)
class Expression:
    source: str
    tree: ast.Expression
    event_types: frozenset[str]
    names: frozenset[str] = frozenset()

    def evaluate(self, facts: Facts, now: datetime,
                 event: Mapping[str, Any] | None = None) -> bool:
        return bool(_Evaluator(facts, now, event).eval(self.tree.body))


def compile_expression(source: object) -> Expression:
    """Parse and check a condition; raises ExpressionError with a whole-sentence message."""
    if isinstance(source, bool):
        source = "True" if source else "False"
    if not isinstance(source, str) or not source.strip():
        raise ExpressionError("A condition must be a non-empty text such as \"score >= 50\".")
    text = source.strip()
    skipped = len(source) - len(source.lstrip())
    # A condition may run over several lines (the segment builder's text box): read as one
    # line of the same length, so that every offset still points into the source.
    flat = "".join(" " if c in "\r\n" else c for c in text)
    try:
        tree = ast.parse(flat, mode="eval")
    except SyntaxError as exc:
        # Python gives no offset when the text stops short ("score >="): point at its end.
        at, why = ((exc.offset - 1, exc.msg) if exc.offset
                   else (len(text), "it ends before it is complete"))
        line, column = place(source, skipped + at)
        raise ExpressionError(
            f"The condition {text!r} is not valid: {why} at line {line}, column {column}.",
            line=line, column=column) from None
    event_types: set[str] = set()
    for node in ast.walk(tree):
        try:
            _check_node(node, text, event_types)
        except ExpressionError as exc:
            if exc.line is None and hasattr(node, "col_offset"):
                at = len(flat.encode()[:node.col_offset].decode(errors="ignore"))
                exc.line, exc.column = place(source, skipped + at)
            raise
    names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
    return Expression(text, tree, frozenset(event_types), frozenset(names))


def place(source: str, offset: int) -> tuple[int, int]:
    """The line and column (both from 1) of a character offset into `source`."""
    before = source[:max(0, offset)]
    return before.count("\n") + 1, offset - (before.rfind("\n") + 1) + 1


_ALLOWED = (
    ast.Expression, ast.BoolOp, ast.And, ast.Or, ast.UnaryOp, ast.Not, ast.USub, ast.Compare,
    ast.Name, ast.Load, ast.Attribute, ast.Constant, ast.List, ast.Tuple, ast.Call,
    ast.BinOp, ast.keyword, *_COMPARE, *_ARITH,
)


def _check_node(node: ast.AST, source: str, event_types: set[str]) -> None:
    if not isinstance(node, _ALLOWED):
        raise ExpressionError(
            f"The condition {source!r} uses {type(node).__name__}, which conditions do not allow."
        )
    if isinstance(node, ast.Name) and node.id not in NAMES | FUNCTIONS | HELPERS:
        raise ExpressionError(
            f"The condition {source!r} names {node.id!r}, which is not a known field; "
            f"use one of {', '.join(sorted(NAMES))}."
        )
    if isinstance(node, ast.Attribute) and node.attr.startswith("_"):
        raise ExpressionError(f"The condition {source!r} reaches for a private name.")
    if isinstance(node, ast.Call):
        if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS | HELPERS:
            raise ExpressionError(
                f"The condition {source!r} calls something other than "
                f"{', '.join(sorted(FUNCTIONS | HELPERS))}."
            )
        if node.func.id in FUNCTIONS:
            _check_history_call(node, source, event_types)
        elif node.func.id in ENGAGEMENT:
            _check_engagement_call(node, source, event_types)
        elif node.func.id == "in_list":
            args = list(node.args) + [k.value for k in node.keywords]
            if len(args) != 1 or not isinstance(args[0], ast.Constant) \
                    or not isinstance(args[0].value, str):
                raise ExpressionError(
                    f"In {source!r}, in_list() takes one list name in quotes, "
                    "like in_list('VIP').")


def _check_history_call(node: ast.Call, source: str, event_types: set[str]) -> None:
    name = node.func.id  # type: ignore[attr-defined]
    args = list(node.args) + [k.value for k in node.keywords]
    if not args or not isinstance(args[0], ast.Constant) or not isinstance(args[0].value, str):
        raise ExpressionError(
            f"In {source!r}, {name}() needs an event type in quotes as its first argument."
        )
    event_types.add(args[0].value)
    if len(args) > 2:
        raise ExpressionError(f"In {source!r}, {name}() takes an event type and a period.")
    if len(args) == 2:
        period = args[1]
        if not isinstance(period, ast.Constant):
            raise ExpressionError(f"In {source!r}, the period of {name}() must be like '14d'.")
        try:
            parse_duration(period.value)
        except DurationError as exc:
            raise ExpressionError(f"In {source!r}: {exc}") from None


def _check_engagement_call(node: ast.Call, source: str, event_types: set[str]) -> None:
    name = node.func.id  # type: ignore[attr-defined]
    args = list(node.args) + [k.value for k in node.keywords]
    if len(args) > 1:
        raise ExpressionError(f"In {source!r}, {name}() takes at most a period, like '30d'.")
    if args:
        period = args[0]
        if not isinstance(period, ast.Constant):
            raise ExpressionError(f"In {source!r}, the period of {name}() must be like '30d'.")
        try:
            parse_duration(period.value)
        except DurationError as exc:
            raise ExpressionError(f"In {source!r}: {exc}") from None
    event_types.add(ENGAGEMENT[name])


class _Evaluator:
    def __init__(self, facts: Facts, now: datetime, event: Mapping[str, Any] | None):
        self.facts, self.now, self.event = facts, now, event

    def eval(self, node: ast.AST) -> Any:
        match node:
            case ast.Constant(value=value):
                return value
            case ast.BoolOp(op=ast.And(), values=values):
                return all(self.eval(v) for v in values)
            case ast.BoolOp(op=ast.Or(), values=values):
                return any(self.eval(v) for v in values)
            case ast.UnaryOp(op=ast.Not(), operand=operand):
                return not self.eval(operand)
            case ast.UnaryOp(op=ast.USub(), operand=operand):
                value = self.eval(operand)
                return -value if isinstance(value, int | float) else None
            case ast.Compare():
                return self._compare(node)
            case ast.BinOp(op=op, left=left, right=right):
                a, b = self.eval(left), self.eval(right)
                try:
                    return _ARITH[type(op)](a, b)
                except (TypeError, ZeroDivisionError):
                    return None
            case ast.List(elts=elts) | ast.Tuple(elts=elts):
                return [self.eval(e) for e in elts]
            case ast.Name(id=name):
                return self._name(name)
            case ast.Attribute(value=value, attr=attr):
                base = self.eval(value)
                return base.get(attr) if isinstance(base, Mapping) else None
            case ast.Call(func=ast.Name(id=name), args=args, keywords=keywords):
                values = [self.eval(a) for a in args] + [self.eval(k.value) for k in keywords]
                return self._call(name, values)
        raise ExpressionError(f"Unsupported expression node {type(node).__name__}.")

    def _compare(self, node: ast.Compare) -> bool:
        left = self.eval(node.left)
        for op, comparator in zip(node.ops, node.comparators, strict=True):
            right = self.eval(comparator)
            if type(op) not in (ast.In, ast.NotIn, ast.Eq, ast.NotEq) and (
                left is None or right is None
            ):
                return False
            try:
                if not _COMPARE[type(op)](left, right):
                    return False
            except TypeError:
                return False
            left = right
        return True

    def _name(self, name: str) -> Any:
        contact = self.facts.contact
        if name == "vertical":
            return contact.industry or None
        if name == "language":  # the language alone: `language == 'fr'` holds for fr-CH
            return primary(contact.language) or None
        if name == "attributes":
            return contact.attributes
        if name == "nps":
            return self.facts.nps
        if name == "event":
            return self.event
        if name == "properties":
            return (self.event or {}).get("properties", {})
        if name in ("grade", "owner", "trial", "referral"):
            return getattr(self.facts, name)
        value = getattr(contact, name, None)
        return None if value == "" else value

    def _call(self, name: str, args: list[Any]) -> Any:
        if name == "lower":
            return args[0].lower() if args and isinstance(args[0], str) else None
        if name == "days_until":
            target = attribute_path(self.facts.contact.attributes, str(args[0]))
            target = as_datetime(target)
            return None if target is None else (target - self.now).total_seconds() / 86400
        if name == "in_list":
            return args[0] in self.facts.lists
        if name in ENGAGEMENT:
            since = self.now - parse_duration(args[0]) if args else None
            return sum(1 for e in self.facts.human_events_of(ENGAGEMENT[name])
                       if e.occurred_at <= self.now and (since is None or e.occurred_at >= since))
        since = self.now - parse_duration(args[1]) if len(args) > 1 else None
        matches = [
            e for e in self.facts.events_of(args[0])
            if e.occurred_at <= self.now and (since is None or e.occurred_at >= since)
        ]
        if name == "count":
            return len(matches)
        if name == "has":
            return bool(matches)
        if not matches:  # days_since
            return None
        return (self.now - matches[-1].occurred_at).total_seconds() / 86400
