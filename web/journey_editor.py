"""The journey editor: a journey's YAML in a code editor (a plain textarea without
JavaScript), checked as it is typed with every violation at its line, simulated on
synthetic contacts, and published as a new version with a note, from the version it
started from. Marketers and admins.

Whatever is refused (a stale base, an invalid draft, a bad number) is shown on the editor
with the text as it was sent, so no edit is lost to an error page.
"""

from __future__ import annotations

from typing import Any

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

from nurture.app import journey_editing as editing
from nurture.app import journey_ensemble as ensemble
from nurture.app import journey_forecast
from nurture.app.runtime import Runtime
from nurture.errors import Invalid, NurtureError
from web.auth import login_required
from web.errors import refusals_shown_on

bp = Blueprint("journey_editor", __name__, url_prefix="/journeys")
FLASH = "journey_editor_notice"
DEFAULTS = {"contacts": "500", "days": "60", "sample": "500", "history_days": "30"}


def _rt() -> Runtime:
    runtime: Runtime = current_app.extensions["nurture"]
    return runtime


def _form() -> dict[str, str]:
    return {name: request.form.get(name, "") for name in
            ("source", "based_on", "note", "contacts", "days", "sample", "history_days")}


def _whole(text: str, what: str, default: int) -> int:
    if not text.strip():
        return default
    try:
        return int(text.strip())
    except ValueError:
        raise Invalid(f"The {what} must be a whole number.") from None


def _editor(journey_id: str | None, form: dict[str, str], status: int = 200,
            error: str | None = None, report: Any = None,
            forecast: Any = None) -> ResponseReturnValue:
    """The editor page with `form` as sent, the draft's violations, and what was asked."""
    source = form.get("source", "")
    try:
        found = editing.violations(_rt(), source)
    except Invalid as exc:
        found, error = [], error or exc.sentence
    return render_template(
        "journey_editor/edit.html", journey_id=journey_id, form=form, violations=found,
        error=error, report=report, notice=session.pop(FLASH, None),
        chart=_daily_chart(report) if report is not None else None,
        forecast=forecast, weekly=_weekly_chart(forecast) if forecast is not None else None,
        limits={"contacts": editing.MAX_CONTACTS, "days": editing.MAX_DAYS,
                "sample": journey_forecast.MAX_SAMPLE,
                "history_days": journey_forecast.MAX_DAYS}), status


@bp.get("/new")
@login_required("marketer")
def new() -> ResponseReturnValue:
    return _editor(None, {"source": editing.NEW_JOURNEY, "based_on": "0", **DEFAULTS})


@bp.post("/new")
@login_required("marketer")
def new_action() -> ResponseReturnValue:
    """A new journey's form: check, simulate or publish, as its button says."""
    action = request.form.get("action", "check")
    if action == "simulate":
        return _simulate(None)
    if action == "publish":
        return _publish(None)
    if action == "forecast":
        return _forecast(None)
    return _editor(None, _form())


@bp.get("/simulation")
@login_required("marketer")
def together() -> ResponseReturnValue:
    """Live journeys simulated together (a GET: it changes nothing): the form, and the
    report once journeys are chosen."""
    rt, args = _rt(), request.args
    chosen = args.getlist("journey")
    form = {"contacts": args.get("contacts", "500"), "days": args.get("days", "56"),
            "cohort": args.get("cohort", "prospects")}
    report, error, status = None, None, 200
    if chosen:
        try:
            report = ensemble.simulated_together(
                rt, chosen, _whole(form["contacts"], "number of contacts", 500),
                _whole(form["days"], "number of days", 56), form["cohort"])
        except NurtureError as exc:
            error, status = exc.sentence, exc.status
    return render_template(
        "journey_editor/together.html", live=list(ensemble.live_journeys(rt)),
        chosen=set(chosen), form=form, report=report, error=error,
        weekly=_together_chart(report) if report is not None else None,
        limits={"contacts": ensemble.MAX_CONTACTS, "days": ensemble.MAX_DAYS}), status


@bp.get("/<journey_id>/edit")
@login_required("marketer")
@refusals_shown_on("problem.html", title="There is no such journey")
def edit(journey_id: str) -> ResponseReturnValue:
    found = editing.draft(_rt(), journey_id)
    return _editor(journey_id, {"source": found.source, "based_on": str(found.based_on),
                                **DEFAULTS})


@bp.post("/<journey_id>/edit")
@login_required("marketer")
def check(journey_id: str) -> ResponseReturnValue:
    """Without JavaScript, the Check button: the draft's violations, each at its line."""
    return _editor(journey_id, _form())


