"""A first marketer view: published journeys, where contacts are, and recent email.
Marketers and admins only; `/healthz` stays open for load balancers."""

from __future__ import annotations

from flask import Blueprint, current_app, render_template

from journeys import queries as journeys
from nurture.sending import queries as sends
from web.auth import login_required

bp = Blueprint("dashboard", __name__)


@bp.get("/healthz")
def healthz():
    return {"ok": True}


@bp.get("/")
@login_required("marketer")  # and admins
def index():
    db = current_app.extensions["nurture"].db
    seen = journeys.overview(db)
    return render_template("dashboard.html", journeys=seen.journeys,
                           sends=sends.recent_sends(db), deferred=seen.deferred)
