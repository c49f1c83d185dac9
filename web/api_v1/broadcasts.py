"""`/api/v1/broadcasts`: one-off campaigns to a segment or a list. List them, read one with
its live progress and its report's totals, create one as the console's form does (audience,
template or A/B arms, topic, when), and pause, resume or cancel it.

The rules are the console's and the CLI's (`nurture.broadcasts.plan` and `.services`): a
plan that breaks a rule is a 422 listing every field; the recipients are made at once; a
cancelled broadcast cannot be paused or cancelled again (409), and only a paused one can be
resumed (409). docs/broadcasts.md says how sends are paced, capped and attributed.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from flask import current_app, url_for
from pydantic import AwareDatetime, Field, StrictStr

from nurture.broadcasts import plan, queries, services
from nurture.broadcasts.queries import Summary
from nurture.errors import Conflict
from nurture.sending import subjects as subject_lines
from nurture.sending.errors import PauseError
from nurture.sending.render import store_for
from web.api_auth import token_required
from web.api_v1.blueprint import bp
from web.api_v1.caller import acting_as
from web.api_v1.etags import tagged
from web.api_v1.idempotent import idempotent
from web.api_v1.paging import PageBase, PageQuery, page_of, start_after
from web.openapi import validate
from web.problems import Problem
from web.schemas import Closed

TAGS = ("broadcasts",)
Status = Literal["testing", "sending", "cancelled"]


class BroadcastSummary(Closed):
    id: int
    name: str
    audience: str = Field(description="`segment <name>` or `list <name>`.")
    status: Status = Field(description="`testing` while an A/B test's sample goes out, "
                                       "then `sending`; or `cancelled`.")
    recipients: int
    created_at: datetime


class BroadcastPage(PageBase):
    data: list[BroadcastSummary]


class BroadcastQuery(PageQuery):
    status: Status | None = None


class ProgressOut(Closed):
    """Where the broadcast's sends are now."""

    queued: int
    waiting: int = Field(description="The rest of an A/B test's audience, for the winner.")
    paused: int = Field(description="Held by a pause.")
    deferred: int = Field(description="Over the frequency cap or in quiet hours: due later.")
    sending: int
    sent: int
    failed: int
    cancelled: int
    skipped: dict[str, int] = Field(description="Not sent, by reason (suppressed, no "
                                                "consent ...).")
    pending: int = Field(description="Not yet sent or settled: queued, waiting, paused, "
                                     "deferred and sending.")


class ReportOut(Closed):
    """The report's totals: opens, clicks and complaints name the broadcast's sends;
    unsubscribes and trials are the recipients' within 7 days of their send."""

    sent: int
    delivered: int
    bounced: int
    opened_human: int
    opened_machine: int = Field(description="Opens by mail scanners and privacy proxies.")
    clicked: int
    unsubscribed: int
    complaints: int
    trials: int


class BroadcastOut(Closed):
    id: int
    name: str
    audience: Literal["segment", "list"]
    audience_id: int
    audience_name: str
    templates: list[str] = Field(description="The arms' templates, A first.")
    subjects: list[str] = Field(description="Each arm's subject line; empty for the "
                                            "template's own.")
    topic: str
    timing: Literal["now", "at", "local"]
    send_at: datetime | None
    local_time: str | None
    sample_percent: int
    metric: Literal["clicks", "opens"]
    window_hours: int
    status: Status
    paused: str | None = Field(description="The pause's reason while it is paused.")
    recipients: int
    winner: str | None
    winner_reason: str | None
    created_at: datetime
    created_by: str
    cancelled_at: datetime | None
    never_sent: int | None = Field(description="How many sends the cancel stopped.")
    progress: ProgressOut
    report: ReportOut


Name = Annotated[StrictStr, Field(min_length=1, max_length=120)]
Template = Annotated[StrictStr, Field(max_length=200)]
Subject = Annotated[StrictStr, Field(max_length=plan.SUBJECT_MAX)]


class ArmIn(Closed):
    template: Template = Field("", description=(
        "A marketing template's name; empty on arm B or later sends arm A's template (an "
        "arm that tests a subject line alone)."))
    subject: Subject = Field("", description="A subject line; empty keeps the template's.")


class BroadcastIn(Closed):
    name: Name
    audience: Literal["segment", "list"]
    audience_id: int = Field(ge=1, le=2**63 - 1, description="The segment's or list's id.")
    arms: list[ArmIn] = Field(min_length=1, max_length=len(plan.ARMS), description=(
        "One arm for a plain broadcast; two to five for an A/B test (A first)."))
    topic: Annotated[StrictStr, Field(max_length=40)] = ""
    timing: Literal["now", "at", "local"] = "now"
    send_at: AwareDatetime | None = Field(None, description="With `at`: the moment.")
    local_time: Annotated[StrictStr, Field(max_length=5)] = Field("", description=(
        "With `local`: the time of day in each contact's zone, HH:MM."))
    sample_percent: int = Field(plan.DEFAULT_SAMPLE, ge=0, le=100, description=(
        "With two arms or more: the share of the audience that gets the test."))
    metric: Literal["clicks", "opens"] = "clicks"
    window_hours: int = Field(plan.DEFAULT_WINDOW_HOURS, ge=1, le=plan.MAX_WINDOW_HOURS,
                              description="How long the sample is watched.")


class ReasonIn(Closed):
    reason: Annotated[StrictStr, Field(min_length=1, max_length=200, description=(
        "Why (to pause), or what was fixed (to resume); kept with the pause."))]


def _summary(s: Summary) -> BroadcastSummary:
    return BroadcastSummary.model_validate({
        "id": s.id, "name": s.name, "audience": s.audience, "status": s.status,
        "recipients": s.recipients, "created_at": s.created_at})


