"""The API's one OpenAPI document, and the decorator that validates every API call by it.

`spec` owns the document: each API view is decorated with `@validate(query=..., json=...,
resp=...)` and pydantic v2 models (`web/schemas.py`), so the schema that refuses a request
is the one that is published. A request that breaks it answers 422 with a problem document
listing every field and why; nothing is stored. `document(app)` is what `/api/openapi.json`
publishes (`web/api_docs.py`): spectree's document of the app's decorated routes, with what
spectree cannot say by itself (problem documents are `application/problem+json`, ids are
BIGINTs, a deprecated call's successor, a body that is not JSON).

An old call that a `/api/v1/` one replaces says so with `successor=`: it is `deprecated` in
the document, its description names the successor, and every answer it gives carries
`Deprecation` (RFC 9745) and `Link: <...>; rel="successor-version"` (`deprecation_headers`).

Why spectree (and not flask-openapi3): see docs/api.md.
"""

from __future__ import annotations

import copy
import string
from collections.abc import Callable
from typing import Any

from flask import Flask, abort, current_app, g, request
from flask.typing import RouteCallable
from pydantic import ValidationError
from spectree import Response as Responses
from spectree import SecurityScheme, SecuritySchemeData, SpecTree
from spectree.models import SecureType
from werkzeug import Response

from nurture.violations import from_pydantic
from web.api_auth import KEY_DEPRECATED
from web.inputs import BIGINT_MAX
from web.problems import INVALID, MEDIA_TYPE, Problem, problem

spec = SpecTree(
    "flask", title="Nurture API", version="1", mode="strict",
    description="Record events, report trial usage and bounces, read scores and NPS. "
                "Every error is an RFC 9457 problem document (`application/problem+json`). "
                "The reference page is `/api/docs`; docs/api.md says more.",
    security_schemes=[SecurityScheme(name="bearer", data=SecuritySchemeData(
        type=SecureType.HTTP, scheme="bearer",
        description="`Authorization: Bearer nt_...`: a user's API token, made in the "
                    "console (`/account/tokens`) or with `nurture tokens create`; it acts "
                    "as its user, within its scope (read, write, admin). The shared "
                    "NURTURE_API_KEY still works as an admin token, but is deprecated."))],
    security={"bearer": []},
    validation_error_model=Problem,
)

# What any token-guarded call can answer: unreadable body, no token, too little scope, no
# such thing, invalid, too many requests, database busy.
ERRORS = {f"HTTP_{code}": Problem for code in (400, 401, 403, 404, 422, 429, 503)}
SUCCESSOR = "nurture_successor"  # the attribute `validate` sets on a deprecated route
BODY_MEDIA = "nurture_body_media"  # ... and on a route whose body is not JSON
DOCUMENT = "nurture_openapi"  # app.extensions: the published document, built once


def _refuse(_request: object, _response: object, error: Exception | None, _instance: object,
            _adapter: object) -> None:
    """spectree's hook before the view: a body or query that breaks its schema is a 422
    problem document (spectree's own answer is a bare list)."""
    if error is None:
        return
    found = from_pydantic(error) if isinstance(error, ValidationError) else []
    first = found[0].sentence() if found else "The request is not valid."
    more = len(found) - 1
    detail = first if more < 1 else f"{first} ({more} more problem{'s' * (more > 1)} are " \
                                     "listed under errors.)"
    abort(problem(422, detail, [(v.field, v.message) for v in found], INVALID,
                  "The request is not valid"))


