"""Referrals on the web: share links, the attribution cookie, the one-sheet, and the
marketer's pages (sources, fraud review, rewards ledger, analytics and CSV export).

The cookie (`nurture_ref`) is first-party, HttpOnly, SameSite=Lax and Secure on https. It
holds a random visitor id and the referral codes visited with their times, signed so that
it cannot be forged; no personal data. It lives as long as the attribution window.
"""

from __future__ import annotations

import logging
import secrets
from datetime import UTC, date, datetime, timedelta

from flask import (
    Blueprint,
    Response,
    current_app,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue
from itsdangerous import BadSignature, URLSafeSerializer
from werkzeug.wrappers import Response as BaseResponse

from nurture.app.runtime import Runtime
from nurture.trials.signup import clean_referral
from referral import analytics, onesheet, queries, sources
from referral import services as referral_services
from referral.attribution import Touch, add_touch, choose
from referral.config import ReferralConfig
from referral.errors import Invalid
from referral.fraud import explain
from referral.rules import FULFILLED_KINDS, KIND_LABELS, format_money
from web.auth import login_required
from web.charts import Chart, Series
from web.errors import refusals_shown_on

log = logging.getLogger(__name__)
bp = Blueprint("referral", __name__)
COOKIE = "nurture_ref"
FLASH = "referral_notice"
SAME_VISIT = timedelta(minutes=10)  # a share link's redirect lands with ?ref= too


def _rt() -> Runtime:
    return current_app.extensions["nurture"]


def _config() -> ReferralConfig:
    return ReferralConfig.from_settings(_rt().settings)


# ---- the cookie -------------------------------------------------------------------------

def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="nurture.referral-cookie")


def _read() -> tuple[str, tuple[Touch, ...]]:
    """The visitor id and touches in the cookie; nothing when it is missing or forged."""
    raw = request.cookies.get(COOKIE)
    if not raw:
        return "", ()
    try:
        data = _serializer().loads(raw)
        touches = tuple(Touch(str(code), datetime.fromtimestamp(int(at), UTC))
                        for code, at in data.get("t", [])[:20])
        return str(data.get("v") or "")[:40], touches
    except (BadSignature, AttributeError, TypeError, ValueError, OverflowError):
        log.info("referral: ignoring a referral cookie that is not valid")
        return "", ()


def _write(response: BaseResponse, visitor: str, touches: tuple[Touch, ...]) -> None:
    config = _config()
    value = _serializer().dumps({"v": visitor, "t": [[t.code, int(t.at.timestamp())]
                                                     for t in touches]})
    response.set_cookie(COOKIE, value, max_age=int(config.window.total_seconds()),
                        httponly=True, samesite="Lax", secure=config.secure_cookie, path="/")


def visitor() -> str:
    """This browser's visitor id (made by the landing page or share link it came through)."""
    return g.get("referral_visitor") or _read()[0]


def attributed_code(form_ref: str) -> str:
    """The referral code a sign-up now is credited to, by the configured model and window.
    The form's `ref` (from the page's `?ref=`) counts as a touch now only when the cookie
    does not already remember it (a browser without cookies)."""
    config, now = _config(), _rt().clock.now()
    _, touches = _read()
    form_ref = clean_referral(form_ref)
    if form_ref and sources.normalise_code(form_ref) not in {t.code for t in touches}:
        touches = add_touch(touches, form_ref, now)
    decision = choose(touches, config.model, config.window, now)
    if decision.touch is None:
        if decision.reason == "expired":
            log.info("referral: sign-up not attributed: every referral visit is older than "
                     "%s days", config.window.days)
        return ""
    return decision.touch.code


@bp.after_app_request
def _landing_cookie(response: Response) -> Response:
    """On landing pages: give the browser a visitor id, and count `?ref=` as a visit."""
    if request.endpoint != "landing.landing_page" or request.method != "GET" \
            or response.status_code != 200:
        return response
    known, touches = _read()
    visitor_id = known or secrets.token_urlsafe(16)
    ref = request.args.get("ref")
    now = _rt().clock.now()
    if ref is not None:
        code = sources.normalise_code(ref)
        repeat = touches and touches[-1].code == code and now - touches[-1].at < SAME_VISIT
        if not repeat:
            click = referral_services.click(_rt(), ref, visitor_id, via="landing")
            if click.code:
                touches = add_touch(touches, click.code, now)
    if not known or ref is not None:
        _write(response, visitor_id, touches)
    return response


