"""A segment's condition as one SQL WHERE clause over `contacts`, with Python's answers.

The condition language (journeys.expressions) evaluates in Python over a contact's facts;
a segment asks the same question of every contact at once, so the same parsed tree is
compiled here to SQL: events, lists, scores, trials, referrals and NPS through correlated
subqueries, no loop over contacts. The answers must be the evaluator's, missing values
included: Python compares a missing value as false and `not` flips that, while SQL's NULL
would make both false. So every condition compiles to a predicate that is never NULL
(`coalesce(..., false)`), and `not` is then SQL's plain NOT. What cannot be given the same
meaning in SQL is refused with a sentence (`NotInSegments`), never run differently.
"""

from __future__ import annotations

import ast
import operator
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    Float,
    and_,
    case,
    cast,
    false,
    func,
    literal,
    not_,
    null,
    or_,
    select,
    true,
)

from journeys.durations import parse_duration
from journeys.expressions import ENGAGEMENT, Expression, ExpressionError, place
from nurture.audiences import facts_sql
from nurture.audiences.jsonsql import JsonRef, Predicate, json_at
from nurture.contacts.models import Contact
from nurture.events.models import Event

NUM, STR, JSON, NONE, LIST = "number", "text", "json", "none", "list"
_NO = object()
_ORDER: dict[type, Callable[[Any, Any], Any]] = {
    ast.Lt: operator.lt, ast.LtE: operator.le, ast.Gt: operator.gt, ast.GtE: operator.ge}
_FLIP = {ast.Lt: ast.Gt, ast.LtE: ast.GtE, ast.Gt: ast.Lt, ast.GtE: ast.LtE,
         ast.Eq: ast.Eq, ast.NotEq: ast.NotEq}
_COUNTS = {"count", *ENGAGEMENT}
_TEXT_COLUMNS = {"email", "first_name", "last_name", "company", "role", "industry", "country",
                 "timezone", "stage", "vertical"}


class NotInSegments(ExpressionError):
    """Raised when a condition is valid but cannot be counted in SQL with the meaning it
    has in Python; the sentence says what to write instead."""


@dataclass(frozen=True)
class Value:
    """An operand: its kind as Python would see it, and how SQL reads it (NULL is None)."""

    kind: str
    sql: Any = None
    ref: JsonRef | None = None
    items: tuple[Value, ...] = ()
    const: Any = _NO


def _nn(condition: Any) -> Predicate:
    return func.coalesce(condition, false())


def where(expression: Expression, dialect: str, now: datetime) -> Predicate:
    """The WHERE clause over `contacts` that holds exactly for the contacts whose facts
    make `expression` true at `now`."""
    return _Compiler(expression, dialect, now).pred(expression.tree.body)


def check(expression: Expression) -> None:
    """Refuse (NotInSegments) what segments cannot count, before anything is saved."""
    where(expression, "sqlite", datetime.now())


