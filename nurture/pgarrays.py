"""PostgreSQL arrays in binary wire format, built whole for `unnest` writes.

psycopg dumps a list element by element in Python (a dumper lookup and a `struct.pack`
each): for a journey batch's arrays that was a third of advancing a contact on the client.
Here an integer or time column is one numpy conversion and a text column one loop of
`encode`. The result goes to psycopg as `Encoded`, passed through untouched with no type
of its own: the statement's cast (`%(c0)b::BIGINT[]`) gives PostgreSQL the type to read.
Types not listed fall back to psycopg's own dumping.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import psycopg
from psycopg import pq
from psycopg.adapt import Dumper
from psycopg.types.json import Json, Jsonb

_HEAD = struct.Struct(">iiiii")  # dimensions, has nulls, element type, length, lower bound
_LEN = struct.Struct(">i")
_NULL = _LEN.pack(-1)
_PG_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
_INTS = {"BIGINT": (20, ">i8"), "INTEGER": (23, ">i4"), "SMALLINT": (21, ">i2")}
_FLOATS = {"FLOAT": 701, "DOUBLE PRECISION": 701}
_TEXTS = {"VARCHAR": 1043, "TEXT": 25, "JSON": 114, "JSONB": 3802}


class Encoded:
    """A parameter already in PostgreSQL's binary format."""

    __slots__ = ("data",)

    def __init__(self, data: bytes):
        self.data = data


class _EncodedDumper(Dumper):
    format = pq.Format.BINARY
    oid = 0  # unknown: the statement's cast says what it is

    def dump(self, obj: Encoded) -> bytes:
        return obj.data


psycopg.adapters.register_dumper(Encoded, _EncodedDumper)


def encode(sql_type: str, values: Sequence[Any]) -> Encoded | None:
    """`values` (after SQLAlchemy's bind processing) as a one-dimensional array of
    `sql_type` (as SQLAlchemy compiles it: BIGINT, VARCHAR(120), ...); None when the type
    is not one this module writes."""
    base = sql_type.split("(", 1)[0].strip().upper()
    nulls = None in values  # identity first, then ==: no value of ours equals None
    if base in _INTS and not nulls:
        oid, dtype = _INTS[base]
        return _fixed(oid, np.asarray(values, dtype=dtype), len(values))
    if base in _FLOATS and not nulls:
        return _fixed(_FLOATS[base], np.asarray(values, dtype=">f8"), len(values))
    if base == "TIMESTAMP WITH TIME ZONE":
        if any(v is not None and v.tzinfo is None for v in values):
            return None  # naive times: psycopg applies the session's time zone
        return _elements(1184, values, _timestamp)
    if base == "BOOLEAN":
        return _elements(16, values, lambda v: b"\x01" if v else b"\x00")
    if base in ("JSON", "JSONB"):
        prefix = b"\x01" if base == "JSONB" else b""  # jsonb's binary form has a version
        return _elements(_TEXTS[base], values, lambda v: prefix + _json(v).encode())
    if base in _TEXTS:
        return _texts(_TEXTS[base], values) if not nulls else \
            _elements(_TEXTS[base], values, lambda v: v.encode())
    return None


def _texts(oid: int, values: Sequence[str]) -> Encoded:
    """Text without nulls, the commonest column: one pass, no bookkeeping per element."""
    pack = _LEN.pack
    encoded = [value.encode() for value in values]
    parts = [_HEAD.pack(1, 0, oid, len(values), 1)]
    parts += [pack(len(data)) + data for data in encoded]
    return Encoded(b"".join(parts))


def _fixed(oid: int, array: np.ndarray, count: int) -> Encoded:
    """A fixed-width type without nulls: each element its length and its big-endian value."""
    width = array.dtype.itemsize
    rows = np.empty(count, dtype=[("len", ">i4"), ("value", array.dtype)])
    rows["len"] = width
    rows["value"] = array
    return Encoded(_HEAD.pack(1, 0, oid, count, 1) + rows.tobytes())


def _elements(oid: int, values: Sequence[Any], convert: Any) -> Encoded:
    """Element by element, converting each distinct object once (a batch's rows share
    their times, and many share a dict of points)."""
    parts = [b""]
    done: dict[int, bytes] = {}
    pack, has_null = _LEN.pack, False
    for value in values:
        if value is None:
            parts.append(_NULL)
            has_null = True
            continue
        item = done.get(id(value))
        if item is None:
            data = convert(value)
            item = done[id(value)] = pack(len(data)) + data
        parts.append(item)
    parts[0] = _HEAD.pack(1, int(has_null), oid, len(values), 1)
    return Encoded(b"".join(parts))


def _timestamp(value: datetime) -> bytes:
    micros = (value - _PG_EPOCH) // _MICROSECOND
    return micros.to_bytes(8, "big", signed=True)


def _json(value: Any) -> str:
    """A value SQLAlchemy has bound for a JSON column: psycopg's wrapper, or a string."""
    if isinstance(value, Json | Jsonb):
        dumped = value.dumps(value.obj) if value.dumps else json.dumps(value.obj)
        return dumped if isinstance(dumped, str) else dumped.decode()
    return value if isinstance(value, str) else json.dumps(value)