# ---- public pages -----------------------------------------------------------------------

@bp.get("/r/<code>")
def share_link(code: str) -> ResponseReturnValue:
    """A share link: count the visit, remember the code, go to the landing page. An unknown,
    malformed, paused or expired code still leads to the trial page, without attribution."""
    known, touches = _read()
    visitor_id = known or secrets.token_urlsafe(16)
    click = referral_services.click(_rt(), code[:100], visitor_id)
    response = redirect(click.target if click.code else url_for("landing.landing_page",
                                                                slug="trial"), 302)
    if click.code:
        touches = add_touch(touches, click.code, _rt().clock.now())
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    _write(response, visitor_id, touches)
    return response


@bp.get("/r/<code>/one-sheet")
def one_sheet(code: str) -> ResponseReturnValue:
    """What we do and who we help best, with the source's share link and share buttons."""
    rt = _rt()
    found = queries.find_source(rt.db, code[:100], rt.clock.now())
    if found.source is None:
        log.info("referral: one-sheet for %s code %r", found.reason, code[:64])
        return render_template("referral/not_found.html"), 404
    link = sources.share_link(rt.settings.base_url, found.source.code)
    return render_template("referral/one_sheet.html", sheet=onesheet.load(), link=link,
                           shares=sources.social_links(link, rt.settings.company_name),
                           company=rt.settings.company_name)


# ---- marketer pages ---------------------------------------------------------------------

def _done(message: str, endpoint: str) -> BaseResponse:
    """POST/redirect/GET: the page at `endpoint` shows `message` once."""
    session[FLASH] = message
    return redirect(url_for(endpoint), 303)


@bp.get("/referrals")
@login_required("marketer")
def dashboard() -> ResponseReturnValue:
    seen = queries.funnels(_rt().db)
    rules = _config().rules
    # The types and the leaderboard add up every source; the table shows a page of them.
    shown = analytics.page_of(seen.per_source, request.args.get("page", 1, type=int) or 1)
    types = analytics.per_type(seen.per_source)
    leaders = analytics.leaderboard(seen.per_source)
    return render_template("referral/dashboard.html", funnels=shown.rows, shown=shown,
                           types=types, leaders=leaders, flagged=seen.flagged,
                           charts=_charts(types, leaders),
                           money=_money, rules_ok=rules is not None,
                           notice=session.pop(FLASH, None))


def _charts(types: list[analytics.Funnel], leaders: list[analytics.Funnel]) -> list[Chart]:
    """The funnel of every source together, one bar colour per source type, and the
    leaderboard: customers brought in by the best sources."""
    stages = ("clicks", "signups", "conversions", "rewards")
    funnel = Chart("Referral funnel: clicks, sign-ups, conversions, rewards", "stage",
                   "count", ["Clicks", "Sign-ups", "Conversions", "Rewards"],
                   [Series(t.name, [getattr(t, stage) for stage in stages]) for t in types],
                   kind="stacked", key="referral-funnel",
                   note="Every source, stacked by its type; rejected referrals and voided "
                        "rewards left out.")
    names = [f.name if not f.email or f.email == f.name else f"{f.name} <{f.email}>"
             for f in leaders]
    board = Chart("Leaderboard: customers brought in", "source", "customers", names,
                  [Series("Customers", [f.conversions for f in leaders])], kind="hbar",
                  key="referral-leaders", height=max(160, 60 + 32 * len(leaders)))
    return [funnel, board]


@bp.get("/referrals/report.csv")
@login_required("marketer")
def report_csv() -> ResponseReturnValue:
    text = analytics.to_csv(queries.per_source(_rt().db))
    return Response(text, mimetype="text/csv", headers={
        "Content-Disposition": "attachment; filename=referral-sources.csv"})


