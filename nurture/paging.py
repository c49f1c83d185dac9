"""Keyset pagination for services: the next page starts after the last row's sort key.

An offset skips rows that are inserted before it and repeats rows when some are deleted;
a keyset (`WHERE (created_at, id) > (:last_created_at, :last_id)`) does neither, so a client
walking a list while rows are added sees every row that existed when it started, exactly
once, and the cost of a page does not grow with its depth. The sort always ends with the
primary key, which makes the key unique.

Services call `after(stmt, keys, last, limit)` and `split(rows, limit, key)`; the web layer
turns the last key into an opaque cursor (`web/api_v1/paging.py`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from sqlalchemy import Select, and_, or_
from sqlalchemy.sql.elements import ColumnElement

T = TypeVar("T")
Key = list[Any]


def after(stmt: Select[Any], keys: Sequence[Any], last: Key | None,
          limit: int, descending: bool = False) -> Select[Any]:
    """`stmt` ordered by `keys` (ending with the primary key), from just after `last`,
    fetching one row more than `limit` so that `split` can tell whether there is more."""
    if last is not None:
        if len(last) != len(keys):
            raise ValueError("The cursor's key does not fit this list's order.")
        stmt = stmt.where(_beyond(keys, last, descending))
    order = [k.desc() for k in keys] if descending else list(keys)
    return stmt.order_by(*order).limit(limit + 1)


def _beyond(keys: Sequence[Any], last: Key,
            descending: bool) -> ColumnElement[bool]:
    """(a, b, c) > (x, y, z), spelled out (a > x OR a = x AND (b > y OR ...)) so that it
    works on every database and uses the index on the leading key."""
    key, rest = keys[0], keys[1:]
    value = last[0]
    beyond = key < value if descending else key > value
    if not rest:
        return beyond
    return or_(beyond, and_(key == value, _beyond(rest, last[1:], descending)))


def split(rows: Sequence[T], limit: int, key: Callable[[T], Key]) -> tuple[list[T], Key | None]:
    """The page (at most `limit` rows) and the key to continue after, or None at the end."""
    page = list(rows[:limit])
    return page, (key(page[-1]) if len(rows) > limit and page else None)
