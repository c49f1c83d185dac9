"""The API's published description: `GET /api/openapi.json`, the OpenAPI 3.1 document
generated from the views' schemas (`web.openapi.document`), and `GET /api/docs`, the
reference page that Redoc draws from it in the browser.

Both are public: they say what the API accepts and answers, never what it holds. Redoc is
served from our own static files (`web/static/vendor/redoc/`), never a CDN; it styles its
page with inline styles and runs its search in a worker made from a blob, so that page alone
gets a Content-Security-Policy that allows those two things and nothing else beyond the
app's own.

This blueprint also installs `web.openapi.deprecation_headers` for the whole app: the
`Deprecation` and successor `Link` headers on every answer of a call the document marks
deprecated.
"""

from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify, render_template

from web.openapi import deprecation_headers, document

bp = Blueprint("api_docs", __name__, url_prefix="/api")
bp.after_app_request(deprecation_headers)

REDOC_POLICY = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
                "img-src 'self' data:; worker-src blob:; object-src 'none'; base-uri 'none'; "
                "form-action 'none'; frame-ancestors 'self'")


@bp.get("/openapi.json")
def openapi_document() -> Response:
    """The document, as JSON: every call, its body, query and answers, errors included."""
    return jsonify(document(current_app._get_current_object()))  # type: ignore[attr-defined]


@bp.get("/docs")
def reference() -> Response:
    """The reference page: Redoc reads `/api/openapi.json` and draws it."""
    response = Response(render_template("api_docs.html"))
    response.headers["Content-Security-Policy"] = REDOC_POLICY
    return response
