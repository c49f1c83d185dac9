"""`/api/v1/referral/...` and `/api/v1/referrals`: sources (list, read, create a partner's or
an influencer's), referred friends, and the rewards ledger, where an admin approves a reward
early or voids it.

The rules are the console's (`referral.services`, `referral.ledger`): a source is made as
the sources page makes it, and a reward moves only as the ledger allows (pending →
approved, pending or approved → voided with a reason); a reward in another state is a 409
sentence, and nothing changes.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from flask import current_app, url_for
from pydantic import Field, StrictStr

from nurture.db import Database
from referral import pages, sources
from referral import services as referral_services
from web.api_auth import token_required
from web.api_v1.blueprint import bp
from web.api_v1.caller import acting_as
from web.api_v1.etags import tagged
from web.api_v1.idempotent import idempotent
from web.api_v1.paging import PageBase, PageQuery, page_of, start_after
from web.openapi import validate
from web.problems import Problem
from web.schemas import Closed

TAGS = ("referral",)
Id = Annotated[int, Field(ge=1, le=2**63 - 1)]


class SourceCountsOut(Closed):
    clicks: int = Field(description="Visits of the share link.")
    signups: int = Field(description="Friends who signed up through it (rejected ones left "
                                     "out).")
    conversions: int = Field(description="Of those, the friends who bought.")


class SourceOut(Closed):
    id: int
    code: str = Field(description="The referral code, in share links as `/r/<code>`.")
    type: Literal["customer", "partner", "influencer"]
    name: str
    email: str
    campaign: str = Field(description="The `utm_campaign` of the share link's visits.")
    landing: str = Field(description="The slug of the landing page the share link opens.")
    status: Literal["active", "paused"]
    expires_at: datetime | None
    created_at: datetime
    created_by: str
    share_link: str
    counts: SourceCountsOut | None = Field(None, description=(
        "The source's funnel so far (on a single source; null in lists)."))


class SourcePage(PageBase):
    data: list[SourceOut]


class SourceQuery(PageQuery):
    type: Literal["customer", "partner", "influencer"] | None = None
    status: Literal["active", "paused"] | None = None


class SourceIn(Closed):
    """A partner's or an influencer's source; customers get theirs automatically."""

    type: Literal["partner", "influencer"]
    name: Annotated[StrictStr, Field(min_length=1, max_length=200)]
    email: Annotated[StrictStr, Field(max_length=254)] = ""
    campaign: Annotated[StrictStr, Field(max_length=120, description=(
        "A campaign tag: letters, digits, `.`, `_` and `-`, like `spring-partners`."))] = ""
    landing: Annotated[StrictStr, Field(min_length=1, max_length=120, description=(
        "The slug of the landing page the share link opens."))] = "trial"
    expires_on: date | None = Field(None, description=(
        "The source's last day (UTC), from today to ten years ahead; its link stops "
        "attributing after it."))


class ReferralOut(Closed):
    id: int
    source_id: int
    friend_id: int = Field(description="The referred friend's contact id.")
    friend_email: str
    status: Literal["signed_up", "converted"]
    review: Literal["", "flagged", "cleared", "rejected"] = Field(description=(
        "The fraud review: empty when never flagged."))
    reasons: list[str] = Field(description="The fraud rules that flagged it.")
    signed_up_at: datetime
    converted_at: datetime | None
    revenue_cents: int = Field(description="The friend's first-year revenue so far.")


class ReferralPage(PageBase):
    data: list[ReferralOut]


class ReferralQuery(PageQuery):
    source_id: Id | None = None
    status: Literal["signed_up", "converted"] | None = None


RewardStatus = Literal["pending", "approved", "paid", "fulfilled", "voided"]


class RewardOut(Closed):
    id: int
    referral_id: int
    source_id: int
    beneficiary: Literal["referrer", "friend"]
    contact_id: int | None
    rule: str = Field(description="The reward rule that granted it (rewards.yaml).")
    kind: str = Field(description="credit, share, milestone, or a kind fulfilled by a "
                                  "person (thank-you, gift ...).")
    amount_cents: int
    currency: str
    status: RewardStatus
    created_at: datetime
    eligible_at: datetime = Field(description="The end of the hold period.")
    updated_at: datetime
    reason: str = Field(description="Why it took its present state.")


class RewardPage(PageBase):
    data: list[RewardOut]


class RewardQuery(PageQuery):
    status: RewardStatus | None = None
    source_id: Id | None = None


class VoidIn(Closed):
    reason: Annotated[StrictStr, Field(min_length=1, max_length=500, description=(
        "Why, like `refund` or `fraud`; kept in the reward's audit trail."))]


def _source_out(row: Any, counts: pages.SourceCounts | None = None) -> SourceOut:
    return SourceOut(
        id=row.id, code=row.code, type=row.type, name=row.name, email=row.email,
        campaign=row.campaign, landing=row.landing, status=row.status,
        expires_at=row.expires_at, created_at=row.created_at, created_by=row.created_by,
        share_link=sources.share_link(current_app.extensions["nurture"].settings.base_url,
                                      row.code),
        counts=None if counts is None else SourceCountsOut(
            clicks=counts.clicks, signups=counts.signups, conversions=counts.conversions))


def _reward_out(row: Any) -> RewardOut:
    return RewardOut(
        id=row.id, referral_id=row.referral_id, source_id=row.source_id,
        beneficiary=row.beneficiary, contact_id=row.contact_id, rule=row.rule, kind=row.kind,
        amount_cents=row.amount_cents, currency=row.currency, status=row.status,
        created_at=row.created_at, eligible_at=row.eligible_at, updated_at=row.updated_at,
        reason=row.reason)


def _db() -> Database:
    return current_app.extensions["nurture"].db


@bp.get("/referral/sources")
@token_required()
@validate(query=SourceQuery, resp={"HTTP_200": SourcePage}, tags=TAGS)
def list_sources(query: SourceQuery):
    """Referral sources (customers', partners', influencers'), oldest first."""
    found, last = pages.sources(_db(), start_after(query), query.limit, query.type,
                                query.status)
    return page_of(query, SourcePage, [_source_out(r) for r in found], last)


@bp.get("/referral/sources/<int:source_id>")
@token_required()
@validate(resp={"HTTP_200": SourceOut, "HTTP_304": None}, tags=TAGS)
def get_source(source_id: int):
    """One source, with its share link and its funnel so far."""
    return tagged(_source_out(*pages.source(_db(), source_id)))


@bp.post("/referral/sources")
@token_required()
@idempotent
@validate(json=SourceIn, resp={"HTTP_201": SourceOut, "HTTP_409": Problem}, tags=TAGS)
def create_source(json: SourceIn):
    """Make a partner's or an influencer's source, with a new code, as the console's
    sources page does. Send an `Idempotency-Key` to make a retry safe."""
    rt = current_app.extensions["nurture"]
    expires = None if json.expires_on is None else \
        sources.expiry(json.expires_on, rt.clock.now().date())
    source_id, _ = referral_services.create_source(
        rt, json.type, json.name, json.email, json.campaign, json.landing, acting_as(),
        expires)
    answer = tagged(_source_out(*pages.source(rt.db, source_id)), 201)
    answer.headers["Location"] = url_for("api_v1.get_source", source_id=source_id)
    return answer


@bp.get("/referrals")
@token_required()
@validate(query=ReferralQuery, resp={"HTTP_200": ReferralPage}, tags=TAGS)
def list_referrals(query: ReferralQuery):
    """Referred friends, oldest first: of one source, or in one status."""
    found, last = pages.referrals(_db(), start_after(query), query.limit, query.source_id,
                                  query.status)
    data = [ReferralOut(id=r.id, source_id=r.source_id, friend_id=r.friend_id,
                        friend_email=email, status=r.status, review=r.review,
                        reasons=list(r.reasons or []), signed_up_at=r.signed_up_at,
                        converted_at=r.converted_at, revenue_cents=r.revenue_cents)
            for r, email in found]
    return page_of(query, ReferralPage, data, last)


@bp.get("/referral/rewards")
@token_required()
@validate(query=RewardQuery, resp={"HTTP_200": RewardPage}, tags=TAGS)
def list_rewards(query: RewardQuery):
    """The rewards ledger, oldest first: in one status, or of one source."""
    found, last = pages.rewards(_db(), start_after(query), query.limit, query.status,
                                query.source_id)
    return page_of(query, RewardPage, [_reward_out(r) for r in found], last)


@bp.post("/referral/rewards/<int:reward_id>/approve")
@token_required("admin")
@idempotent
@validate(resp={"HTTP_200": RewardOut, "HTTP_403": Problem, "HTTP_409": Problem}, tags=TAGS)
def approve_reward(reward_id: int):
    """Approve a pending reward before its hold period ends (admins). A reward in another
    state, or whose referral waits for a fraud review, is a 409."""
    rt = current_app.extensions["nurture"]
    referral_services.move_reward(rt, reward_id, "approved", acting_as())
    return _reward_out(pages.reward(rt.db, reward_id))


@bp.post("/referral/rewards/<int:reward_id>/void")
@token_required("admin")
@idempotent
@validate(json=VoidIn, resp={"HTTP_200": RewardOut, "HTTP_403": Problem, "HTTP_409": Problem},
          tags=TAGS)
def void_reward(reward_id: int, json: VoidIn):
    """Void a pending or approved reward, with a reason (admins). A paid, fulfilled or
    voided reward is a 409."""
    rt = current_app.extensions["nurture"]
    referral_services.move_reward(rt, reward_id, "voided", acting_as(), json.reason)
    return _reward_out(pages.reward(rt.db, reward_id))
