"""`POST /api/v1/contacts/bulk`: upsert 1 to 1,000 contacts in one call, answered item by
item.

Each item is checked on its own, first by its schema (`ContactIn`) and then by the
console's rules (`nurture.contacts.upserts`): a bad item is reported with every reason and
the good ones are written, set-based, one transaction per 500. The answer is 200 whenever
the call itself could be read, with a result per item (`created`, `updated` or `error`) and
the counts; a client checks `failed`, not the status.
"""

from __future__ import annotations

from typing import Any

from flask import current_app
from pydantic import ValidationError

from nurture.contacts import upserts
from nurture.violations import Violation, from_pydantic
from web.api_auth import token_required
from web.api_v1.blueprint import bp
from web.api_v1.caller import acting_as
from web.api_v1.contacts_schemas import (
    ContactIn,
    ContactItemError,
    ContactItemResult,
    ContactsBulkIn,
    ContactsBulkOut,
)
from web.api_v1.idempotent import idempotent
from web.openapi import validate
from web.problems import Problem


def _errors(found: tuple[Violation, ...] | list[Violation]) -> list[ContactItemError]:
    return [ContactItemError(field=v.field or "(item)", detail=v.message) for v in found]


@bp.post("/contacts/bulk")
@token_required()
@idempotent
@validate(json=ContactsBulkIn, resp={"HTTP_200": ContactsBulkOut, "HTTP_403": Problem},
          tags=("contacts",))
def bulk_contacts(json: ContactsBulkIn):
    """Create or update up to 1,000 contacts by address, each as `POST
    /api/v1/contacts/upsert` would; a bad item does not stop the others. Send an
    `Idempotency-Key` to make a retry safe."""
    results: dict[int, ContactItemResult] = {}
    good: list[dict[str, Any]] = []
    at: list[int] = []
    for index, item in enumerate(json.items):
        try:
            given = ContactIn.model_validate(item)
        except ValidationError as exc:
            results[index] = ContactItemResult(index=index, status="error", id=None,
                                               errors=_errors(from_pydantic(exc)))
        else:
            good.append(given.model_dump(exclude_unset=True))
            at.append(index)
    outcomes = upserts.bulk(current_app.extensions["nurture"], good, acting_as())
    for index, outcome in zip(at, outcomes, strict=True):
        results[index] = ContactItemResult(index=index, status=outcome.status,
                                           id=outcome.id, errors=_errors(outcome.errors))
    ordered = [results[i] for i in range(len(json.items))]
    return ContactsBulkOut(
        created=sum(r.status == "created" for r in ordered),
        updated=sum(r.status == "updated" for r in ordered),
        failed=sum(r.status == "error" for r in ordered), results=ordered)
