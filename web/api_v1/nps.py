"""`/api/v1/nps`: the answers to the NPS survey, and the report: NPS per month or quarter
(per vertical or stage when asked) with its 95% margin of error.

The report is the old `GET /api/nps`'s and the console's (`nurture.nps.stats`: the
adjusted-Wald interval), so its numbers are theirs. Both read what the console's NPS report
shows, which is for marketers and admins: a sales user's token is refused with 403.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from flask import current_app
from pydantic import AwareDatetime, Field, model_validator

from nurture.errors import Forbidden
from nurture.nps import queries, stats
from nurture.nps.queries import Answered
from web.api_auth import token_required
from web.api_v1.blueprint import bp
from web.api_v1.caller import acting_user
from web.api_v1.paging import PageBase, PageQuery, page_of, start_after
from web.openapi import validate
from web.problems import Problem
from web.schemas import Closed

TAGS = ("nps",)
READERS = ("marketer", "admin")
METHOD = "adjusted-Wald 95% interval (Rocks 2016)"


class Between(Closed):
    since: AwareDatetime | None = Field(None, description="Answers from this moment on.")
    until: AwareDatetime | None = Field(None, description="Answers before this moment.")

    @model_validator(mode="after")
    def _ordered(self) -> Between:
        if self.since is not None and self.until is not None and self.until <= self.since:
            raise ValueError("`until` must come after `since`.")
        return self


class NPSAnswerQuery(PageQuery, Between):
    min_score: int = Field(0, ge=0, le=10, description="Answers with at least this score.")
    max_score: int = Field(10, ge=0, le=10, description="Answers with at most this score.")

    @model_validator(mode="after")
    def _range(self) -> NPSAnswerQuery:
        if self.min_score > self.max_score:
            raise ValueError("`min_score` must not be above `max_score`.")
        return self


class NPSAnswerOut(Closed):
    id: int
    contact_id: int
    email: str
    survey: str = Field(description="The survey: the id of the send that asked.")
    score: int = Field(ge=0, le=10)
    category: Literal["promoter", "passive", "detractor"]
    reason: str
    vertical: str = Field(description="The contact's vertical when they answered.")
    stage: str = Field(description="The contact's stage when they answered.")
    answered_at: datetime
    updated_at: datetime = Field(description="When the answer or its reason last changed.")


class NPSAnswerPage(PageBase):
    data: list[NPSAnswerOut]


class NPSReportQuery(Between):
    period: Literal["month", "quarter"] = "month"
    segment: Literal["vertical", "stage"] | None = Field(None, description=(
        "Split each period by the contacts' vertical or stage at answer time."))


class NPSLineOut(Closed):
    period: str = Field(description="`2026-03` or `2026-Q1`.")
    segment: str = Field(description="`all`, or a vertical or stage (`unknown`: none).")
    n: int = Field(description="Answers.")
    promoters: int
    passives: int
    detractors: int
    nps: float | None = Field(description="-100 to 100; null without answers.")
    margin: float | None = Field(description="The 95% margin of error, in NPS points.")
    low: float | None = Field(description="The 95% interval's low end.")
    high: float | None = Field(description="The 95% interval's high end.")
    enough: bool = Field(description=f"At least {stats.TOO_FEW} answers: enough to judge.")


class NPSReportOut(Closed):
    period: str
    segment: str
    method: str
    lines: list[NPSLineOut]


def _reader() -> None:
    user = acting_user()
    if user is not None and user.role not in READERS:
        raise Forbidden("NPS answers are for marketers and admins, as the console's NPS "
                        f"report is; this token's user is a {user.role} user.")


def _out(item: Answered) -> NPSAnswerOut:
    return NPSAnswerOut(id=item.id, contact_id=item.contact_id, email=item.email,
                        survey=item.survey, score=item.score,
                        category=item.category,  # type: ignore[arg-type]
                        reason=item.reason, vertical=item.vertical, stage=item.stage,
                        answered_at=item.answered_at, updated_at=item.updated_at)


@bp.get("/nps/answers")
@token_required()
@validate(query=NPSAnswerQuery, resp={"HTTP_200": NPSAnswerPage, "HTTP_403": Problem},
          tags=TAGS)
def list_nps_answers(query: NPSAnswerQuery):
    """The answers, oldest first, with their reasons and the segment at answer time."""
    _reader()
    found, last = queries.answers_page(current_app.extensions["nurture"].db, query.since,
                                       query.until, (query.min_score, query.max_score),
                                       start_after(query), query.limit)
    return page_of(query, NPSAnswerPage, [_out(a) for a in found], last)


@bp.get("/nps/report")
@token_required()
@validate(query=NPSReportQuery, resp={"HTTP_200": NPSReportOut, "HTTP_403": Problem},
          tags=TAGS)
def nps_report(query: NPSReportQuery):
    """NPS ± its 95% margin of error per period, and per vertical or stage when asked."""
    _reader()
    rows = queries.answer_rows(current_app.extensions["nurture"].db, query.since, query.until)
    lines = stats.by_period_and_segment(rows, query.period, query.segment)
    return NPSReportOut(period=query.period, segment=query.segment or stats.ALL,
                        method=METHOD,
                        lines=[NPSLineOut(**stats.as_dict(line)) for line in lines])
