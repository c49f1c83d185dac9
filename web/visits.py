"""Page visits on the customer's own website (docs/visits.md): the tracking script they
paste into their pages, and `POST /api/v1/visits`, where it reports each page viewed.

The endpoint has no API key: it is called by browsers, from the pages of the sites that
NURTURE_VISIT_ORIGINS lists, and the signed visitor id in the body is the authority. Any
other origin gets a 403 and no CORS header, so that its pages cannot even read the answer.
A visit is kept only for a contact who agreed to marketing and is not suppressed, and never
when the browser asks not to be tracked (Do Not Track, Global Privacy Control): those are
answered 204 as well, so a site learns nothing of a contact's consent, and counted.
"""

from __future__ import annotations

import hashlib
import logging
from collections import Counter
from pathlib import Path
from typing import Any

from flask import Blueprint, Flask, Response, current_app, request
from flask.blueprints import BlueprintSetupState
from flask_limiter import Limiter
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from werkzeug.exceptions import BadRequest

from nurture.app.runtime import Runtime
from nurture.text import MAX_DEPTH, depth, text_problem
from nurture.tokens import TokenError
from nurture.violations import from_pydantic
from nurture.visits.pages import TITLE_MAX, URL_MAX, origin
from nurture.visits.services import Visit, record_visits
from web.problems import INVALID, UNREADABLE, problem

bp = Blueprint("visits", __name__)
log = logging.getLogger(__name__)
SCRIPT = Path(__file__).parent / "static" / "track" / "nurture.js"
COLLECT = "/api/v1/visits"
DO_NOT_TRACK = "do-not-track"
REFUSED_ORIGIN = ("This site may not report visits: its origin is not listed in "
                  "NURTURE_VISIT_ORIGINS.")


class VisitIn(BaseModel):
    """One page view, as the tracking script reports it."""

    model_config = ConfigDict(extra="ignore")  # a newer script's extra fields do no harm

    visitor: str = Field(min_length=1, max_length=500,
                         description="The signed visitor id an email click carried (`nv`).")
    url: str = Field(min_length=1, max_length=URL_MAX, description="The page's address.")
    title: str = Field("", max_length=1000, description="The page's title.")
    referrer: str = Field("", max_length=URL_MAX)

    @field_validator("visitor", "url", "title", "referrer")
    @classmethod
    def storable(cls, value: str) -> str:
        if (sentence := text_problem(value)) is not None:
            raise ValueError(sentence)
        return value

    @field_validator("url")
    @classmethod
    def web_page(cls, value: str) -> str:
        if origin(value) is None:
            raise ValueError("The page's address must be an http:// or https:// address.")
        return value


def _rt() -> Runtime:
    return current_app.extensions["nurture"]


def allowed_origins() -> frozenset[str]:
    """The listed sites, and Nurture's own pages (its landing pages may carry the script)."""
    settings = _rt().settings
    own = origin(settings.base_url)
    return frozenset((*settings.web.visit_origins, *((own,) if own else ())))


def _allowed() -> str | None:
    """The request's origin when it may report visits, else None."""
    given = (request.headers.get("Origin") or "").lower()
    return given if given in allowed_origins() else None


def outcomes() -> Counter[str]:
    """Visits by outcome since this process started: recorded, no-consent, suppressed,
    unknown, do-not-track."""
    return current_app.extensions.setdefault("visit_outcomes", Counter())


@bp.get("/t.js")
def script() -> Response:
    """The tracking script (written by hand, no framework; docs/visits.md)."""
    response = Response(SCRIPT.read_bytes(), 200, mimetype="text/javascript")
    response.headers["Cache-Control"] = "public, max-age=3600"
    # Loaded by the customer's pages with <script src>: it must not be blocked cross-site.
    response.headers["Cross-Origin-Resource-Policy"] = "cross-origin"
    return response


@bp.route(COLLECT, methods=["OPTIONS"], provide_automatic_options=False)
def preflight() -> Response:
    """The browser's CORS preflight: only the listed origins are told they may POST."""
    if _allowed() is None:
        return problem(403, REFUSED_ORIGIN)
    response = Response(status=204)
    response.headers["Access-Control-Allow-Methods"] = "POST"
    response.headers["Access-Control-Allow-Headers"] = "Content-Type"
    response.headers["Access-Control-Max-Age"] = "7200"  # Chrome's most
    return response


