"""Broadcasts in the console: the list, the form of a new one (audience, template or A/B
arms, topic, time), and its page: live progress (polled as JSON), the A/B test with each
arm's rate, interval and probability, the report with its hourly charts, and the buttons
to pause, resume, cancel and send the winner now. Marketers and admins."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import (
    Blueprint,
    current_app,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue

from nurture.app.runtime import Runtime
from nurture.broadcasts import plan, queries, services
from nurture.broadcasts.errors import BroadcastInvalid
from nurture.sending import subjects as subject_lines
from nurture.sending.render import store_for
from web.auth import login_required
from web.charts import Chart, Series
from web.errors import refusals_shown_on

bp = Blueprint("broadcasts", __name__, url_prefix="/broadcasts")
FLASH = "broadcasts_notice"
FIELDS = ("name", "audience", "segment", "list", "template", "subject", "template_b",
          "subject_b", "template_c", "subject_c", "topic", "timing", "send_at", "local_time",
          "sample_percent", "metric", "window_hours")
# The form's arms: A is the template and subject line above the test; B and C each take
# a template, a subject line or both (a line alone tests a subject on arm A's template).
ARM_FIELDS = (("template", "subject"), ("template_b", "subject_b"),
              ("template_c", "subject_c"))


def _rt() -> Runtime:
    runtime: Runtime = current_app.extensions["nurture"]
    return runtime


def _templates() -> list[str]:
    return services.choosable(store_for(_rt().settings.templates_dir))


def _form_page(form: dict[str, str], error: BroadcastInvalid | None = None,
               status: int = 200) -> ResponseReturnValue:
    rt = _rt()
    return render_template("broadcasts/new.html", form=form, error=error,
                           choices=queries.choices(rt.db, _templates(), rt.clock.now()),
                           timings=plan.TIMINGS, metrics=plan.METRICS), status


@bp.get("")
@login_required("marketer")  # and admins
def index() -> ResponseReturnValue:
    return render_template("broadcasts/index.html", rows=queries.listed(_rt().db),
                           notice=session.pop(FLASH, None))


@bp.get("/new")
@login_required("marketer")
def new() -> ResponseReturnValue:
    start = _rt().clock.now() + timedelta(hours=1)
    return _form_page({"audience": plan.LIST, "timing": plan.NOW, "local_time": "10:00",
                       "sample_percent": str(plan.DEFAULT_SAMPLE), "metric": plan.CLICKS,
                       "window_hours": str(plan.DEFAULT_WINDOW_HOURS),
                       "send_at": start.strftime("%Y-%m-%d %H:00")})


@bp.post("/new")
@login_required("marketer")
@refusals_shown_on("problem.html", title="The broadcast was not created",
                   back="broadcasts.index")
def create() -> ResponseReturnValue:
    rt = _rt()
    form = {name: request.form.get(name, "") for name in FIELDS}
    audience = form["audience"]
    tested = any(form[field].strip() for arm in ARM_FIELDS[1:] for field in arm)
    try:
        checked = plan.check(
            name=form["name"], audience=audience,
            audience_ref=form["segment"] if audience == plan.SEGMENT else form["list"],
            templates=[form[t] for t, _ in ARM_FIELDS], topic=form["topic"],
            subjects=[form[s] for _, s in ARM_FIELDS], subject_problem=subject_lines.problem,
            timing=form["timing"], send_at=form["send_at"], local_time=form["local_time"],
            sample_percent=form["sample_percent"] if tested else "0",
            metric=form["metric"], window_hours=form["window_hours"],
            known_templates=set(_templates()), now=rt.clock.now())
        made = services.created(rt.db, checked, rt.clock.now(), by=g.user.email,
                                default_tz=rt.settings.timezone)
    except BroadcastInvalid as exc:
        return _form_page(form, exc, exc.status)
    session[FLASH] = f"The broadcast {checked.name!r} was created."
    return redirect(url_for(".show", broadcast_id=made), 303)


@bp.get("/<int:broadcast_id>")
@login_required("marketer")
@refusals_shown_on("problem.html", title="There is no such broadcast", back="broadcasts.index")
def show(broadcast_id: int) -> ResponseReturnValue:
    detail = queries.shown(_rt().db, broadcast_id)
    return render_template("broadcasts/show.html", d=detail, b=detail.broadcast,
                           p=detail.progress, r=detail.report, test=detail.test,
                           charts=_charts(detail.report.hours),
                           notice=session.pop(FLASH, None))


@bp.get("/<int:broadcast_id>/progress")
@login_required("marketer")
def progress(broadcast_id: int) -> ResponseReturnValue:
    """The live counts (JSON), polled by the page. A GET that changes nothing."""
    return jsonify(queries.progress_of(_rt().db, broadcast_id).as_dict())


def _done(message: str, broadcast_id: int) -> ResponseReturnValue:
    session[FLASH] = message
    return redirect(url_for(".show", broadcast_id=broadcast_id), 303)


@bp.post("/<int:broadcast_id>/pause")
@login_required("marketer")
@refusals_shown_on("problem.html", title="The broadcast was not paused",
                   back="broadcasts.index")
def pause(broadcast_id: int) -> ResponseReturnValue:
    rt = _rt()
    done = services.paused(rt.db, broadcast_id, g.user.email,
                           request.form.get("reason", ""), rt.clock.now())
    return _done("The broadcast is paused: its queued mail waits." if done else
                 "The broadcast was paused already.", broadcast_id)


@bp.post("/<int:broadcast_id>/resume")
@login_required("marketer")
@refusals_shown_on("problem.html", title="The broadcast was not resumed",
                   back="broadcasts.index")
def resume(broadcast_id: int) -> ResponseReturnValue:
    rt = _rt()
    released = services.resumed(rt.db, broadcast_id, g.user.email,
                                request.form.get("reason", ""), rt.clock.now())
    return _done(f"The broadcast was resumed: {released:,} sends released.", broadcast_id)


@bp.post("/<int:broadcast_id>/cancel")
@login_required("marketer")
@refusals_shown_on("problem.html", title="The broadcast was not cancelled",
                   back="broadcasts.index")
def cancel(broadcast_id: int) -> ResponseReturnValue:
    rt = _rt()
    never = services.cancelled(rt.db, broadcast_id, g.user.email, rt.clock.now())
    return _done(f"The broadcast was cancelled: {never:,} sends will never be sent.",
                 broadcast_id)


@bp.post("/<int:broadcast_id>/winner")
@login_required("marketer")
@refusals_shown_on("problem.html", title="The winner was not sent", back="broadcasts.index")
def winner(broadcast_id: int) -> ResponseReturnValue:
    rt = _rt()
    arm = services.winner_sent(rt.db, broadcast_id, g.user.email, rt.clock.now(),
                               rt.settings.timezone)
    return _done(f"Arm {arm} goes to the rest of the audience.", broadcast_id)


def _charts(hours: list[dict[str, object]]) -> list[Chart]:
    """Sends handed over, and human opens and clicks, per hour (UTC)."""
    labels = [_label(h["hour"]) for h in hours]
    return [Chart(title, "hour (UTC)", "count", labels,
                  [Series(k.capitalize(), [int(str(h[k])) for h in hours]) for k in keys])
            for title, keys in (("Emails sent per hour", ("sent",)),
                                ("Human opens and clicks per hour", ("opened", "clicked")))]


def _label(hour: object) -> str:
    return hour.strftime("%m-%d %H:00") if isinstance(hour, datetime) else str(hour)
