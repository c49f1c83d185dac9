"""The console's home page for marketers and admins: what email and trials did over the
last 30, 90 or 365 days, as charts; what is waiting now; published journeys and recent
email. `/healthz` and `/readyz` stay open for load balancers."""

from __future__ import annotations

from flask import Blueprint, current_app, render_template, request

from journeys import queries as journeys
from nurture.app.doctor import readiness
from nurture.app.reports import home
from nurture.inbound import queries as inbound
from nurture.sending import queries as sends
from web.auth import login_required
from web.charts import Chart, Series

bp = Blueprint("dashboard", __name__)
PERIODS = {"30": "30 days", "90": "90 days", "365": "365 days"}


@bp.get("/healthz")
def healthz():
    """Alive: the process answers (a load balancer's liveness check)."""
    return {"ok": True}


@bp.get("/readyz")
def readyz():
    """Ready: the database and Redis answer too (a load balancer's readiness check); 503
    with what is wrong otherwise, so traffic goes to another web process."""
    rt = current_app.extensions["nurture"]
    found = readiness(rt.db, rt.settings.redis_url)
    ready = all(value == "ok" for value in found.values())
    return {"ok": ready, **found}, 200 if ready else 503


@bp.get("/")
@login_required("marketer")  # and admins
def index():
    rt = current_app.extensions["nurture"]
    days = request.args.get("days", "30")
    if days not in PERIODS:  # an unknown period shows the default, not an error
        days = "30"
    now = rt.clock.now()
    seen = journeys.overview(rt.db)
    return render_template("dashboard.html", journeys=seen.journeys,
                           sends=sends.recent_sends(rt.db), deferred=seen.deferred,
                           inbound_unread=inbound.unread(rt), days=days, periods=PERIODS,
                           charts=charts(home.daily(rt.db, now, int(days)), PERIODS[days]),
                           waiting=home.waiting(rt.db, now))


def charts(days: list[home.Day], period: str) -> list[Chart]:
    """Email sent, what people did with it, and trials started, per day."""
    labels = [d.day.isoformat() for d in days]

    def series(*names: str) -> list[Series]:
        return [Series(name.capitalize(), [getattr(d, name) for d in days]) for name in names]

    return [
        Chart(f"Emails sent per day, last {period}", "day (UTC)", "emails", labels,
              series("sent"), kind="line", key="home-sent"),
        Chart(f"Human opens and clicks per day, last {period}", "day (UTC)", "emails",
              labels, series("opened", "clicked"), kind="line", key="home-engagement",
              note="Opens and clicks by mail-privacy proxies and link scanners are left out."),
        Chart(f"Unsubscribes and bounces per day, last {period}", "day (UTC)", "contacts",
              labels, series("unsubscribed", "bounced"), kind="line", key="home-losses"),
        Chart(f"Trials started per day, last {period}", "day (UTC)", "trials", labels,
              series("trials"), kind="bar", key="home-trials"),
    ]
