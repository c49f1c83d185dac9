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
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    Float,
    Text,
    and_,
    case,
    cast,
    exists,
    func,
    literal,
    not_,
    null,
    or_,
    select,
)

from journeys.durations import parse_duration
from journeys.expressions import ENGAGEMENT, Expression, place
from journeys.facts import ContactFacts, Facts
from nurture.audiences import facts_sql
from nurture.audiences.jsonsql import Predicate, json_at
from nurture.audiences.operands import (
    JSON,
    LIST,
    NO,
    NONE,
    NUM,
    ORDER,
    STR,
    Comparisons,
    NotInSegments,
    Value,
    as_number,
    constant,
)
from nurture.contacts.models import Contact
from nurture.events.models import Event

_FLIP = {ast.Lt: ast.Gt, ast.LtE: ast.GtE, ast.Gt: ast.Lt, ast.GtE: ast.LtE,
         ast.Eq: ast.Eq, ast.NotEq: ast.NotEq}
_COUNTS = {"count", *ENGAGEMENT}
_TEXT_COLUMNS = {"email", "first_name", "last_name", "company", "role", "industry", "country",
                 "timezone", "stage", "vertical"}
_EXAMPLES = {"nps": "nps.category", "trial": "trial.status", "referral": "referral.status"}


def where(expression: Expression, dialect: str, now: datetime) -> Predicate:
    """The WHERE clause over `contacts` that holds exactly for the contacts whose facts
    make `expression` true at `now`."""
    return _Compiler(expression, dialect, now).pred(expression.tree.body)


def check(expression: Expression) -> None:
    """Refuse (NotInSegments) what segments cannot count, before anything is saved."""
    where(expression, "sqlite", datetime.now())


