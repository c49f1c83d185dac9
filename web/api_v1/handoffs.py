"""`/api/v1/handoffs`: the sales inbox over the API: list and read hand-offs, accept one,
send it back to nurture with a reason, mark its deal won or lost.

Exactly the inbox's rules, by its services (`scoring.services`, `scoring.sales`,
`scoring.access`): a sales rep reaches their own leads and the unassigned queue, and any
other id is the same 404 as one that does not exist (so that an id does not tell a rep
whether another rep's lead exists); marketers and admins reach every one. A hand-off in a
state that forbids the step (already closed) is a 409 sentence; a missing reason, or a deal
closed before it was accepted, a 422.

Who may act: the inbox's actions are the only changes a sales user makes in the console,
so a token acts on hand-offs when it was made with write (or admin) scope, whatever its
user's role caps it at elsewhere (`nurture.apitokens.scopes`: a sales user's token only
reads the rest of the API). A read-scope token is refused with 403. The shared API key acts
for nobody, and a hand-off is accepted by a person: it reads, and is refused the actions.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Literal, cast

from flask import current_app, g
from pydantic import Field, StrictStr, model_validator

from nurture.app.runtime import Runtime
from nurture.errors import Forbidden, Invalid
from nurture.violations import Violation
from scoring import services
from scoring.access import Viewer
from scoring.errors import HandoffNotFound
from scoring.queries import HandoffView, handoff_view, handoffs_page
from scoring.sales import MAX_AMOUNT, NO_SUCH, REASON_MAX, REJECT_REASONS
from web.api_auth import token_required
from web.api_v1.blueprint import bp
from web.api_v1.caller import acting_user
from web.api_v1.etags import tagged
from web.api_v1.idempotent import idempotent
from web.api_v1.paging import PageBase, PageQuery, page_of, start_after
from web.openapi import validate
from web.problems import Problem
from web.schemas import Closed

TAGS = ("handoffs",)
STATUS = Literal["open", "accepted", "rejected", "won", "lost"]
ACTING = ("write", "admin")
Detail = Annotated[StrictStr, Field(max_length=REASON_MAX)]


class HandoffReasonOut(Closed):
    """One scoring rule's part in the score when the lead was handed off."""

    rule: str
    label: str
    kind: str
    points: float
    events: int


class HandoffNoteOut(Closed):
    at: datetime
    action: str = Field(description="created, assigned, reminded, accepted, rejected, won, "
                                    "lost ...")
    note: str
    by: str | None = Field(description="The user's address; null for Nurture itself.")


class HandoffOut(Closed):
    id: int
    contact_id: int
    email: str
    status: STATUS
    trigger: str = Field(description="score, hand_raiser, journey or manual.")
    reason: str = Field(description="Why the lead was handed off.")
    score: int
    grade: str
    priority: int
    owner: str | None = Field(description="The rep's address; null in the unassigned queue.")
    escalations: int
    created_at: datetime
    due_at: datetime | None = Field(description="When the SLA runs out, while it is open.")
    accepted_at: datetime | None
    closed_at: datetime | None
    outcome_reason: str
    reasons: list[HandoffReasonOut] | None = Field(None, description=(
        "The score's explanation at hand-off (on a single hand-off; null in lists)."))
    notes: list[HandoffNoteOut] | None = Field(None, description=(
        "Its audit trail, oldest first (on a single hand-off; null in lists)."))


class HandoffPage(PageBase):
    data: list[HandoffOut]


class HandoffQuery(PageQuery):
    status: Literal["open", "accepted", "rejected", "won", "lost", "in"] | None = Field(
        None, description="Only hand-offs in this status; `in`: open or accepted.")
    owner: Annotated[StrictStr, Field(min_length=2, max_length=320)] | None = Field(
        None, description="`me`, `none` (the unassigned queue) or a rep's address.")


class RejectIn(Closed):
    reason: Literal[tuple(REJECT_REASONS)] = Field(description=(  # type: ignore[valid-type]
        "Why the lead goes back to nurture: " + ", ".join(REJECT_REASONS) + "."))
    detail: Detail = Field("", description="In a few words; required with `other`.")


class CloseIn(Closed):
    outcome: Literal["won", "lost"]
    amount: float | None = Field(None, ge=0, le=MAX_AMOUNT, allow_inf_nan=False,
                                 description="The deal's amount, for a won deal.")
    detail: Detail = Field("", description="A note on the outcome.")

    @model_validator(mode="after")
    def _amount_when_won(self) -> CloseIn:
        if self.amount is not None and self.outcome != "won":
            raise ValueError("An amount is only given for a won deal.")
        return self


class AcceptIn(Closed):
    """Nothing to say: send `{}` (every API body is JSON)."""


@dataclass
class _SharedKey:
    """The shared API key, as the access rules see it: an admin without a user."""

    id: int = 0
    role: str = "admin"


def _rt() -> Runtime:
    runtime: Runtime = current_app.extensions["nurture"]
    return runtime