def validate(*, query: type | None = None, json: type | None = None,
             resp: dict[str, type | None] | None = None, tags: tuple[str, ...] = (),
             successor: str | None = None, body: str | None = None
             ) -> Callable[[Callable[..., object]], RouteCallable]:
    """`spec.validate`, with our 422 and the problem document for every error status. The
    view it wraps returns a schema (or one and a status); what it makes is a route, which
    answers with that schema as JSON.

    `successor` (a path such as `/api/v1/trials/{trial_id}/usage`, its placeholders named
    as the route's own) marks the call deprecated in favour of it; `body` is the media type
    of a body that is not JSON (read by the view itself), so that the document shows it."""
    decorator = spec.validate(
        query=query, json=json, resp=Responses(**{**ERRORS, **(resp or {})}), before=_refuse,
        tags=list(tags), deprecated=successor is not None)

    def decorate(view: Callable[..., object]) -> RouteCallable:
        route: RouteCallable = decorator(view)
        # Read back by `document` and `deprecation_headers`; functools.wraps copies them
        # onto the decorators above this one (`key_required`).
        setattr(route, SUCCESSOR, successor)
        setattr(route, BODY_MEDIA, body)
        return route

    return decorate


def successor_values(**values: object) -> None:
    """Placeholders of this request's successor link that are not in its path: the old
    `/api/scores?email=` knows the contact's id only once it has found them."""
    g.successor_values = values


def deprecation_headers(response: Response) -> Response:
    """Every answer of a deprecated call, refusals included, says so (RFC 9745) and links
    to the call that replaces it (RFC 8288 `successor-version`), once its placeholders are
    known."""
    view = current_app.view_functions.get(request.endpoint or "")
    template: str | None = getattr(view, SUCCESSOR, None)
    if template is None:
        return response
    response.headers["Deprecation"] = KEY_DEPRECATED
    values = {**(request.view_args or {}), **g.get("successor_values", {})}
    names = [name for _, name, _, _ in string.Formatter().parse(template) if name]
    if all(name in values for name in names):
        response.headers["Link"] = f'<{template.format(**values)}>; rel="successor-version"'
    return response


def document(app: Flask) -> dict[str, Any]:
    """The OpenAPI 3.1 document of `app`'s API, built on first use and kept by the app.

    spectree builds its own once per process (`spec.spec`, which must not be rebuilt: the
    nested schemas are lifted out of its models the first time); every app has the same
    routes, so each keeps a completed copy of it."""
    published: dict[str, Any] | None = app.extensions.get(DOCUMENT)
    if published is None:
        with app.app_context():
            published = _completed(app, copy.deepcopy(spec.spec))
        app.extensions[DOCUMENT] = published
    return published


def _completed(app: Flask, doc: dict[str, Any]) -> dict[str, Any]:
    """What spectree does not know: the problem document's media type, ids as BIGINTs,
    deprecated calls' successors and bodies that are not JSON."""
    for rule in app.url_map.iter_rules():
        view = app.view_functions.get(rule.endpoint)
        path = spec.backend.parse_path(rule, None)[0]
        for method, operation in doc["paths"].get(path, {}).items():
            if method.upper() not in (rule.methods or ()):
                continue
            if (successor := getattr(view, SUCCESSOR, None)) is not None:
                operation["description"] = (
                    f"Deprecated: use `{successor}` instead; every answer carries a "
                    f"`Deprecation` header and a `successor-version` link.\n\n"
                    f"{operation.get('description', '')}").strip()
            if (media := getattr(view, BODY_MEDIA, None)) is not None:
                operation["requestBody"] = {"required": True, "content": {
                    media: {"schema": {"type": "string", "format": "binary"}}}}
    for operations in doc["paths"].values():
        for operation in operations.values():
            for parameter in operation.get("parameters", []):
                if parameter.get("in") == "path" and parameter["schema"].get("type") == \
                        "integer":
                    parameter["schema"] = {"type": "integer", "format": "int64",
                                           "minimum": 0, "maximum": BIGINT_MAX}
            for answer in operation.get("responses", {}).values():
                content = answer.get("content", {})
                schema = content.get("application/json", {}).get("schema", {})
                if schema.get("$ref", "").startswith("#/components/schemas/Problem."):
                    answer["content"] = {MEDIA_TYPE: content.pop("application/json")}
    return doc
