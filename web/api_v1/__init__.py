"""The versioned JSON API, `/api/v1/`: one module per resource, all on one blueprint.

Conventions (docs/api.md): a token with read scope for GET and write for the rest
(`web.api_auth.token_required`); bodies and queries are pydantic models (`web.schemas` and the
resource's own), validated and documented by `web.openapi.validate`; lists page with opaque
cursors (`paging`); POSTs that create take an `Idempotency-Key` (`idempotent`); single
resources carry an ETag (`etags`). Errors are RFC 9457 problem documents.
"""

from web.api_v1 import (
    broadcasts,
    contacts,
    contacts_bulk,
    events,
    handoffs,
    journeys,
    lists,
    mail,
    nps,
    referral,
    segments,
    trials,
    webhooks,
)
from web.api_v1.blueprint import bp

__all__ = ["bp", "broadcasts", "contacts", "contacts_bulk", "events", "handoffs", "journeys",
           "lists", "mail", "nps", "referral", "segments", "trials", "webhooks"]