def _viewer() -> Viewer:
    user = acting_user()
    # A frozen UserInfo reads as the protocol's plain attributes (the console passes it too).
    return cast("Viewer", user if user is not None else _SharedKey())


def _actor() -> int:
    """The user acting on a hand-off: a person, with a token made to change things."""
    if g.api_bearer.scope not in ACTING:
        raise Forbidden(f"This token has {g.api_bearer.scope} scope; accepting, rejecting "
                        "or closing a hand-off needs a token made with write scope.")
    user = acting_user()
    if user is None:
        raise Forbidden("The shared API key acts for nobody, and a hand-off is accepted, "
                        "rejected or closed by a person: use that person's own token.")
    return user.id


def _reason(item: dict[str, Any]) -> HandoffReasonOut:
    return HandoffReasonOut(rule=str(item.get("rule", "")), label=str(item.get("label", "")),
                            kind=str(item.get("kind", "")),
                            points=float(item.get("points") or 0),
                            events=int(item.get("events") or 0))


def _out(view: HandoffView, full: bool = False) -> HandoffOut:
    h = view.handoff
    return HandoffOut(
        id=h.id, contact_id=h.contact_id, email=view.email,
        status=h.status,  # type: ignore[arg-type]
        trigger=h.trigger, reason=h.reason, score=h.score, grade=h.grade,
        priority=h.priority, owner=view.rep_email, escalations=h.escalations,
        created_at=h.created_at, due_at=h.due_at, accepted_at=h.accepted_at,
        closed_at=h.closed_at, outcome_reason=h.outcome_reason,
        reasons=[_reason(r) for r in h.explanation or []] if full else None,
        notes=[HandoffNoteOut(at=at, action=action, note=note, by=by)
               for at, action, note, by in view.notes] if full else None)


def _one(handoff_id: int) -> HandoffOut:
    found = handoff_view(_rt(), handoff_id, _viewer())
    if found is None:
        raise HandoffNotFound(NO_SUCH)
    return _out(found, full=True)


@bp.get("/handoffs")
@token_required()
@validate(query=HandoffQuery, resp={"HTTP_200": HandoffPage}, tags=TAGS)
def list_handoffs(query: HandoffQuery):
    """The hand-offs this token's user sees in the inbox, newest first."""
    statuses = None if query.status is None else (
        ("open", "accepted") if query.status == "in" else (query.status,))
    owner = None if query.owner in (None, "none") else query.owner
    if owner == "me":
        user = acting_user()
        if user is None:
            raise Invalid([Violation("owner", "The shared API key is nobody's: give a rep's "
                                              "address instead of me.")])
        owner = user.email
    found, last = handoffs_page(_rt(), _viewer(), statuses, owner, query.owner == "none",
                                start_after(query), query.limit)
    return page_of(query, HandoffPage, [_out(v) for v in found], last)


@bp.get("/handoffs/<int:handoff_id>")
@token_required()
@validate(resp={"HTTP_200": HandoffOut, "HTTP_304": None}, tags=TAGS)
def get_handoff(handoff_id: int):
    """One hand-off, with the score's reasons and its audit trail."""
    return tagged(_one(handoff_id))


@bp.post("/handoffs/<int:handoff_id>/accept")
@token_required("read")
@idempotent
@validate(json=AcceptIn, resp={"HTTP_200": HandoffOut, "HTTP_403": Problem,
                               "HTTP_409": Problem}, tags=TAGS)
def accept_handoff(handoff_id: int, json: AcceptIn):
    """Accept the lead: it is yours now (an unassigned one too). 409 when it is not open."""
    rt = _rt()
    services.accept(rt, rt.settings, handoff_id, _actor())
    return tagged(_one(handoff_id))


@bp.post("/handoffs/<int:handoff_id>/reject")
@token_required("read")
@idempotent
@validate(json=RejectIn, resp={"HTTP_200": HandoffOut, "HTTP_403": Problem,
                               "HTTP_409": Problem}, tags=TAGS)
def reject_handoff(handoff_id: int, json: RejectIn):
    """Send the lead back to nurture with a reason; its cool-down starts now. 409 when it
    is closed already."""
    rt = _rt()
    services.reject(rt, rt.settings, handoff_id, _actor(), json.reason, json.detail)
    return tagged(_one(handoff_id))


@bp.post("/handoffs/<int:handoff_id>/close")
@token_required("read")
@idempotent
@validate(json=CloseIn, resp={"HTTP_200": HandoffOut, "HTTP_403": Problem,
                              "HTTP_409": Problem}, tags=TAGS)
def close_handoff(handoff_id: int, json: CloseIn):
    """Mark the accepted lead's deal won (with its amount, if known) or lost. 422 before it
    is accepted, 409 when it is closed already."""
    rt = _rt()
    services.close(rt, rt.settings, handoff_id, _actor(), json.outcome == "won", json.detail,
                   json.amount)
    return tagged(_one(handoff_id))
