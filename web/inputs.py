"""What every request must be before a view sees it, app-wide.

- Ids in URLs (`<int:...>`) match only within a BIGINT column's range: a larger number is a
  404, the same as an id that does not exist, not a database overflow.
- JSON is strict: `NaN` and `Infinity` are not JSON, and a body nested deeper than
  `MAX_DEPTH` (which would exhaust the parser's stack) is refused with a 400.
- An API call without its key is left to the view's 401: nothing of it is read first.
- A request the router already refused (no such address: 404; a method the address does
  not take: 405) gets that answer: nothing of it is read either.
- Under /api/, a body is JSON (`Content-Type: application/json`) or it is a 400; except at
  `RAW_BODIES`, whose view reads the raw body it takes (one email message) and says itself
  what it refuses.
- Text no database can store (`nurture.text`) in a query argument, a form field, a JSON
  string or a header is refused with a sentence, before any view or database: 422 (a
  problem document under /api/, the styled page otherwise); in a path segment, a 404.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, TypeVar

from flask import Flask, abort, current_app, request
from flask.json.provider import DefaultJSONProvider
from werkzeug.exceptions import BadRequest
from werkzeug.routing import IntegerConverter

from nurture.text import MAX_DEPTH, depth, text_problem, value_problems
from web.api_auth import authorized
from web.problems import UNREADABLE, UNSTORABLE, is_api, page, problem

BIGINT_MAX = 2**63 - 1
BODY_METHODS = ("POST", "PUT", "PATCH")


class IdConverter(IntegerConverter):
    """Flask's `int`, bounded to what a BIGINT id column holds (0 .. 2**63-1).

    A number of more than 19 digits matches no rule (404). One of 19 digits past the
    maximum becomes the maximum, an id no row has, so every method's view answers its own
    404: refusing it in the converter would make the router answer 405 for the methods of
    the rules it had already passed over."""

    regex = r"\d{1,19}"

    def __init__(self, map: Any, fixed_digits: int = 0, min: int | None = None,
                 max: int | None = None, signed: bool = False) -> None:
        super().__init__(map, fixed_digits, min, None, signed)
        self.ceiling = BIGINT_MAX if max is None else max

    def to_python(self, value: str) -> Any:
        return min(int(super().to_python(value)), self.ceiling)


class StrictJSONProvider(DefaultJSONProvider):
    """Flask's JSON, refusing the `NaN`, `Infinity` and `-Infinity` that Python accepts."""

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        kwargs.setdefault("parse_constant", _not_json)
        return json.loads(s, **kwargs)


def _not_json(constant: str) -> Any:
    raise ValueError(f"{constant} is not a JSON number.")


RAW_BODIES = ("/api/inbound", "/api/v1/inbound")  # a raw email (message/rfc822), no JSON


def init_app(app: Flask) -> None:
    """Before any blueprint registers (the converter applies to rules added afterwards)."""
    app.url_map.converters["int"] = IdConverter
    app.json_provider_class = StrictJSONProvider
    app.json = StrictJSONProvider(app)
    app.before_request(check_request)


View = TypeVar("View", bound=Callable[..., Any])
BODY_LIMIT = "max_body_bytes"  # the attribute `body_up_to` sets on a view


def body_up_to(limit: int) -> Callable[[View], View]:
    """Mark a view that takes bodies up to `limit` bytes, past the app's MAX_CONTENT_LENGTH
    (a batch of events): the checks below read the body before the view runs."""

    def mark(view: View) -> View:
        setattr(view, BODY_LIMIT, limit)
        return view

    return mark


def check_request() -> Any:
    if request.routing_exception is not None:
        return None  # the router's 404 or 405 answers; a PUT to a GET is not a bad body
    if is_api() and not authorized():
        return None  # the view answers 401 before anything of the request is read
    limit = getattr(current_app.view_functions.get(request.endpoint or ""), BODY_LIMIT, None)
    if limit is not None:
        request.max_content_length = limit
    for value in (request.view_args or {}).values():
        if isinstance(value, str) and text_problem(value):
            abort(404)
    for name, value in request.headers.items():
        if "\x00" in value:
            return _unreadable(f"The {name} header contains a NUL character.")
    problems = [(f"query.{key}", sentence)
                for key, value in request.args.items(multi=True)
                for sentence in _sentences(key, value)]
    if request.method in BODY_METHODS:
        body = _json_body()
        if not isinstance(body, _Fine):
            return body
        problems += [(f"body.{where}" if where else "body", sentence)
                     for where, sentence in value_problems(body.value)]
        if request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
            problems += [(f"form.{key}", sentence)
                         for key, value in request.form.items(multi=True)
                         for sentence in _sentences(key, value)]
    if problems:
        return _unstorable(problems)
    return None


class _Fine:
    def __init__(self, value: Any) -> None:
        self.value = value


def _json_body() -> Any:
    """The parsed JSON body (None when there is none), or the 400 that answers it."""
    if request.path in RAW_BODIES:
        return _Fine(None)
    if not request.content_length and not request.content_type:
        return _Fine(None)  # no body at all: an action such as `POST .../approve`
    if not request.is_json:
        if is_api():
            return _unreadable("The request body must be JSON, sent with "
                               "Content-Type: application/json.")
        return _Fine(None)
    try:
        value = request.get_json()
    except RecursionError:
        return _unreadable(f"The JSON body is nested more than {MAX_DEPTH} levels deep.")
    except BadRequest:
        return _unreadable("The request body is not valid JSON.")
    if depth(value) > MAX_DEPTH:
        return _unreadable(f"The JSON body is nested more than {MAX_DEPTH} levels deep.")
    return _Fine(value)


def _sentences(key: str, value: str) -> list[str]:
    return [sentence for sentence in (text_problem(key), text_problem(value)) if sentence]


def _unreadable(sentence: str) -> Any:
    if is_api():
        return problem(400, sentence, [("(body)", sentence)], UNREADABLE,
                       "The request could not be read")
    return page(400, "The request could not be read", sentence)


def _unstorable(problems: list[tuple[str, str]]) -> Any:
    field, sentence = problems[0]
    if is_api():
        return problem(422, f"{field}: {sentence}", problems, UNSTORABLE,
                       "The request contains text that cannot be stored")
    name = field.partition(".")[2]
    return page(422, "Please check what you typed",
                f"The field {name!r} contains a character that cannot be stored (a NUL "
                "character or an unpaired surrogate), so nothing was saved. Please remove "
                "it and send the form again.")
