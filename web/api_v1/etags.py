"""ETags for single resources: a cheap re-read, and an update that cannot overwrite blindly.

The tag is a digest of the JSON body, so it changes exactly when the answer would. A GET
with `If-None-Match` holding the current tag answers 304 with no body; a PATCH (or any write)
with `If-Match` that no longer holds it answers 412 and changes nothing (RFC 9110 §13.1):
another client changed the resource since this one read it.
"""

from __future__ import annotations

import hashlib

from flask import Response, request
from pydantic import BaseModel

from web.problems import problem


def etag_of(model: BaseModel) -> str:
    return hashlib.sha256(model.model_dump_json().encode()).hexdigest()[:32]


def tagged(model: BaseModel, status: int = 200) -> Response:
    """The answer with its ETag, or 304 when the client's copy is current."""
    tag = etag_of(model)
    if status == 200 and request.if_none_match.contains_weak(tag):
        answer = Response(status=304)
    else:
        answer = Response(model.model_dump_json(), status, mimetype="application/json")
    answer.set_etag(tag)
    return answer


def precondition_failed(current: BaseModel) -> Response | None:
    """A 412 problem document when `If-Match` names another version than `current`."""
    if not request.if_match or request.if_match.star_tag:
        return None
    if request.if_match.contains(etag_of(current)):
        return None
    return problem(412, "This resource changed since you read it (its ETag no longer "
                        "matches If-Match), so nothing was changed; read it again and retry.",
                   headers={"ETag": f'"{etag_of(current)}"'})
