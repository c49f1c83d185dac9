"""`/api/v1/bounces` and `/api/v1/inbound`: what comes back from the mail system.

The same calls as the deprecated `/api/bounces` and `/api/inbound` (`web/api.py`), which
answer exactly as these do: an email provider's bounce and complaint webhook, and one raw
email that a relay received for the unsubscribe or bounce address (docs/delivery.md).
"""

from __future__ import annotations

from web.api import bounces_recorded, inbound_handled
from web.api_auth import token_required
from web.api_v1.blueprint import bp
from web.openapi import validate
from web.problems import Problem
from web.schemas import BouncesIn, BouncesRecorded, InboundHandled


@bp.post("/bounces")
@token_required()
@validate(json=BouncesIn, resp={"HTTP_202": BouncesRecorded}, tags=("bounces",))
def post_bounces(json: BouncesIn):
    """Bounces and complaints from an email provider's webhook: one event (its fields at
    the top level), or up to 1,000 under `events`. Hard bounces and complaints suppress the
    address at once."""
    return bounces_recorded()


@bp.post("/inbound")
@token_required()
@validate(resp={"HTTP_200": InboundHandled, "HTTP_413": Problem, "HTTP_415": Problem},
          tags=("inbound",), body="message/rfc822")
def post_inbound():
    """One raw email (`Content-Type: message/rfc822`, at most 10 MB) that a relay received
    for the unsubscribe address or a bounce address: unsubscribes, bounces and complaints
    are applied at once, anything else is kept for a person."""
    return inbound_handled()
