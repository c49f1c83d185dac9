"""`Idempotency-Key` on the POSTs that create something: a retry never creates twice.

A client that timed out on `POST /api/v1/contacts` cannot know whether the contact was
made; with `Idempotency-Key: <a UUID>` it can send the same request again and get the first
answer back (with `Idempotent-Replayed: true`), and nothing new is made. The keys, their
rules (24 hours, 409 while the first runs, 422 for another request under the same key) and
their storage are `nurture.idempotency.services`; this is the decorator:

    @bp.post("/contacts")
    @token_required()
    @idempotent
    @validate(json=ContactIn, resp={"HTTP_201": ContactOut}, tags=("contacts",))
    def create_contact(json: ContactIn): ...

Without the header a POST runs as usual. An answer of 5xx, or an exception, releases the
key so that a retry runs again.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from flask import Response, current_app, g, make_response, request
from flask.typing import ResponseReturnValue

from nurture.idempotency import services
from nurture.idempotency.services import HEADER, Answer

REPLAYED = "Idempotent-Replayed"


def _owner() -> str:
    bearer = g.get("api_bearer")
    return f"token:{bearer.token_id}" if bearer is not None and bearer.token_id else "key"


def idempotent(view: Callable[..., Any]) -> Callable[..., ResponseReturnValue]:
    """Replay the first answer to a request repeated with the same `Idempotency-Key`."""

    @functools.wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> ResponseReturnValue:
        key = request.headers.get(HEADER)
        if key is None:
            return view(*args, **kwargs)
        rt = current_app.extensions["nurture"]
        owner = _owner()
        fingerprint = services.digest(request.method, request.path,
                                      request.query_string, request.get_data(cache=True))
        with rt.db.transaction() as session:
            stored = services.claim(session, owner, key, fingerprint, rt.clock.now())
        if stored is not None:
            replay = Response(stored.body, stored.status, content_type=stored.content_type)
            if stored.location:
                replay.headers["Location"] = stored.location
            replay.headers[REPLAYED] = "true"
            return replay
        try:
            response = make_response(view(*args, **kwargs))
        except BaseException:
            with rt.db.transaction() as session:
                services.release(session, owner, key)
            raise
        with rt.db.transaction() as session:
            if response.status_code >= 500:
                services.release(session, owner, key)
            else:
                services.answer(session, owner, key, Answer(
                    response.status_code, response.content_type or "application/json",
                    response.get_data(), response.headers.get("Location")))
        return response

    return wrapped
