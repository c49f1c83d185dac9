"""The sales inbox: hand-offs by priority with the score, its explanation and the recent
timeline; accept, send back to nurture with a reason, or mark the deal won or lost.

A rep reaches their own leads and the unassigned queue (`scoring.access`); any other id is
the same 404 as one that does not exist."""

from __future__ import annotations

from datetime import timedelta

from flask import (
    Blueprint,
    abort,
    current_app,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)

from nurture.app.reports.sales import SalesReport, sales_report, wait_bins
from nurture.app.runtime import Runtime
from scoring import services as scoring_services
from scoring.errors import HandoffConflict, HandoffError, HandoffInvalid
from scoring.queries import handoff_detail, inbox
from scoring.rules import HandoffPolicy
from scoring.sales import REJECT_REASONS, check_amount
from scoring.scorer import rules_from
from web.auth import login_required
from web.charts import Chart, Series
from web.errors import refusals_shown_on

bp = Blueprint("sales", __name__, url_prefix="/sales")
VIEWS = {"mine": "My leads", "all": "All open", "closed": "Closed"}
FLASH = "sales_notice"


def _rt() -> Runtime:
    return current_app.extensions["nurture"]


@bp.get("")
@login_required("sales", "marketer")
def index():
    show = request.args.get("show", "mine")
    if show not in VIEWS or (show == "all" and g.user.role == "sales"):
        show = "mine"
    views = {k: v for k, v in VIEWS.items() if k != "all" or g.user.role != "sales"}
    return render_template("sales/inbox.html", rows=inbox(_rt(), g.user, show), show=show,
                           views=views, notice=session.pop(FLASH, None))


@bp.get("/report")
@login_required("sales", "marketer")
def report():
    """Grades, time to acceptance against the SLA, and each rep's outcomes, as charts."""
    rt = _rt()
    rules = rules_from(rt.settings.scoring.rules_file)
    sla = (rules.handoff if rules else HandoffPolicy()).sla
    seen = sales_report(rt.db, rt.clock.now(), sla)
    return render_template("sales/report.html", seen=seen, sla=sla,
                           hours=f"{sla.total_seconds() / 3600:g}",
                           charts=_charts(seen, sla))


def _charts(seen: SalesReport, sla: timedelta) -> list[Chart]:
    bins = wait_bins(seen.waits, sla)
    reps = seen.reps
    return [
        Chart("Contacts by grade", "grade", "contacts", list(seen.grades),
              [Series("Contacts", list(seen.grades.values()))], key="sales-grades",
              note="The grade is how well a contact fits: A best, D least."),
        Chart("Time from hand-off to acceptance", "time to accept", "hand-offs",
              [label for label, _ in bins], [Series("Hand-offs", [n for _, n in bins])],
              key="sales-waits",
              note=f"The SLA is {sla.total_seconds() / 3600:g} hours: the first two bars "
                   "met it."),
        Chart("Accepted, rejected and won per rep", "rep", "hand-offs",
              [r.rep for r in reps],
              [Series(name.capitalize(), [getattr(r, name) for r in reps])
               for name in ("accepted", "rejected", "won")], key="sales-reps"),
    ]


@bp.get("/handoffs/<int:handoff_id>")
@login_required("sales", "marketer")
def detail(handoff_id: int):
    return _detail(handoff_id)


def _detail(handoff_id: int, error: str | None = None, status: int = 200):
    item = handoff_detail(_rt(), _rt().settings, handoff_id, g.user)
    if item is None:
        abort(404)
    return render_template("sales/handoff.html", h=item, error=error,
                           reasons=REJECT_REASONS, form=request.form,
                           notice=session.pop(FLASH, None)), status


def _act(handoff_id: int, work, done: str):
    try:
        work()
    except (HandoffInvalid, HandoffConflict) as exc:  # presentation: beside the lead's forms
        return _detail(handoff_id, exc.sentence, exc.status)
    session[FLASH] = done
    return redirect(url_for(".detail", handoff_id=handoff_id), 303)


@bp.post("/handoffs/<int:handoff_id>/accept")
@login_required("sales", "marketer")
@refusals_shown_on(back="sales.index")
def accept(handoff_id: int):
    return _act(handoff_id, lambda: scoring_services.accept(_rt(), _rt().settings, handoff_id,
                                                            g.user.id),
                "You accepted the lead. It is yours now.")


@bp.post("/handoffs/<int:handoff_id>/reject")
@login_required("sales", "marketer")
@refusals_shown_on(back="sales.index")
def reject(handoff_id: int):
    code, detail = request.form.get("reason", ""), request.form.get("detail", "")
    return _act(handoff_id, lambda: scoring_services.reject(_rt(), _rt().settings, handoff_id,
                                                            g.user.id, code, detail),
                "The lead went back to nurture with your reason.")


@bp.post("/handoffs/<int:handoff_id>/close")
@login_required("sales", "marketer")
@refusals_shown_on(back="sales.index")
def close(handoff_id: int):
    outcome = request.form.get("outcome")
    if outcome not in ("won", "lost"):
        return _detail(handoff_id, "Choose whether the deal was won or lost.", 422)
    raw = (request.form.get("amount") or "").strip().replace(",", "")
    try:
        amount = float(raw) if raw and outcome == "won" else None
        check_amount(amount)  # nan, inf and 1e999 parse as floats
    except ValueError as exc:  # presentation: the amount's sentence beside the form
        message = str(exc) if isinstance(exc, HandoffError) else \
            "The deal amount must be a number, such as 12000."
        return _detail(handoff_id, message, 422)
    detail = request.form.get("detail", "")
    return _act(handoff_id, lambda: scoring_services.close(_rt(), _rt().settings, handoff_id,
                                                           g.user.id, outcome == "won", detail,
                                                           amount),
                f"The deal is marked {outcome}.")
