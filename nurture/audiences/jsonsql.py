"""A JSON value inside a row, read in SQL as the condition language reads it in Python.

PostgreSQL (jsonb) and SQLite (JSON text) name their types and reach into documents
differently; both are put behind one small interface so that the compiler writes each rule
once. Every method answers what Python would see: `num` is the value when it is a number
(a boolean counts as 1 or 0, as `True == 1` in Python), `text` when it is a string, and
NULL otherwise; `is_none` holds for a missing key and for JSON null alike.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Numeric,
    and_,
    case,
    cast,
    exists,
    false,
    func,
    literal,
    or_,
    select,
    true,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.types import Text

Predicate = ColumnElement[bool]


class JsonRef:
    """A JSON value: a document and a path into it (or one element of an array)."""

    def type_is(self, *kinds: str) -> Predicate:
        """The value is one of `kinds`: number, bool, string, array, object, null."""
        raise NotImplementedError

    @property
    def num(self) -> ColumnElement[Any]:
        raise NotImplementedError

    @property
    def text(self) -> ColumnElement[Any]:
        raise NotImplementedError

    @property
    def is_none(self) -> Predicate:
        raise NotImplementedError

    def truthy(self) -> Predicate:
        raise NotImplementedError

    def any_element(self, holds: Callable[[JsonRef], Predicate]) -> Predicate:
        """Some element of the array satisfies `holds` (false when it is no array)."""
        raise NotImplementedError

    def has_key(self, key: ColumnElement[Any]) -> Predicate:
        """The object has the key (false when it is no object)."""
        raise NotImplementedError


def _never_null(condition: ColumnElement[Any]) -> Predicate:
    return func.coalesce(condition, false())


class PostgresJson(JsonRef):
    KINDS = {"number": "number", "bool": "boolean", "string": "string", "array": "array",
             "object": "object", "null": "null"}

    def __init__(self, node: ColumnElement[Any]):
        self.node = node
        self.kind = func.jsonb_typeof(node)
        self.raw = node.op("#>>", return_type=Text)(literal([], ARRAY(Text)))

    @classmethod
    def at(cls, doc: ColumnElement[Any], path: tuple[str, ...]) -> PostgresJson:
        return cls(cast(doc, JSONB).op("#>", return_type=JSONB)(literal(list(path),
                                                                        ARRAY(Text))))

    def type_is(self, *kinds: str) -> Predicate:
        return _never_null(self.kind.in_([self.KINDS[k] for k in kinds]))

    @property
    def num(self) -> ColumnElement[Any]:
        return case((self.kind == "number", cast(self.raw, Numeric)),
                    (self.kind == "boolean", case((self.raw == "true", 1), else_=0)))

    @property
    def text(self) -> ColumnElement[Any]:
        return case((self.kind == "string", self.raw))

    @property
    def is_none(self) -> Predicate:
        return or_(self.node.is_(None), self.kind == "null")

    def truthy(self) -> Predicate:
        return _never_null(case(
            (self.kind == "boolean", self.raw == "true"),
            (self.kind == "number", cast(self.raw, Numeric) != 0),
            (self.kind == "string", self.raw != ""),
            (self.kind == "array", func.jsonb_array_length(self.node) > 0),
            (self.kind == "object", self.raw != "{}"),
            else_=false()))

    def any_element(self, holds: Callable[[JsonRef], Predicate]) -> Predicate:
        elements = func.jsonb_array_elements(self.node).table_valued("value").alias("elt")
        found = exists(select(1).select_from(elements)
                       .where(holds(PostgresJson(elements.c.value))))
        return _never_null(case((self.kind == "array", found), else_=false()))

    def has_key(self, key: ColumnElement[Any]) -> Predicate:
        return _never_null(case((self.kind == "object", func.jsonb_exists(self.node, key)),
                                else_=false()))


class SqliteJson(JsonRef):
    KINDS = {"number": ("integer", "real"), "bool": ("true", "false"), "string": ("text",),
             "array": ("array",), "object": ("object",), "null": ("null",)}

    def __init__(self, kind: ColumnElement[Any], value: ColumnElement[Any],
                 doc: ColumnElement[Any] | None = None, path: str = "$"):
        self.kind, self.value, self.doc, self.path = kind, value, doc, path

    @classmethod
    def at(cls, doc: ColumnElement[Any], path: tuple[str, ...]) -> SqliteJson:
        # Keys quoted: a condition's names are identifiers, never a quote.
        where = "$" + "".join(f'."{part}"' for part in path)
        return cls(func.json_type(doc, where), func.json_extract(doc, where), doc, where)

    def type_is(self, *kinds: str) -> Predicate:
        return _never_null(self.kind.in_([n for k in kinds for n in self.KINDS[k]]))

    @property
    def num(self) -> ColumnElement[Any]:
        return case((self.kind.in_(("integer", "real", "true", "false")), self.value))

    @property
    def text(self) -> ColumnElement[Any]:
        return case((self.kind == "text", self.value))

    @property
    def is_none(self) -> Predicate:
        return or_(self.kind.is_(None), self.kind == "null")

    def truthy(self) -> Predicate:
        assert self.doc is not None
        return _never_null(case(
            (self.kind == "true", true()),
            (self.kind.in_(("integer", "real")), self.value != 0),
            (self.kind == "text", self.value != ""),
            (self.kind == "array", func.json_array_length(self.doc, self.path) > 0),
            (self.kind == "object", self.value != "{}"),
            else_=false()))

    def _each(self) -> Any:
        assert self.doc is not None
        return func.json_each(self.doc, self.path).table_valued(
            "key", "value", "type", "atom").alias("elt")

    def any_element(self, holds: Callable[[JsonRef], Predicate]) -> Predicate:
        each = self._each()
        found = exists(select(1).select_from(each)
                       .where(holds(SqliteJson(each.c.type, each.c.atom))))
        return _never_null(and_(self.kind == "array", found))

    def has_key(self, key: ColumnElement[Any]) -> Predicate:
        each = self._each()
        return _never_null(and_(self.kind == "object",
                                exists(select(1).select_from(each).where(each.c.key == key))))


def json_at(dialect: str, doc: ColumnElement[Any], path: tuple[str, ...]) -> JsonRef:
    """The value at `path` in `doc`, for this dialect."""
    return PostgresJson.at(doc, path) if dialect == "postgresql" else SqliteJson.at(doc, path)
