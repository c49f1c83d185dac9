"""Insights: customer lifetime value for marketers and sales (the five best customers and
the average CLV, from Nurture's own purchase events: BG/NBD + Gamma-Gamma, `scoring/clv.py`),
and email performance for marketers (`nurture/app/reports/email.py`)."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from flask import Blueprint, current_app, render_template, request

from nurture.app.reports import acquisition, email, home
from scoring import queries as scoring
from scoring.clv import CLVReport, CustomerValue
from scoring.errors import CLVError
from web.auth import login_required
from web.charts import Chart, Series, histogram

bp = Blueprint("insights", __name__, url_prefix="/insights")
HORIZONS = {"52": "one year", "104": "two years", "156": "three years"}
PERIODS = {"7": "7 days", "30": "30 days", "90": "90 days"}


@bp.get("/customer-value")
@login_required("sales", "marketer")
def customer_value():
    rt = current_app.extensions["nurture"]
    horizon = request.args.get("horizon", "52")
    if horizon not in HORIZONS:
        horizon = "52"
    tz = ZoneInfo(rt.settings.timezone)
    end = rt.clock.now().astimezone(tz).date()
    report, best, error = None, [], None
    try:
        report, best = scoring.customer_value(rt.db, tz, end, int(horizon))
    except CLVError as exc:  # presentation: the report page says why it has no numbers
        error = str(exc)
    return render_template("insights/customer_value.html", report=report, best=best,
                           error=error, end=end, horizon=horizon, horizons=HORIZONS,
                           charts=_value_charts(report, best) if report else [])


SCATTER_MAX = 300  # customers in the value/P(alive) chart: the most valuable ones


def _value_charts(report: CLVReport, best: list[tuple[CustomerValue, str]]) -> list[Chart]:
    """The spread of predicted CLV, the five best customers, and each customer's chance
    of still being active against their value."""
    values = [c.clv for c in report.customers]
    labels, counts = histogram(values)
    top = sorted(report.customers, key=lambda c: -c.clv)[:SCATTER_MAX]
    return [
        Chart("Customers by predicted lifetime value", "CLV", "customers", labels,
              [Series("Customers", counts)], key="clv-spread",
              note=f"Average {report.average_clv:,.2f} over {len(values):,} customers."),
        Chart("The five best customers", "customer", "CLV",
              [email or c.customer_id for c, email in best],
              [Series("CLV", [c.clv for c, _ in best])], kind="hbar", digits=2,
              key="clv-best", height=max(160, 60 + 32 * len(best))),
        Chart("Chance still active against value", "CLV", "chance still active (%)",
              [c.customer_id for c in top],
              [Series("Customers", points=[(c.clv, 100 * c.p_alive) for c in top])],
              kind="xy", digits=1, key="clv-alive",
              note="A valuable customer with a low chance may be slipping away."
                   + (f" The {SCATTER_MAX} most valuable customers are shown."
                      if len(report.customers) > SCATTER_MAX else "")),
    ]


@bp.get("/acquisition-ceiling")
@login_required("sales", "marketer")
def acquisition_ceiling():
    """What a new customer may cost to win, per source, vertical and referral source."""
    rt = current_app.extensions["nurture"]
    tz = ZoneInfo(rt.settings.timezone)
    end = rt.clock.now().astimezone(tz).date()
    report = acquisition.acquisition_ceiling(rt.db, end, tz, rt.settings.scoring.gross_margin)
    return render_template("insights/acquisition_ceiling.html", report=report, end=end,
                           dimensions=acquisition.DIMENSIONS)


@bp.get("/email")
@login_required("marketer")  # and admins
def email_performance():
    rt = current_app.extensions["nurture"]
    days = request.args.get("days", "30")
    if days not in PERIODS:
        days = "30"
    rows = email.email_performance(rt.db, rt.clock.now() - timedelta(days=int(days)),
                                   rt.settings.sending.utm_source)
    trend = home.daily(rt.db, rt.clock.now(), int(days))
    return render_template("insights/email.html", rows=rows, classes=email.by_class(rows),
                           days=days, periods=PERIODS,
                           charts=_email_charts(rows, trend, PERIODS[days]))


def _email_charts(rows: list[email.TemplateStats], trend: list[home.Day],
                  period: str) -> list[Chart]:
    """Sends, human opens and clicks per day; each template's open and click rates."""
    labels = [d.day.isoformat() for d in trend]
    sent = [r for r in rows if r.sent]
    names = [f"{r.template} ({r.journey or 'outside journeys'})" for r in sent]
    return [
        Chart(f"Emails sent, opened and clicked per day, last {period}", "day (UTC)",
              "emails", labels,
              [Series(name.capitalize(), [getattr(d, name) for d in trend])
               for name in ("sent", "opened", "clicked")], kind="line", key="email-trend",
              note="Opens and clicks by people; privacy proxies and link scanners left out."),
        Chart(f"Open and click rates by template, last {period}", "template", "% of sent",
              names, [Series("Opened %", [100 * (r.open_rate or 0) for r in sent]),
                      Series("Clicked %", [100 * (r.click_rate or 0) for r in sent])],
              kind="hbar", digits=1, key="email-templates", value_range=(0, 100),
              height=max(180, 80 + 40 * len(sent))),
    ]
