"""`/api/v1/trials`: the trials, one trial with its seats, services, usage and days left,
and usage reports from the provisioning system.

A usage report has the old `POST /api/trials/<id>/usage`'s body and rules
(`nurture.trials.lifecycle.record_usage`): 201 when recorded, 200 when the seat was
activated already, 409 when the trial is not active, 422 for a service it does not include
or a seat beyond its count.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from flask import current_app, url_for
from pydantic import Field

from nurture.app.runtime import Runtime
from nurture.trials import lifecycle, rules
from nurture.trials.errors import TrialNotFound
from nurture.trials.queries import TrialRow, UsageSummary, trial_with_usage, trials_page
from web.api_auth import token_required
from web.api_v1.blueprint import bp
from web.api_v1.etags import tagged
from web.api_v1.idempotent import idempotent
from web.api_v1.paging import PageBase, PageQuery, page_of, start_after
from web.openapi import validate
from web.problems import Problem
from web.schemas import Closed, UsageIn, UsageRecorded

TAGS = ("trials",)
STATUS = Literal["active", "converted", "expired", "deleted"]


class TrialServiceUseOut(Closed):
    service: str
    uses: int
    last_used_at: datetime


class TrialUsageOut(Closed):
    seats_activated: int
    services: list[TrialServiceUseOut] = Field(description="Each service used, by name.")


class TrialOut(Closed):
    id: int
    contact_id: int
    email: str = Field(description="Who signed up.")
    company: str
    status: STATUS
    seats: int
    services: list[str]
    started_at: datetime
    ends_at: datetime
    days_left: int | None = Field(description=(
        "Whole days until it ends (a part-day counts); null once it is not active."))
    choice: Literal["keep_data", "new_subscription"] | None = Field(description=(
        "The conversion's choice, once converted."))
    converted_at: datetime | None
    expired_at: datetime | None
    retention_until: datetime | None = Field(description="Its data is deleted after this.")
    deleted_at: datetime | None
    usage: TrialUsageOut | None = Field(None, description=(
        "Seats activated and services used (on a single trial; null in lists)."))


class TrialPage(PageBase):
    data: list[TrialOut]


class TrialQuery(PageQuery):
    status: STATUS | None = Field(None, description="Only trials in this status.")


def _rt() -> Runtime:
    runtime: Runtime = current_app.extensions["nurture"]
    return runtime


def _out(row: TrialRow, usage: UsageSummary | None = None) -> TrialOut:
    t = row.trial
    return TrialOut(
        id=t.id, contact_id=row.contact_id, email=row.email, company=t.company,
        status=t.status,  # type: ignore[arg-type]
        seats=t.seats, services=list(t.services), started_at=row.started_at,
        ends_at=t.ends_at, days_left=rules.days_left(t, _rt().now()),
        choice=t.choice,  # type: ignore[arg-type]
        converted_at=t.converted_at, expired_at=t.expired_at,
        retention_until=t.retention_until, deleted_at=t.deleted_at,
        usage=None if usage is None else TrialUsageOut(
            seats_activated=usage.seats_activated,
            services=[TrialServiceUseOut(service=s, uses=n, last_used_at=at)
                      for s, (n, at) in usage.services.items()]))


@bp.get("/trials")
@token_required()
@validate(query=TrialQuery, resp={"HTTP_200": TrialPage}, tags=TAGS)
def list_trials(query: TrialQuery):
    """Trials, newest first; `status` keeps one kind."""
    found, last = trials_page(_rt(), query.status, start_after(query), query.limit)
    return page_of(query, TrialPage, [_out(r) for r in found], last)


@bp.get("/trials/<int:trial_id>")
@token_required()
@validate(resp={"HTTP_200": TrialOut, "HTTP_304": None}, tags=TAGS)
def get_trial(trial_id: int):
    """One trial: its seats and services, its usage so far, and the days it has left."""
    found = trial_with_usage(_rt(), trial_id)
    if found is None:
        raise TrialNotFound(f"There is no trial with id {trial_id}.")
    return tagged(_out(*found))


@bp.post("/trials/<int:trial_id>/usage")
@token_required()
@idempotent
@validate(json=UsageIn, resp={"HTTP_200": UsageRecorded, "HTTP_201": UsageRecorded,
                              "HTTP_409": Problem}, tags=TAGS)
def record_trial_usage(trial_id: int, json: UsageIn):
    """`{"type": "seat_activated", "seat": ...}` or `{"type": "service_used", "service": ...}`:
    201 recorded, 200 a seat activated already. Send an `Idempotency-Key` so that a retried
    service use is not counted twice."""
    result = lifecycle.record_usage(_rt(), trial_id, json.type,
                                    getattr(json, rules.USAGE_TYPES[json.type]), source="api")
    answer = UsageRecorded(recorded=result.recorded, event_id=result.event_id,
                           seats_activated=result.seats_activated)
    headers = {"Location": url_for("api_v1.get_trial", trial_id=trial_id)}
    return answer, 201 if result.recorded else 200, headers
