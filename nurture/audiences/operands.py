"""Operands of a segment's condition and how they compare, as Python compares them.

A `Value` is an operand with the kind Python would see (a number, a text, a JSON value, None
or a list of constants) and the SQL that reads it, NULL standing for None. `Comparisons`
turns `==`, `<`, `in` and truth into predicates that are TRUE or FALSE, never NULL, with
Python's answers: a missing value compares false, `None == None` holds, and what would be a
TypeError in Python (a number `in` a text) is false both ways.
"""

from __future__ import annotations

import ast
import operator
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, false, func, literal, not_, null, or_, true

from journeys.expressions import ExpressionError
from nurture.audiences.jsonsql import JsonRef, Predicate

NUM, STR, JSON, NONE, LIST = "number", "text", "json", "none", "list"
NO = object()
ORDER: dict[type, Callable[[Any, Any], Any]] = {
    ast.Lt: operator.lt, ast.LtE: operator.le, ast.Gt: operator.gt, ast.GtE: operator.ge}


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
    const: Any = NO


def nn(condition: Any) -> Predicate:
    return func.coalesce(condition, false())


class Comparisons:
    """Comparison rules over Values; the compiler supplies `dialect` and `refuse`."""

    dialect: str

    def refuse(self, node: ast.AST, message: str) -> NotInSegments:
        raise NotImplementedError

    def truthy(self, value: Value) -> Predicate:
        if value.const is not NO:
            return true() if value.const else false()
        if value.kind == JSON:
            assert value.ref is not None
            return value.ref.truthy()
        if value.kind == NUM:
            return nn(value.sql != 0)
        if value.kind == STR:
            return nn(value.sql != "")
        return false()

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
            same = nn((a.ref.num if b.kind == NUM else a.ref.text) == b.sql)
            return same if b.const is not NO else or_(same, and_(a.ref.is_none,
                                                                  b.sql.is_(None)))
        both_none = and_(self.is_none(a), self.is_none(b))
        return both_none if a.kind != b.kind else or_(nn(a.sql == b.sql), both_none)

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
        return nn(ORDER[op](left, right))

    def strpos(self, haystack: Any, needle: Any) -> Predicate:
        found = (func.strpos(haystack, needle) if self.dialect == "postgresql"
                 else func.instr(haystack, needle))
        return nn(found > 0)

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
            text, is_text = item.sql, (true() if item.const is not NO
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


def as_number(node: ast.AST) -> float | None:
    """The number a node is written as (`5`, `-2.5`, `True`), else None."""
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        inner = as_number(node.operand)
        return None if inner is None else -inner
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
        return int(node.value) if isinstance(node.value, bool) else node.value
    return None


def constant(value: Any) -> Value:
    if value is None:
        return Value(NONE, null(), const=None)
    if isinstance(value, str):
        return Value(STR, literal(value), const=value)
    if isinstance(value, int | float):
        return Value(NUM, literal(int(value) if isinstance(value, bool) else value),
                     const=value)
    return Value(LIST if isinstance(value, list) else NONE, const=value)

