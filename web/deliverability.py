"""Deliverability: each journey's complaint and hard-bounce rates against the guard's
thresholds, its pause, and the forms to pause and resume one with a reason
(`nurture/app/guard.py`)."""

from __future__ import annotations

from flask import Blueprint, current_app, g, redirect, render_template, request, session, url_for

from nurture.app import guard
from nurture.app.runtime import Runtime
from web.auth import login_required
from web.errors import refusals_shown_on

bp = Blueprint("deliverability", __name__, url_prefix="/deliverability")
FLASH = "deliverability_notice"


def _rt() -> Runtime:
    return current_app.extensions["nurture"]


@bp.get("")
@login_required("marketer")  # and admins
def index():
    return render_template("deliverability/index.html", status=guard.status(_rt()),
                           notice=session.pop(FLASH, None))


@bp.post("/pause")
@login_required("marketer")
@refusals_shown_on(title="The journey was not paused", back="deliverability.index")
def pause():
    row = guard.pause(_rt(), request.form.get("source", ""), request.form.get("reason", ""),
                      g.user.email)
    session[FLASH] = (f"The journey {row.source_id} is paused: its marketing email is held "
                      f"until someone resumes it.")
    return redirect(url_for(".index"), 303)


@bp.post("/resume")
@login_required("marketer")
@refusals_shown_on(title="The journey was not resumed", back="deliverability.index")
def resume():
    source = request.form.get("source", "")
    released = guard.resume(_rt(), source, request.form.get("reason", ""), g.user.email)
    session[FLASH] = (f"The journey {source} is resumed: {released['sends']} held emails go "
                      f"out under the frequency cap and quiet hours, and "
                      f"{released['enrollments']} contacts move on.")
    return redirect(url_for(".index"), 303)
