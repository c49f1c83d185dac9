"""Cursor pagination for every `/api/v1/` list.

A list's query subclasses `PageQuery` (`limit`, `cursor`, plus its filters) and its answer
subclasses `PageBase` (`data`, `next_cursor`). The service returns a page and the sort key
of its last row (`nurture.paging`); `next_cursor` wraps that key in a signed token (purpose
"cursor", 7 days) together with a digest of the path and filters, so a cursor cannot be
forged, and one given for another list or other filters is refused with a sentence rather
than silently applied to the wrong rows. The answer also carries `Link: <...>; rel="next"`
(RFC 8288), the URL of the next page.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any, TypeVar
from urllib.parse import urlencode

from flask import current_app, request
from pydantic import Field

from nurture.errors import Invalid
from nurture.paging import Key
from nurture.tokens import TokenError
from nurture.violations import Violation
from web.schemas import Closed

LIMIT = 50
MAX_LIMIT = 200


class PageQuery(Closed):
    """A page of a list: how many, and where to start."""

    limit: int = Field(LIMIT, ge=1, le=MAX_LIMIT, description=(
        f"At most this many items (1 to {MAX_LIMIT})."))
    cursor: str | None = Field(None, min_length=1, max_length=2000, description=(
        "The `next_cursor` of the page before; leave it out for the first page. Keep the "
        "other parameters as they were."))


class PageBase(Closed):
    """A page of a list; the subclass declares `data`."""

    next_cursor: str | None = Field(description=(
        "Pass it as `cursor` for the next page; null on the last page."))


def _list_of(query: PageQuery) -> str:
    filters = query.model_dump(mode="json", exclude={"cursor", "limit"})
    text = json.dumps([request.path, filters], sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def _encode(value: Any) -> Any:
    return {"t": value.isoformat()} if isinstance(value, datetime) else value


def _decode(value: Any) -> Any:
    return datetime.fromisoformat(value["t"]) if isinstance(value, dict) else value


def start_after(query: PageQuery) -> Key | None:
    """The key the page starts after (None: the first page); a bad cursor is a 422."""
    if query.cursor is None:
        return None
    try:
        payload = current_app.extensions["nurture"].tokens.load("cursor", query.cursor)
        list_of, key = payload["l"], [_decode(v) for v in payload["k"]]
    except (TokenError, KeyError, TypeError, ValueError):
        raise Invalid([Violation("cursor", "This cursor is not one this API gave, or it is "
                                           "older than 7 days; start again without one.")]
                      ) from None
    if list_of != _list_of(query):
        raise Invalid([Violation("cursor", "This cursor was given for another list or other "
                                           "filters; keep the filters of the first page, or "
                                           "start again without a cursor.")])
    return key


def next_cursor(query: PageQuery, last: Key | None) -> str | None:
    """The cursor of the page after the one that ended at `last`."""
    if last is None:
        return None
    return str(current_app.extensions["nurture"].tokens.sign(
        "cursor", {"l": _list_of(query), "k": [_encode(v) for v in last]}))


def link_header(cursor: str | None) -> dict[str, str]:
    """`Link: <next page>; rel="next"` when there is one."""
    if cursor is None:
        return {}
    args = [(k, v) for k, v in request.args.items(multi=True) if k != "cursor"]
    url = f"{request.base_url}?{urlencode([*args, ('cursor', cursor)])}"
    return {"Link": f'<{url}>; rel="next"'}


P = TypeVar("P", bound=PageBase)


def page_of(query: PageQuery, page: type[P], data: list[Any], last: Key | None
            ) -> tuple[P, int, dict[str, str]]:
    """A list view's answer: the page, 200, and the `Link` to the next one."""
    cursor = next_cursor(query, last)
    return page.model_validate({"data": data, "next_cursor": cursor}), 200, link_header(cursor)
