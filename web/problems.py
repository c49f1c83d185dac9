"""Every API error is an RFC 9457 problem document; every other error is a styled page.

A problem document is `application/problem+json` with `type`, `title`, `status`, `detail`
(a sentence) and `errors`: each with the field's path and a sentence. `type` is `about:blank`
when the HTTP status says it all (401, 404, 405, 413, 429 ...), else one of ours, listed in
docs/api.md. Everything under `/api/` answers this way, whichever part of the app fails.

Elsewhere an HTTP error that no view or blueprint answered itself (a 404 of the router, as
for `/journeys` or `/l/..%2f..`, which fail before any view runs; a 405; an `abort(404)`)
is the styled page with a sentence and a way back: the user's start page when signed in,
the sign-in page otherwise.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping

from flask import Flask, Response, g, render_template, request
from flask_wtf.csrf import CSRFError
from pydantic import BaseModel, ConfigDict, Field
from werkzeug.exceptions import HTTPException
from werkzeug.http import HTTP_STATUS_CODES

from web.auth import home_for

log = logging.getLogger(__name__)
MEDIA_TYPE = "application/problem+json"
API_PREFIX = "/api/"

# Our problem types; each is described in docs/api.md.
INVALID = "urn:nurture:problem:invalid-request"  # 422: the body or query breaks its schema
UNREADABLE = "urn:nurture:problem:unreadable-request"  # 400: not JSON, too deep, ...
UNSTORABLE = "urn:nurture:problem:unstorable-text"  # 422: NUL or an unpaired surrogate
BUSY = "urn:nurture:problem:busy"  # 503: the database is busy or out of reach

SENTENCES = {
    401: "A valid API key is required (Authorization: Bearer ...).",
    404: "There is nothing at this address.",
    405: "This address does not accept this method.",
    413: "The request is larger than any call of this API needs (at most 1 MB).",
    429: "There have been too many requests; please wait a minute and try again.",
    500: "Something went wrong on our side, so nothing was saved; please try again later.",
}
# The same for a person: a heading and a sentence that says what to do.
PAGES = {
    400: ("The request could not be read", "The request could not be read; please go back, "
          "reload the page and try again."),
    403: ("You cannot open this page", "You may not open this page. Ask an admin if you "
          "need it."),
    404: ("Page not found", "There is no page at this address: the link may be mistyped, "
          "or the page may have moved."),
    405: ("This page cannot do that", "This address does not accept this kind of request; "
          "please go back and use the page's own links and buttons."),
    413: ("Too large", "What was sent is larger than this page accepts (at most 1 MB)."),
    429: ("Too many requests", "There have been too many requests; please wait a minute "
          "and try again."),
    500: ("Something went wrong", "Something went wrong on our side, so nothing was saved; "
          "please try again later."),
}
EXPIRED = ("The form had expired or was sent from another site, so nothing was saved. "
           "Please go back, reload the page and try again.")


class FieldError(BaseModel):
    """One field that is not acceptable: where it is and why, as a sentence."""

    field: str = Field(description="The field's path, like `properties.company_size`; "
                                   "`(body)` for the whole body.")
    detail: str


class Problem(BaseModel):
    """An RFC 9457 problem document (`application/problem+json`)."""

    model_config = ConfigDict(extra="forbid")

    type: str = "about:blank"
    title: str
    status: int
    detail: str
    errors: list[FieldError] = Field(default_factory=list)


def is_api() -> bool:
    return request.path.startswith(API_PREFIX)


def problem(status: int, detail: str, errors: Iterable[tuple[str, str]] = (),
            type_: str = "about:blank", title: str | None = None,
            headers: Mapping[str, str] | None = None) -> Response:
    """The problem document response."""
    document = Problem(type=type_, title=title or HTTP_STATUS_CODES.get(status, "Error"),
                       status=status, detail=detail,
                       errors=[FieldError(field=f, detail=d) for f, d in errors])
    return Response(document.model_dump_json(), status, headers=dict(headers or {}),
                    mimetype=MEDIA_TYPE)


def page(status: int, title: str, message: str,
         headers: Mapping[str, str] | None = None) -> Response:
    """The styled page that says the same to a person in a browser, with a way back."""
    user = g.get("user")
    back, label = ((home_for(user), "Go to your start page") if user is not None
                   else ("/login", "Go to the sign-in page"))
    return Response(render_template("problem.html", title=title, message=message,
                                    back=back, back_label=label),
                    status, headers=dict(headers or {}))


def init_app(app: Flask) -> None:
    """Under /api/, every HTTP error (ours and Flask's: 404, 405, 413, a limiter's 429, an
    unexpected 500) becomes a problem document; elsewhere, the styled page. A blueprint's
    own handler (a form's expired CSRF token, a landing page's 413) answers first, and an
    error that carries its own response keeps it."""

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):
        if exc.code is None or exc.code < 400 or exc.response is not None:
            return exc
        if exc.code >= 500:
            log.error("%s %s answered %s", request.method, request.path, exc.code)
        headers = {k: v for k, v in exc.get_headers() if k.lower() != "content-type"}
        if not is_api():
            title, sentence = PAGES.get(exc.code) or (
                HTTP_STATUS_CODES.get(exc.code, "Error"),
                _sentence(exc.description) or f"The request failed ({exc.code}).")
            if isinstance(exc, CSRFError):
                title, sentence = "Please try again", EXPIRED
            return page(exc.code, title, sentence, headers)
        sentence = SENTENCES.get(exc.code) or _sentence(exc.description) or \
            f"The request failed ({exc.code})."
        return problem(exc.code, sentence, headers=headers)


def _sentence(text: str | None) -> str:
    text = (text or "").strip()
    return text if text.endswith((".", "!", "?")) else ""