@bp.route(COLLECT, methods=["POST"], provide_automatic_options=False)
def collect() -> Response:
    """One page view: 204 whether it was recorded or dropped; a problem document when the
    request is bad (400 unreadable or a bad visitor id, 403 origin, 422 invalid, 429)."""
    if _allowed() is None:
        return problem(403, REFUSED_ORIGIN)
    if request.headers.get("DNT") == "1" or request.headers.get("Sec-GPC") == "1":
        outcomes()[DO_NOT_TRACK] += 1  # the script sends nothing then; an old one might
        return Response(status=204)
    body = _body()
    if isinstance(body, Response):
        return body
    try:
        visit = VisitIn.model_validate(body)
    except ValidationError as exc:
        found = from_pydantic(exc)
        return problem(422, found[0].sentence() if found else "The visit is not valid.",
                       [(v.field, v.message) for v in found], INVALID,
                       "The request is not valid")
    contact_id = _visitor(visit.visitor)
    if isinstance(contact_id, Response):
        return contact_id
    if origin(visit.url) != _allowed():
        return problem(422, "A site may only report visits of its own pages.",
                       [("url", "The page is not on the site that reports it.")], INVALID,
                       "The request is not valid")
    counted = record_visits(_rt(), [Visit(contact_id, visit.url, visit.title[:TITLE_MAX],
                                          visit.referrer)])
    outcomes().update(counted)
    return Response(status=204)


def _body() -> Any:
    """The JSON body, or the 400 that answers a body that is not JSON."""
    unreadable = "The request body must be JSON, sent with Content-Type: application/json."
    if not request.is_json:
        return problem(400, unreadable, [("(body)", unreadable)], UNREADABLE)
    try:
        value = request.get_json()
    except (BadRequest, RecursionError):
        return problem(400, "The request body is not valid JSON.", [], UNREADABLE)
    if depth(value) > MAX_DEPTH:
        return problem(400, f"The JSON body is nested more than {MAX_DEPTH} levels deep.",
                       [], UNREADABLE)
    return value


def _visitor(token: str) -> int | Response:
    """The contact a visitor id names, or the 400 for a forged, expired or foreign one."""
    try:
        contact_id = _rt().tokens.load("visitor", token)
    except TokenError as exc:
        sentence = ("The visitor id has expired." if "expired" in str(exc)
                    else "The visitor id is not valid.")
        return problem(400, sentence, [("visitor", sentence)], INVALID, "Bad visitor id")
    if type(contact_id) is not int:
        return problem(400, "The visitor id is not valid.", [], INVALID, "Bad visitor id")
    return contact_id


@bp.after_request
def cors(response: Response) -> Response:
    """Every answer to a listed origin carries its CORS headers (errors too, so that the
    script can read them); any other origin gets none."""
    if request.path == COLLECT and (allowed := _allowed()) is not None:
        response.headers["Access-Control-Allow-Origin"] = allowed
        response.headers.add("Vary", "Origin")
    return response


def _visitor_key() -> str:
    """Whose visits count together: the visitor id's hash, else the client's address."""
    body = request.get_json(silent=True) if request.is_json else None
    token = body.get("visitor") if isinstance(body, dict) else None
    if isinstance(token, str) and token:
        return hashlib.sha256(token.encode()).hexdigest()[:32]
    return request.remote_addr or "unknown"


@bp.record_once
def _setup(state: BlueprintSetupState) -> None:
    app, rt = state.app, state.app.extensions["nurture"]
    assert isinstance(app, Flask)  # blueprints are registered on Flask apps only
    app.config.setdefault("VISIT_RATE_LIMIT", rt.settings.web.visit_rate_limit)
    limiter = Limiter(_visitor_key, storage_uri=rt.settings.redis_url or "memory://",
                      key_prefix=f"{rt.settings.queue_namespace}:visits", swallow_errors=True)
    limiter.init_app(app)
    limiter.limit(lambda: current_app.config["VISIT_RATE_LIMIT"], methods=["POST"],
                  exempt_when=lambda: not current_app.config.get("RATELIMIT_ENABLED", True)
                  )(bp)