class _Compiler(Comparisons):
    def __init__(self, expression: Expression, dialect: str, now: datetime):
        self.source, self.dialect, self.now = expression.source, dialect, now
        self.rows = facts_sql.Subqueries(dialect)
        self.bound: dict[str, Any] = {}  # a related fact read from a table's row, for now

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
            case ast.Compare():
                return self.leaf(node, lambda: self.comparison(node))
            case ast.Call(func=ast.Name(id="has")):
                return self.among(self.events(node))
            case ast.Call(func=ast.Name(id="in_list"), args=[ast.Constant(value=name)]):
                return self.among(self.rows.list_members(str(name)))
            case ast.Call(func=ast.Name(id=name)) if name in _COUNTS:
                return self.among(self.events(node))
        return self.leaf(node, lambda: self.truthy(self.value(node)))

    def comparison(self, node: ast.Compare) -> Predicate:
        pairs, lhs = [], node.left
        for op, rhs in zip(node.ops, node.comparators, strict=True):
            pairs.append(self.compare(lhs, op, rhs))
            lhs = rhs
        return and_(*pairs)

    def leaf(self, node: ast.AST, build: Callable[[], Predicate]) -> Predicate:
        """A condition over one related fact (grade, owner, NPS, trial, referral), answered
        for every contact at once: those with a row where it holds over the row's value,
        and, when it holds for the value of no row, those without one."""
        facts = {fact for n in ast.walk(node) if (fact := _related(n)) and
                 fact not in self.bound}
        if len(facts) != 1:
            return build()
        fact = facts.pop()
        rows = self.rows.related(fact)
        try:
            self.bound[fact] = rows.c.value
            with_row = build()
            if _alone(node, fact):
                # The contacts without a row read the default: Python says at once whether
                # that holds, and one set operation answers (at most one row per contact).
                if _holds_without_a_row(node, self.now):
                    return not_(self.among(select(rows.c.contact_id).where(not_(with_row))))
                return self.among(select(rows.c.contact_id).where(with_row))
            default = facts_sql.DEFAULTS[fact]
            self.bound[fact] = null() if fact == "nps" else literal(default, Text())
            without = build()
        finally:
            del self.bound[fact]
        return or_(self.among(select(rows.c.contact_id).where(with_row)),
                   and_(without, not_(self.among(select(rows.c.contact_id)))))

    def among(self, ids: Any, grouped: bool = False) -> Predicate:
        """The contact's id is one of `ids` (a select of one column). On PostgreSQL an
        EXISTS, so that under `not` it is an anti-join: `NOT IN` over more ids than fit in
        work_mem is looked through once per contact. SQLite builds an index for `IN`.
        A grouped select (`having`) is joined as a whole; another is correlated as it is,
        since it may read the contact's own columns."""
        if self.dialect != "postgresql":
            return Contact.id.in_(ids)
        if not grouped:
            return exists(ids.where(ids.selected_columns[0] == Contact.id).correlate(Contact))
        found = ids.subquery()
        return exists(select(1).select_from(found)
                      .where(found.c[next(iter(found.c.keys()))] == Contact.id)
                      .correlate(Contact))

    def compare(self, left: ast.AST, op: ast.cmpop, right: ast.AST) -> Predicate:
        for call, other, flipped in ((left, right, False), (right, left, True)):
            if isinstance(call, ast.Call) and isinstance(call.func, ast.Name):
                number = as_number(other)
                kind = _FLIP.get(type(op)) if flipped else type(op)
                kind = kind if kind in _FLIP else None
                if call.func.id == "days_since":
                    if number is None or kind not in ORDER:
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
        python_op = {**ORDER, ast.Eq: operator.eq, ast.NotEq: operator.ne}[op]
        holds = python_op(func.count(), number)
        grouped = self.event_filter(call).group_by(Event.contact_id)
        if python_op(0, number):
            return not_(self.among(grouped.having(not_(holds)), grouped=True))
        return self.among(grouped.having(holds), grouped=True)

    def days_since(self, call: ast.Call, op: Any, days: float) -> Predicate:
        """`days_since(...) > days` is `the latest such event < now - days`."""
        threshold = self.now - timedelta(days=days)
        latest = {ast.Gt: operator.lt, ast.GtE: operator.le, ast.Lt: operator.gt,
                  ast.LtE: operator.ge}[op]
        grouped = self.event_filter(call).group_by(Event.contact_id)
        return self.among(grouped.having(latest(func.max(Event.occurred_at), threshold)),
                          grouped=True)

    # Values.

    def value(self, node: ast.AST) -> Value:
        number = as_number(node)
        if number is not None:
            return constant(number)
        match node:
            case ast.Constant(value=value) if value is None or isinstance(value, str):
                return constant(value)
            case ast.List(elts=elts) | ast.Tuple(elts=elts):
                items = tuple(self.value(e) for e in elts)
                if any(i.const is NO or i.kind == LIST for i in items):
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
                    return constant(None)
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
            return Value(STR, self.bound[name] if name in self.bound
                         else getattr(self.rows, name)())
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
            doc = self.bound["nps"] if "nps" in self.bound else self.rows.latest_nps()
            return Value(JSON, ref=json_at(self.dialect, doc, tuple(path)))
        if root in ("trial", "referral") and path == ["status"]:
            return Value(STR, self.bound[root] if root in self.bound
                         else getattr(self.rows, root + "_status")())
        if root in ("event", "properties"):
            self.name(base, root)  # refused with its own sentence
        raise self.refuse(node, f"A segment can read {', '.join(_EXAMPLES.values())} and "
                          "attributes.NAME, not this")

    def arithmetic(self, node: ast.AST, op: ast.operator, a: Value, b: Value) -> Value:
        if a.const is not NO and b.const is not NO:
            if isinstance(op, ast.Mult) and STR in (a.kind, b.kind):
                raise self.refuse(node, "In a segment, texts are joined with +, not repeated")
            try:
                result = ({ast.Add: operator.add, ast.Sub: operator.sub,
                                  ast.Mult: operator.mul, ast.Div: operator.truediv}
                          [type(op)](a.const, b.const))
            except (TypeError, ZeroDivisionError):
                return constant(None)
            if result is None or isinstance(result, str | int | float):
                return constant(result)
            raise self.refuse(node, "In a segment, arithmetic works on numbers and texts")
        if NONE in (a.kind, b.kind):
            return constant(None)
        if isinstance(op, ast.Add) and a.kind == b.kind == STR:
            return Value(STR, a.sql.op("||")(b.sql))
        if a.kind != NUM or b.kind != NUM:
            raise self.refuse(node, "In a segment, arithmetic works on number fields, "
                              "counts and numbers; attributes are compared, not computed")
        if isinstance(op, ast.Div):
            return Value(NUM, cast(a.sql, Float) / func.nullif(cast(b.sql, Float), 0))
        return Value(NUM, {ast.Add: operator.add, ast.Sub: operator.sub,
                           ast.Mult: operator.mul}[type(op)](a.sql, b.sql))




def _related(node: ast.AST) -> str | None:
    """The related fact a node reads (`grade`, `owner`, `nps.*`, `trial.*`, `referral.*`)."""
    if isinstance(node, ast.Name) and node.id in ("grade", "owner"):
        return node.id
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and \
            node.value.id in ("nps", "trial", "referral"):
        return node.value.id
    return None


def _alone(node: ast.AST, fact: str) -> bool:
    """The node reads nothing but the related fact and constants."""
    for n in ast.walk(node):
        if isinstance(n, ast.Name) and n.id not in (fact, "lower"):
            return False
        if isinstance(n, ast.Call) and not (isinstance(n.func, ast.Name)
                                            and n.func.id == "lower"):
            return False
    return True


def _holds_without_a_row(node: ast.AST, now: datetime) -> bool:
    """What the Python evaluator answers for a contact with no grade, owner, trial,
    referral or NPS answer: the same facts `nurture.audiences.facts` gives such a one."""
    assert isinstance(node, ast.expr)
    tree = ast.fix_missing_locations(ast.Expression(body=node))
    blank = Facts(ContactFacts(id=0, email=""), grade=facts_sql.NO_GRADE)
    return Expression("", tree, frozenset()).evaluate(blank, now)
