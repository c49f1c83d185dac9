"""A first marketer view: published journeys, where contacts are, and recent email.
Marketers and admins only; `/healthz` stays open for load balancers."""

from __future__ import annotations

from flask import Blueprint, current_app, render_template

from journeys import queries as journeys
from nurture.inbound import queries as inbound
from nurture.sending import queries as sends
from web.auth import login_required

bp = Blueprint("dashboard", __name__)


@bp.get("/healthz")
def healthz():
    return {"ok": True}


@bp.get("/")
@login_required("marketer")  # and admins
def index():
    rt = current_app.extensions["nurture"]
    seen = journeys.overview(rt.db)
    return render_template("dashboard.html", journeys=seen.journeys,
                           sends=sends.recent_sends(rt.db), deferred=seen.deferred,
                           inbound_unread=inbound.unread(rt))
