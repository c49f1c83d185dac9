"""Visitor ids in links and what a visit records: plain values, no I/O.

An email click carries the contact's signed visitor id to the customer's site in the `nv`
query parameter, but only to the origins the installation lists: any other site would
learn an id that identifies one of our contacts, for nothing."""

from __future__ import annotations

from collections.abc import Collection
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

PARAM = "nv"  # the query parameter; the script reads it and takes it off the address bar
URL_MAX = 2000  # what browsers and analytics keep of an address
TITLE_MAX = 300


def origin(url: str) -> str | None:
    """`scheme://host[:port]` of a web address, lower-cased as browsers send `Origin`;
    None for anything else (mailto:, a malformed port)."""
    try:
        parts = urlsplit(url)
        _ = parts.port
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    host = parts.netloc.rsplit("@", 1)[-1].lower()
    return f"{parts.scheme.lower()}://{host}"


def with_visitor(url: str, token: str, origins: Collection[str]) -> str:
    """`url` with the visitor id added to its query when it leads to one of `origins`; a
    stale `nv` already there is replaced. The rest of the URL is kept as written."""
    if origin(url) not in origins:
        return url
    parts = urlsplit(without_visitor(url))
    added = urlencode([(PARAM, token)])
    query = f"{parts.query}&{added}" if parts.query else added
    return urlunsplit(parts._replace(query=query))


def without_visitor(url: str) -> str:
    """`url` without the `nv` parameter: the id is never stored in an event."""
    parts = urlsplit(url)
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    if not any(key == PARAM for key, _ in pairs):
        return url
    return urlunsplit(parts._replace(query=urlencode([p for p in pairs if p[0] != PARAM])))


def visit_properties(url: str, title: str, referrer: str) -> dict[str, str]:
    """The properties of a `page.visited` event: the scoring rules match on `path`."""
    clean = without_visitor(url)[:URL_MAX]
    return {"url": clean, "path": urlsplit(clean).path or "/", "title": title[:TITLE_MAX],
            "referrer": without_visitor(referrer)[:URL_MAX]}
