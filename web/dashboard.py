"""A first marketer view: published journeys, where contacts are, and recent email.
Marketers and admins only; `/healthz` stays open for load balancers."""

from __future__ import annotations

from flask import Blueprint, current_app, render_template
from sqlalchemy import func, select

from journeys.models import Activity, Enrollment, JourneyVersion
from nurture.sending.models import Send
from web.auth import login_required

bp = Blueprint("dashboard", __name__)


@bp.get("/healthz")
def healthz():
    return {"ok": True}


@bp.get("/")
@login_required("marketer")  # and admins
def index():
    rt = current_app.extensions["nurture"]
    with rt.db.sessions() as session:
        versions = session.execute(
            select(JourneyVersion.journey_id, JourneyVersion.name,
                   func.max(JourneyVersion.version))
            .group_by(JourneyVersion.journey_id, JourneyVersion.name)
            .order_by(JourneyVersion.journey_id)).all()
        status = {(j, s): n for j, s, n in session.execute(
            select(Enrollment.journey_id, Enrollment.status, func.count())
            .group_by(Enrollment.journey_id, Enrollment.status))}
        deferred = session.scalar(select(func.count()).where(Activity.kind == "deferred"))
        sends = session.execute(select(Send.to_email, Send.template, Send.status,
                                       Send.created_at)
                                .order_by(Send.id.desc()).limit(20)).all()
    rows = [{"id": j, "name": n, "version": v,
             "active": status.get((j, "active"), 0),
             "completed": status.get((j, "completed"), 0),
             "exited": status.get((j, "exited"), 0)} for j, n, v in versions]
    return render_template("dashboard.html", journeys=rows, sends=sends, deferred=deferred)