def _shown(broadcast_id: int) -> BroadcastOut:
    detail = queries.shown(current_app.extensions["nurture"].db, broadcast_id)
    b, p, r = detail.broadcast, detail.progress, detail.report
    return BroadcastOut.model_validate({
        "id": b.id, "name": b.name, "audience": b.audience, "audience_id": b.audience_id,
        "audience_name": b.audience_name, "templates": list(b.templates),
        "subjects": services.arm_subjects(b), "topic": b.topic, "timing": b.timing,
        "send_at": b.send_at, "local_time": b.local_time,
        "sample_percent": b.sample_percent, "metric": b.metric,
        "window_hours": b.window_hours, "status": b.status, "paused": detail.paused,
        "recipients": b.recipients, "winner": b.winner, "winner_reason": b.winner_reason,
        "created_at": b.created_at, "created_by": b.created_by,
        "cancelled_at": b.cancelled_at, "never_sent": b.never_sent,
        "progress": ProgressOut(
            queued=p.queued, waiting=p.waiting, paused=p.paused, deferred=p.deferred,
            sending=p.sending, sent=p.sent, failed=p.failed, cancelled=p.cancelled,
            skipped=p.skipped, pending=p.pending),
        "report": ReportOut(
            sent=r.sent, delivered=r.delivered, bounced=r.bounced,
            opened_human=r.opened_human, opened_machine=r.opened_machine,
            clicked=r.clicked, unsubscribed=r.unsubscribed, complaints=r.complaints,
            trials=r.trials)})


@bp.get("/broadcasts")
@token_required()
@validate(query=BroadcastQuery, resp={"HTTP_200": BroadcastPage}, tags=TAGS)
def list_broadcasts(query: BroadcastQuery):
    """Broadcasts, oldest first."""
    found, last = queries.page(current_app.extensions["nurture"].db, start_after(query),
                               query.limit, query.status)
    return page_of(query, BroadcastPage, [_summary(s) for s in found], last)


@bp.get("/broadcasts/<int:broadcast_id>")
@token_required()
@validate(resp={"HTTP_200": BroadcastOut, "HTTP_304": None}, tags=TAGS)
def get_broadcast(broadcast_id: int):
    """One broadcast: what was asked, its live progress and its report's totals."""
    return tagged(_shown(broadcast_id))


def _checked(json: BroadcastIn, now: datetime) -> plan.Plan:
    """The console's check of the form (`plan.check`), from the JSON body."""
    rt: Any = current_app.extensions["nurture"]
    at = "" if json.send_at is None else \
        json.send_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")
    return plan.check(
        name=json.name, audience=json.audience, audience_ref=str(json.audience_id),
        templates=[a.template for a in json.arms], subjects=[a.subject for a in json.arms],
        subject_problem=subject_lines.problem, topic=json.topic, timing=json.timing,
        send_at=at, local_time=json.local_time,
        sample_percent=str(json.sample_percent if len(json.arms) > 1 else 0),
        metric=json.metric, window_hours=str(json.window_hours),
        known_templates=set(services.choosable(store_for(rt.settings.templates_dir))),
        now=now)


@bp.post("/broadcasts")
@token_required()
@idempotent
@validate(json=BroadcastIn, resp={"HTTP_201": BroadcastOut, "HTTP_409": Problem}, tags=TAGS)
def create_broadcast(json: BroadcastIn):
    """Create a broadcast and make its recipients' sends at once, as the console does.
    Send an `Idempotency-Key`: a retry must not send the campaign twice."""
    rt = current_app.extensions["nurture"]
    now = rt.clock.now()
    made = services.created(rt.db, _checked(json, now), now, by=acting_as(),
                            default_tz=rt.settings.timezone)
    answer = tagged(_shown(made), 201)
    answer.headers["Location"] = url_for("api_v1.get_broadcast", broadcast_id=made)
    return answer


@bp.post("/broadcasts/<int:broadcast_id>/pause")
@token_required()
@idempotent
@validate(json=ReasonIn, resp={"HTTP_200": BroadcastOut, "HTTP_409": Problem}, tags=TAGS)
def pause_broadcast(broadcast_id: int, json: ReasonIn):
    """Hold the broadcast's queued sends (nothing is dropped). Pausing a paused broadcast
    changes nothing; a cancelled one is a 409."""
    rt = current_app.extensions["nurture"]
    services.paused(rt.db, broadcast_id, acting_as(), json.reason, rt.clock.now())
    return _shown(broadcast_id)


@bp.post("/broadcasts/<int:broadcast_id>/resume")
@token_required()
@idempotent
@validate(json=ReasonIn, resp={"HTTP_200": BroadcastOut, "HTTP_409": Problem}, tags=TAGS)
def resume_broadcast(broadcast_id: int, json: ReasonIn):
    """End the pause: the held sends are due again. One that is not paused is a 409."""
    rt = current_app.extensions["nurture"]
    try:
        services.resumed(rt.db, broadcast_id, acting_as(), json.reason, rt.clock.now())
    except PauseError as exc:  # the state, not the request, is what refuses it
        raise Conflict(str(exc)) from exc
    return _shown(broadcast_id)


@bp.post("/broadcasts/<int:broadcast_id>/cancel")
@token_required()
@idempotent
@validate(resp={"HTTP_200": BroadcastOut, "HTTP_409": Problem}, tags=TAGS)
def cancel_broadcast(broadcast_id: int):
    """Stop every send not yet handed to the mail server; `never_sent` says how many. A
    cancelled broadcast is a 409."""
    rt = current_app.extensions["nurture"]
    services.cancelled(rt.db, broadcast_id, acting_as(), rt.clock.now())
    return _shown(broadcast_id)
