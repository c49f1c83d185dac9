"""The API's one OpenAPI document, and the decorator that validates every API call by it.

`spec` owns the document: each API view is decorated with `@validate(query=..., json=...,
resp=...)` and pydantic v2 models (`web/schemas.py`), so the schema that refuses a request
is the one that is published. A request that breaks it answers 422 with a problem document
listing every field and why; nothing is stored. `spec.spec` is the document (built from the
app's routes, inside an app context); publishing it is one route that returns it.

Why spectree (and not flask-openapi3): see docs/api.md.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import abort
from flask.typing import RouteCallable
from pydantic import ValidationError
from spectree import Response as Responses
from spectree import SecurityScheme, SecuritySchemeData, SpecTree
from spectree.models import SecureType

from nurture.violations import from_pydantic
from web.problems import INVALID, Problem, problem

spec = SpecTree(
    "flask", title="Nurture API", version="1", path="apidoc", mode="strict",
    description="Record events, report trial usage and bounces, read scores and NPS. "
                "Every error is an RFC 9457 problem document.",
    security_schemes=[SecurityScheme(name="api_key",
                                     data=SecuritySchemeData(type=SecureType.HTTP,
                                                               scheme="bearer"))],
    security={"api_key": []},
    validation_error_model=Problem,
)

ERRORS = {f"HTTP_{code}": Problem for code in (400, 401, 404, 422)}


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
             resp: dict[str, type | None] | None = None, tags: tuple[str, ...] = ()
             ) -> Callable[[Callable[..., object]], RouteCallable]:
    """`spec.validate`, with our 422 and the problem document for every error status. The
    view it wraps returns a schema (or one and a status); what it makes is a route, which
    answers with that schema as JSON."""
    decorator: Callable[[Callable[..., object]], RouteCallable] = spec.validate(
        query=query, json=json, resp=Responses(**{**ERRORS, **(resp or {})}), before=_refuse,
        tags=list(tags))
    return decorator