class _Compiler:
    def __init__(self, expression: Expression, dialect: str, now: datetime):
        self.source, self.dialect, self.now = expression.source, dialect, now
        self.rows = facts_sql.Subqueries(dialect)

    def refuse(self, node: ast.AST, message: str) -> NotInSegments:
        offset = getattr(node, "col_offset", 0)
        at = len(self.source.encode()[:offset].decode(errors="ignore"))
        line, column = place(self.source, at)
        return NotInSegments(f"{message} (line {line}, column {column})", line=line,
                             column=column)

    # Conditions: predicates that are TRUE or FALSE, never NULL.

    def pred(self, node: ast.AST) -> Predicate:
        match node:
            case ast.BoolOp(op=ast.And(), values=values):
                return and_(*[self.pred(v) for v in values])
            case ast.BoolOp(op=ast.Or(), values=values):
                return or_(*[self.pred(v) for v in values])
            case ast.UnaryOp(op=ast.Not(), operand=operand):
                return not_(self.pred(operand))
            case ast.Compare(left=left, ops=ops, comparators=comparators):
                pairs, lhs = [], left
                for op, rhs in zip(ops, comparators, strict=True):
                    pairs.append(self.compare(lhs, op, rhs))
                    lhs = rhs
                return and_(*pairs)
            case ast.Call(func=ast.Name(id="has")):
                return Contact.id.in_(self.events(node))
            case ast.Call(func=ast.Name(id="in_list"), args=[ast.Constant(value=name)]):
                return Contact.id.in_(self.rows.list_members(str(name)))
            case ast.Call(func=ast.Name(id=name)) if name in _COUNTS:
                return Contact.id.in_(self.events(node))
        return self.truthy(self.value(node))

    def truthy(self, value: Value) -> Predicate:
        if value.const is not _NO:
            return true() if value.const else false()
        if value.kind == JSON:
            assert value.ref is not None
            return value.ref.truthy()
        if value.kind == NUM:
            return _nn(value.sql != 0)
        if value.kind == STR:
            return _nn(value.sql != "")
        return false()

    def compare(self, left: ast.AST, op: ast.cmpop, right: ast.AST) -> Predicate:
        for call, other, flipped in ((left, right, False), (right, left, True)):
            if isinstance(call, ast.Call) and isinstance(call.func, ast.Name):
                number = _number(other)
                kind = _FLIP.get(type(op)) if flipped else type(op)
                kind = kind if kind in _FLIP else None
                if call.func.id == "days_since":
                    if number is None or kind not in _ORDER:
                        raise self.refuse(call, "In a segment, days_since() can only be "
                                          "compared with a number, like days_since('x') > 7")
                    return self.days_since(call, kind, number)
                if call.func.id in _COUNTS and number is not None and kind is not None:
                    return self.counted(call, kind, number)
        a, b = self.value(left), self.value(right)
        match op:
            case ast.Eq():
                return self.eq(a, b, left)
            case ast.NotEq():
                return not_(self.eq(a, b, left))
            case ast.In():
                return self.contains(b, a, left, negate=False)
            case ast.NotIn():
                return self.contains(b, a, left, negate=True)
        return self.order(type(op), a, b, left)

    def is_none(self, value: Value) -> Predicate:
        if value.kind == JSON:
            assert value.ref is not None
            return value.ref.is_none
        if value.kind in (NUM, STR):
            return true() if value.const is None else value.sql.is_(None)
        return true() if value.kind == NONE else false()

    def eq(self, a: Value, b: Value, node: ast.AST) -> Predicate:
        if LIST in (a.kind, b.kind):
            raise self.refuse(node, "In a segment, a list [...] can only follow `in`")
        if a.kind == NONE or b.kind == NONE:
            return self.is_none(b if a.kind == NONE else a)
        if a.kind == JSON and b.kind == JSON:
            raise self.refuse(node, "A segment compares an attribute with a field, a text or "
                              "a number, not with another attribute")
        if b.kind == JSON:
            a, b = b, a
        if a.kind == JSON:
            assert a.ref is not None
            same = _nn((a.ref.num if b.kind == NUM else a.ref.text) == b.sql)
            return same if b.const is not _NO else or_(same, and_(a.ref.is_none,
                                                                  b.sql.is_(None)))
        both_none = and_(self.is_none(a), self.is_none(b))
        return both_none if a.kind != b.kind else or_(_nn(a.sql == b.sql), both_none)

    def order(self, op: type, a: Value, b: Value, node: ast.AST) -> Predicate:
        if LIST in (a.kind, b.kind):
            raise self.refuse(node, "In a segment, a list [...] can only follow `in`")
        if NONE in (a.kind, b.kind):
            return false()
        if a.kind == JSON and b.kind == JSON:
            raise self.refuse(node, "A segment compares an attribute with a field, a text or "
                              "a number, not with another attribute")
        left, right = a.sql, b.sql
        if a.kind == JSON:
            assert a.ref is not None
            left, kind = (a.ref.num if b.kind == NUM else a.ref.text), b.kind
        elif b.kind == JSON:
            assert b.ref is not None
            right, kind = (b.ref.num if a.kind == NUM else b.ref.text), a.kind
        elif a.kind != b.kind:
            return false()  # a number and a text: Python's TypeError, read as false
        else:
            kind = a.kind
        if kind == STR and self.dialect == "postgresql":
            left = left.collate("C")  # Python orders text by code point, as "C" does
        return _nn(_ORDER[op](left, right))

    def strpos(self, haystack: Any, needle: Any) -> Predicate:
        found = (func.strpos(haystack, needle) if self.dialect == "postgresql"
                 else func.instr(haystack, needle))
        return _nn(found > 0)

    def contains(self, box: Value, item: Value, node: ast.AST, negate: bool) -> Predicate:
        """`item in box` (or `not in`) as Python answers it: false when the box is None
        (`not in`: true), and false both ways when Python would raise a TypeError."""
        if box.kind == LIST:
            found = or_(false(), *[self.eq(item, x, node) for x in box.items])
            return not_(found) if negate else found
        if (item.kind in (LIST, JSON) and box.kind == JSON) or item.kind == LIST:
            raise self.refuse(node, "In a segment, `in` looks for a text, a number or a "
                              "field in an attribute or in a list [...]")
        if box.kind in (NONE, NUM):
            return self.is_none(box) if negate else false()
        if item.kind == JSON:
            assert item.ref is not None
            text, is_text = item.ref.text, item.ref.type_is("string")
        elif item.kind == STR:
            text, is_text = item.sql, (true() if item.const is not _NO
                                       else item.sql.is_not(None))
        else:
            text, is_text = None, false()
        if box.kind == STR:
            if text is None:
                return self.is_none(box) if negate else false()
            found = self.strpos(box.sql, text)
            return or_(self.is_none(box), and_(is_text, not_(found))) if negate else found
        ref = box.ref
        assert ref is not None
        in_array = ref.any_element(lambda e: self.eq(item, Value(JSON, ref=e), node))
        in_string = (and_(ref.type_is("string"), self.strpos(ref.text, text))
                     if text is not None else false())
        in_object = and_(is_text, ref.has_key(text)) if text is not None else false()
        if not negate:
            return or_(in_array, in_string, in_object)
        return or_(ref.is_none,
                   and_(ref.type_is("array"), not_(in_array)),
                   and_(ref.type_is("string"), is_text, not_(in_string)),
                   and_(ref.type_is("object"), not_(in_object)))

    # Event history: filtered, grouped by contact, never a scalar per row unless asked.

    def events(self, call: ast.Call) -> Any:
        """The ids of contacts with at least one event the call counts."""
        return self.event_filter(call).distinct()

    def event_filter(self, call: ast.Call) -> Any:
        name = call.func.id  # type: ignore[attr-defined]
        args = [a.value for a in list(call.args) + [k.value for k in call.keywords]
                if isinstance(a, ast.Constant)]
        if name in ENGAGEMENT:
            kind, period = ENGAGEMENT[name], (args[0] if args else None)
        else:
            kind, period = str(args[0]), (args[1] if len(args) > 1 else None)
        query = select(Event.contact_id).where(Event.type == kind,
                                               Event.occurred_at <= self.now)
        if period is not None:
            query = query.where(Event.occurred_at >= self.now - parse_duration(period))
        if name in ENGAGEMENT:  # people only: an image proxy's open is flagged `machine`
            query = query.where(not_(json_at(self.dialect, Event.__table__.c.properties,
                                              ("machine",)).truthy()))
        return query

    def counted(self, call: ast.Call, op: Any, number: float) -> Predicate:
        """`count(...) <op> number`: contacts grouped by their count; those with none are
        in when zero satisfies the comparison."""
        python_op = {**_ORDER, ast.Eq: operator.eq, ast.NotEq: operator.ne}[op]
        holds = python_op(func.count(), number)
        grouped = self.event_filter(call).group_by(Event.contact_id)
        if python_op(0, number):
            return Contact.id.not_in(grouped.having(not_(holds)))
        return Contact.id.in_(grouped.having(holds))

    def days_since(self, call: ast.Call, op: Any, days: float) -> Predicate:
        """`days_since(...) > days` is `the latest such event < now - days`."""
        threshold = self.now - timedelta(days=days)
        latest = {ast.Gt: operator.lt, ast.GtE: operator.le, ast.Lt: operator.gt,
                  ast.LtE: operator.ge}[op]
        grouped = self.event_filter(call).group_by(Event.contact_id)
        return Contact.id.in_(grouped.having(latest(func.max(Event.occurred_at), threshold)))

    # Values.

    def value(self, node: ast.AST) -> Value:
        number = _number(node)
        if number is not None:
            return _constant(number)
        match node:
            case ast.Constant(value=value) if value is None or isinstance(value, str):
                return _constant(value)
            case ast.List(elts=elts) | ast.Tuple(elts=elts):
                items = tuple(self.value(e) for e in elts)
                if any(i.const is _NO or i.kind == LIST for i in items):
                    raise self.refuse(node, "In a segment, a list [...] holds texts and "
                                      "numbers only")
                return Value(LIST, items=items, const=[i.const for i in items])
            case ast.Name(id=name):
                return self.name(node, name)
            case ast.Attribute():
                return self.attribute(node)
            case ast.BinOp(op=op, left=left, right=right):
                return self.arithmetic(node, op, self.value(left), self.value(right))
            case ast.UnaryOp(op=ast.USub(), operand=operand):
                inner = self.value(operand)
                if inner.kind == NONE:
                    return inner
                if inner.kind != NUM:
                    raise self.refuse(node, "In a segment, only a number can be negated")
                return Value(NUM, -inner.sql)
            case ast.Call(func=ast.Name(id="lower"), args=[arg], keywords=[]):
                inner = self.value(arg)
                text = (inner.ref.text if inner.kind == JSON and inner.ref is not None
                        else inner.sql if inner.kind == STR else None)
                if text is None:
                    return _constant(None)
                lowered = func.lower if self.dialect == "postgresql" else func.py_lower
                return Value(STR, lowered(text))
            case ast.Call(func=ast.Name(id=name)) if name in _COUNTS:
                counted = self.event_filter(node).where(Event.contact_id == Contact.id)
                return Value(NUM, counted.with_only_columns(func.count()).correlate(Contact)
                             .scalar_subquery())
            case ast.Compare() | ast.BoolOp() | ast.UnaryOp(op=ast.Not()) | ast.Call(
                    func=ast.Name(id="has" | "in_list")):
                return Value(NUM, case((self.pred(node), 1), else_=0))
        raise self.refuse(node, "Segments cannot count this part of the condition yet; "
                          "write it with fields, attributes, events and lists")

    def name(self, node: ast.AST, name: str) -> Value:
        if name in _TEXT_COLUMNS:
            column = Contact.industry if name == "vertical" else getattr(Contact, name)
            return Value(STR, func.nullif(column, ""))
        if name in ("score", "company_size"):
            return Value(NUM, getattr(Contact, name))
        if name == "language":
            return Value(STR, self.rows.language())
        if name in ("grade", "owner"):
            return Value(STR, getattr(self.rows, name)())
        if name in ("event", "properties"):
            raise self.refuse(node, f"A segment has no triggering event, so `{name}` means "
                              "nothing in it; use has() or count() over the history")
        raise self.refuse(node, f"In a segment, write {name}.FIELD (like "
                          f"{_EXAMPLES.get(name, name + '.status')}), not {name} alone")

    def attribute(self, node: ast.Attribute) -> Value:
        path: list[str] = []
        base: ast.AST = node
        while isinstance(base, ast.Attribute):
            path.insert(0, base.attr)
            base = base.value
        root = base.id if isinstance(base, ast.Name) else ""
        if root == "attributes":
            attributes = Contact.__table__.c.attributes
            return Value(JSON, ref=json_at(self.dialect, attributes, tuple(path)))
        if root == "nps" and path in (["category"], ["score"]):
            return Value(JSON, ref=json_at(self.dialect, self.rows.latest_nps(), tuple(path)))
        if root in ("trial", "referral") and path == ["status"]:
            return Value(STR, getattr(self.rows, root + "_status")())
        if root in ("event", "properties"):
            self.name(base, root)  # refused with its own sentence
        raise self.refuse(node, f"A segment can read {', '.join(_EXAMPLES.values())} and "
                          "attributes.NAME, not this")

    def arithmetic(self, node: ast.AST, op: ast.operator, a: Value, b: Value) -> Value:
        if a.const is not _NO and b.const is not _NO:
            if isinstance(op, ast.Mult) and STR in (a.kind, b.kind):
                raise self.refuse(node, "In a segment, texts are joined with +, not repeated")
            try:
                result = ({ast.Add: operator.add, ast.Sub: operator.sub,
                                  ast.Mult: operator.mul, ast.Div: operator.truediv}
                          [type(op)](a.const, b.const))
            except (TypeError, ZeroDivisionError):
                return _constant(None)
            if result is None or isinstance(result, str | int | float):
                return _constant(result)
            raise self.refuse(node, "In a segment, arithmetic works on numbers and texts")
        if NONE in (a.kind, b.kind):
            return _constant(None)
        if isinstance(op, ast.Add) and a.kind == b.kind == STR:
            return Value(STR, a.sql.op("||")(b.sql))
        if a.kind != NUM or b.kind != NUM:
            raise self.refuse(node, "In a segment, arithmetic works on number fields, "
                              "counts and numbers; attributes are compared, not computed")
        if isinstance(op, ast.Div):
            return Value(NUM, cast(a.sql, Float) / func.nullif(cast(b.sql, Float), 0))
        return Value(NUM, {ast.Add: operator.add, ast.Sub: operator.sub,
                           ast.Mult: operator.mul}[type(op)](a.sql, b.sql))


_EXAMPLES = {"nps": "nps.category", "trial": "trial.status", "referral": "referral.status"}


def _number(node: ast.AST) -> float | None:
    """The number a node is written as (`5`, `-2.5`, `True`), else None."""
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        inner = _number(node.operand)
        return None if inner is None else -inner
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
        return int(node.value) if isinstance(node.value, bool) else node.value
    return None


def _constant(value: Any) -> Value:
    if value is None:
        return Value(NONE, null(), const=None)
    if isinstance(value, str):
        return Value(STR, literal(value), const=value)
    if isinstance(value, int | float):
        return Value(NUM, literal(int(value) if isinstance(value, bool) else value),
                     const=value)
    return Value(LIST if isinstance(value, list) else NONE, const=value)