@bp.post("/validate")
@login_required("marketer")
def validate() -> ResponseReturnValue:
    """The violations of the draft in the body (JSON {source}), for checking as one types."""
    body = request.get_json(silent=True)
    source = body.get("source") if isinstance(body, dict) else None
    if not isinstance(source, str):
        return jsonify(error="Send a JSON object whose 'source' is the journey's text."), 400
    try:
        found = editing.violations(_rt(), source)
    except Invalid as exc:
        return jsonify(error=exc.sentence), 413
    return jsonify(valid=not found,
                   violations=[{"line": v.line, "message": v.message} for v in found])


@bp.post("/<journey_id>/simulate")
@login_required("marketer")
def simulate(journey_id: str) -> ResponseReturnValue:
    return _simulate(journey_id)


@bp.post("/<journey_id>/forecast")
@login_required("marketer")
def forecast(journey_id: str) -> ResponseReturnValue:
    return _forecast(journey_id)


@bp.post("/<journey_id>/publish")
@login_required("marketer")
def publish(journey_id: str) -> ResponseReturnValue:
    return _publish(journey_id)


def _simulate(journey_id: str | None) -> ResponseReturnValue:
    form = _form()
    try:
        report = editing.simulated(_rt(), form["source"],
                                   _whole(form["contacts"], "number of contacts", 500),
                                   _whole(form["days"], "number of days", 60))
    except NurtureError as exc:
        return _editor(journey_id, form, exc.status, exc.sentence)
    return _editor(journey_id, form, report=report)


def _forecast(journey_id: str | None) -> ResponseReturnValue:
    form = _form()
    try:
        found = journey_forecast.forecast_draft(
            _rt(), form["source"], _whole(form["sample"], "number of contacts", 500),
            _whole(form["history_days"], "number of days of history", 30))
    except NurtureError as exc:
        return _editor(journey_id, form, exc.status, exc.sentence)
    return _editor(journey_id, form, forecast=found)


def _publish(journey_id: str | None) -> ResponseReturnValue:
    form = _form()
    try:
        result, entered = editing.published(
            _rt(), form["source"], _whole(form["based_on"], "version started from", 0),
            g.user.email, form["note"], journey_id)
    except NurtureError as exc:
        return _editor(journey_id, form, exc.status, exc.sentence)
    session[FLASH] = (f"Version {result.version} of {result.journey_id} is published"
                      + (f"; {entered:,} contacts entered" if entered else "")
                      + ". Contacts already in the journey stay on their version."
                      if result.created else
                      f"Nothing changed since version {result.version}: nothing was "
                      "published.")
    return redirect(url_for(".edit", journey_id=result.journey_id), 303)


def _daily_chart(report: Any) -> dict[str, Any]:
    """The sends-per-day chart's bars, scale and rows: marketing and service email stacked
    per day of the simulated period (transactional mail is counted in the table)."""
    rows = report.sends_per_day()
    top = max([r["marketing"] + r["service"] for r in rows] + [1])
    width = 640
    step = width / max(len(rows), 1)
    bars = [{"x": round(50 + i * step, 2), "w": round(max(step - 1, 0.6), 2),
             "m": round(r["marketing"] / top * 160, 2),
             "s": round(r["service"] / top * 160, 2), **r}
            for i, r in enumerate(rows)]
    ticks = [b for b in bars if (b["day"] - 1) % max(len(rows) // 6, 1) == 0]
    return {"title": f"Emails sent per day over {report.days} simulated days",
            "top": top, "bars": bars, "ticks": ticks, "width": width + 60, "rows": rows}


def _weekly_chart(found: Any) -> dict[str, Any]:
    """The forecast's sends-per-week bars and scale."""
    weeks = found.weeks
    top = max([int(w["sends"]) for w in weeks] + [1])
    step = 480 / max(len(weeks), 1)
    bars = [{"x": round(50 + i * step + 4, 2), "w": round(max(step - 8, 2), 2),
             "h": round(int(w["sends"]) / top * 160, 2), **w} for i, w in enumerate(weeks)]
    return {"title": f"Emails the draft would have sent per week, last {found.days} days",
            "top": top, "bars": bars, "width": 540}


def _together_chart(report: Any) -> dict[str, Any]:
    """Mean emails per contact per week, bars, with the cap as a line."""
    rows = report.weeks
    top = max([r.mean for r in rows] + [float(report.cap), 1.0])
    step = 480 / max(len(rows), 1)
    bars = [{"x": round(50 + i * step + 3, 2), "w": round(max(step - 6, 2), 2),
             "h": round(r.mean / top * 160, 2), "row": r} for i, r in enumerate(rows)]
    return {"title": "Emails per contact per week, all chosen journeys (mean)",
            "top": round(top, 2), "bars": bars, "width": 540,
            "cap_y": round(180 - report.cap / top * 160, 2)}
