"""Who calls the JSON API, what they may do, and how often.

`Authorization: Bearer <token>` carries a user's API token (`nurture.apitokens`), which acts
as its user with its scope, capped by the user's role (`nurture.apitokens.scopes.may`).
`NURTURE_API_KEY` still works as an admin token; its answers carry a `Deprecation` header.

Each token (and the shared key) has its own fixed-window limit (`NURTURE_API_RATE_LIMIT`),
counted with the `limits` library flask-limiter stands on: in Redis when one is configured,
so that every web worker counts together, else in this process. Over it: a 429 problem
document with `Retry-After`. `RATELIMIT_ENABLED=False` turns it off, as for sign-ins.
"""

from __future__ import annotations

import functools
import hmac
import math
import time
from collections.abc import Callable
from typing import Any

from flask import Flask, current_app, g, make_response, request
from flask.typing import ResponseReturnValue
from limits import parse_many
from limits.storage import storage_from_string
from limits.strategies import FixedWindowRateLimiter

from nurture.apitokens import services
from nurture.apitokens.errors import Unauthenticated
from nurture.apitokens.scopes import effective_scope, may
from nurture.apitokens.services import Bearer
from web.problems import problem

NO_KEY = "A valid API token is required (Authorization: Bearer ...)."
# RFC 9745: the shared key has been deprecated since this moment (2026-12-07 UTC).
KEY_DEPRECATED = "@1796601600"
LIMITER = "api_limiter"
API_KEY_BEARER = Bearer(token_id=0, user_id=0, role="admin", scope="admin")


def _limiter(app: Flask) -> FixedWindowRateLimiter:
    limiter = app.extensions.get(LIMITER)
    if limiter is None:
        settings = app.extensions["nurture"].settings
        storage = storage_from_string(settings.redis_url or "memory://")
        limiter = app.extensions[LIMITER] = FixedWindowRateLimiter(storage)
    return limiter


def _over_limit(key: str) -> int | None:
    """Seconds to wait when this request is over the caller's limit; None when it may go."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    if not app.config.get("RATELIMIT_ENABLED", True):
        return None
    settings = app.extensions["nurture"].settings
    limiter = _limiter(app)
    name = f"{settings.queue_namespace}:api:{key}"
    try:
        for item in parse_many(app.config.get("API_RATE_LIMIT", settings.web.api_rate_limit)):
            if not limiter.hit(item, name):
                reset = limiter.get_window_stats(item, name).reset_time
                return max(1, math.ceil(reset - time.time()))
    except Exception:  # a Redis outage must not stop the API: it fails open
        current_app.logger.warning("The API rate limit could not be counted.", exc_info=True)
    return None


def authorized() -> bool:
    """The request carries a valid token or the API key (checked once per request)."""
    return _bearer()[0] is not None


def _bearer() -> tuple[Bearer | None, bool]:
    """The caller and whether they used the deprecated shared key; looked up once per
    request, since the input checks (`web/inputs.py`) ask before the view does."""
    if "api_caller" not in g:
        g.api_caller = _lookup()
    return g.api_caller


def _lookup() -> tuple[Bearer | None, bool]:
    rt = current_app.extensions["nurture"]
    given = request.headers.get("Authorization", "")
    if not given.startswith("Bearer "):
        return None, False
    given = given.removeprefix("Bearer ").strip()
    if given.startswith("nt_"):
        try:
            with rt.db.transaction() as session:
                return services.verify(session, given, now=rt.clock.now()), False
        except Unauthenticated:
            return None, False
    key = rt.settings.api_key or ""
    if key and hmac.compare_digest(given.encode(), key.encode()):
        return API_KEY_BEARER, True
    return None, False


def _scope_refusal(bearer: Bearer, needed: str) -> str:
    acting = effective_scope(bearer.scope, bearer.role)
    if acting != bearer.scope:
        return (f"This token has {bearer.scope} scope, but its user is a {bearer.role} user, "
                f"who acts with {acting} scope at most; this needs {needed} scope.")
    return f"This token has {bearer.scope} scope; this needs {needed} scope."


def token_required(scope: str | None = None) -> Callable[[Callable], Callable]:
    """A view decorator: a valid token with `scope` (default: read for GET, write for the
    rest), under its limit. Refusals come before the body or query is looked at."""

    def decorator(view: Callable) -> Callable:
        @functools.wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> ResponseReturnValue:
            needed = scope or ("read" if request.method in ("GET", "HEAD") else "write")
            bearer, deprecated = _bearer()
            if bearer is None:
                return problem(401, NO_KEY, headers={"WWW-Authenticate": "Bearer"})
            if not may(bearer.scope, bearer.role, needed):
                return problem(403, _scope_refusal(bearer, needed))
            wait = _over_limit(f"token:{bearer.token_id}" if bearer.token_id else "key")
            if wait is not None:
                return problem(429, "This token has made too many requests; please wait "
                               f"{wait} second{'s' if wait != 1 else ''} and try again.",
                               headers={"Retry-After": str(wait)})
            g.api_bearer = bearer
            response = make_response(view(*args, **kwargs))
            if deprecated:
                response.headers["Deprecation"] = KEY_DEPRECATED
            return response
        return wrapped
    return decorator


# The existing endpoints' decorator: read for GET, write for POST.
key_required = token_required()