@bp.route("/referrals/sources", methods=["GET", "POST"])
@login_required("marketer")
def sources_page() -> ResponseReturnValue:
    rt = _rt()
    error, status = None, 200
    if request.method == "POST":
        form = request.form
        try:
            expires = _date(form.get("expires_on", ""))
            _, code = referral_services.create_source(
                rt, form.get("type", ""), form.get("name", ""),
                form.get("email", ""), form.get("campaign", ""),
                form.get("landing", "") or "trial", g.user.email,
                                        expires)
        except Invalid as exc:  # presentation: the sentence beside the source form
            error, status = exc.sentence, exc.status
        else:
            return _done(f"The source was created with the code {code}.", ".sources_page")
    rows = queries.recent_sources(rt.db)
    base = rt.settings.base_url
    return render_template("referral/sources.html", rows=rows, error=error,
                           form=request.form, base=base,
                           shares={r.code: sources.social_links(
                               sources.share_link(base, r.code), rt.settings.company_name)
                               for r in rows},
                           notice=session.pop(FLASH, None)), status


def _date(text: str) -> datetime | None:
    """The end of the expiry day (UTC) typed in the form (`sources.expiry`); else a
    sentence."""
    text = text.strip()
    if not text:
        return None
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise Invalid("Enter the expiry date as YYYY-MM-DD, like 2026-12-31.") from None
    return sources.expiry(day, _rt().clock.now().date())


@bp.post("/referrals/sources/<int:source_id>/status")
@login_required("marketer")
@refusals_shown_on("referral/message.html", title="The source was not changed")
def source_status(source_id: int) -> ResponseReturnValue:
    status = request.form.get("status", "")
    referral_services.set_source_status(_rt(), source_id, status)
    return _done(f"The source is {status} now.", ".sources_page")


@bp.get("/referrals/review")
@login_required("marketer")
def review_queue() -> ResponseReturnValue:
    return render_template("referral/review.html", rows=queries.flagged_referrals(_rt().db),
                           explain=explain, notice=session.pop(FLASH, None))


@bp.post("/referrals/<int:referral_id>/review")
@login_required("marketer")
@refusals_shown_on("referral/message.html", title="The referral was not changed")
def review(referral_id: int) -> ResponseReturnValue:
    decision = request.form.get("decision", "")
    state = referral_services.review(_rt(), referral_id, decision, g.user.email,
                                     request.form.get("note", ""))
    word = "approved: its rewards follow the hold period" if state == "cleared" else \
        "rejected: its rewards are void"
    return _done(f"Referral {referral_id} was {word}.", ".review_queue")


@bp.get("/referrals/rewards")
@login_required("marketer")
def rewards() -> ResponseReturnValue:
    status = request.args.get("status", "")
    ledger = queries.rewards(_rt().db, status)
    return render_template("referral/rewards.html", rows=ledger.rows, audit=ledger.audit,
                           status=status, money=format_money, fulfilled_kinds=FULFILLED_KINDS,
                           notice=session.pop(FLASH, None))


@bp.post("/referrals/rewards/<int:reward_id>")
@login_required("marketer")
@refusals_shown_on("referral/message.html", title="The reward was not changed")
def move_reward(reward_id: int) -> ResponseReturnValue:
    to = request.form.get("to", "")
    state = referral_services.move_reward(_rt(), reward_id, to, g.user.email,
                                          request.form.get("reason", ""))
    return _done(f"Reward {reward_id} is {state} now.", ".rewards")


@bp.get("/referrals/fulfilment")
@login_required("marketer")
def fulfilment() -> ResponseReturnValue:
    """The thank-yous, referrals back, features and gifts: those awaiting a person first."""
    show = request.args.get("show", "awaiting")
    rows = queries.fulfilments(_rt().db, _config().rules, awaiting_only=show == "awaiting")
    return render_template("referral/fulfilment.html", rows=rows, show=show,
                           kinds=KIND_LABELS, money=format_money,
                           notice=session.pop(FLASH, None))


@bp.post("/referrals/rewards/<int:reward_id>/fulfil")
@login_required("marketer")
@refusals_shown_on("referral/message.html", title="The reward was not fulfilled")
def fulfil(reward_id: int) -> ResponseReturnValue:
    referral_services.fulfil(_rt(), reward_id, g.user.email, request.form.get("note", ""))
    return _done(f"Reward {reward_id} is fulfilled; the referrer's timeline shows it.",
                 ".fulfilment")


def _money(cents: int) -> str:
    rules = _config().rules
    return format_money(cents, rules.currency if rules else "EUR")
