"""Contacts for marketers: `/contacts` lists them (search, filters, sort, a page at a time);
`/contacts?email=...` shows one contact's consent,
suppression, journeys, sends (with the reason a send was skipped or failed), touches and
events; and, for a customer who leaves, ends service and billing (a confirmed POST)."""

from __future__ import annotations

from flask import Blueprint, current_app, render_template, request
from flask.typing import ResponseReturnValue

from nurture.accounts.services import deprovision as end_service
from nurture.app.reports.contact_record import contact_record
from nurture.audiences import browse
from nurture.contacts.services import EMAIL
from nurture.contacts.stages import STAGES
from web.auth import login_required
from web.errors import refusals_shown_on

bp = Blueprint("contacts", __name__, url_prefix="/contacts")


@bp.get("")
@login_required("marketer")  # and admins
def lookup():
    email = request.args.get("email", "").strip()
    if "email" not in request.args:
        return _list()
    if not email:
        return render_template("contacts/lookup.html", email="", record=None, error=None)
    if len(email) > 320 or not EMAIL.match(email):
        return render_template("contacts/lookup.html", email=email[:320], record=None,
                               error="Enter a whole email address, like ann@example.com."), 422
    rt = current_app.extensions["nurture"]
    record = contact_record(rt.db, email)
    if record is None:
        return render_template("contacts/lookup.html", email=email, record=None,
                               error=f"There is no contact with the address {email}."), 404
    return render_template("contacts/lookup.html", email=email, record=record, error=None,
                           retention_days=_retention_days(), services=rt.settings.services)


def _retention_days() -> int:
    return int(current_app.extensions["nurture"].settings.departure.retention_days)


@bp.post("/deprovision")
@login_required("marketer")  # and admins
@refusals_shown_on("problem.html", title="The service could not be ended",
                   back="contacts.lookup")
def deprovision() -> ResponseReturnValue:
    """End service and billing for the contact's customer, once the box is ticked."""
    email = request.form.get("email", "").strip()[:320]
    rt = current_app.extensions["nurture"]
    if request.form.get("confirmed") != "yes":
        record = contact_record(rt.db, email) if EMAIL.match(email) else None
        return render_template(
            "contacts/lookup.html", email=email, record=record, error=None,
            deprovision_error="Tick the box to confirm that service and billing stop now.",
            retention_days=_retention_days(), services=rt.settings.services), 422
    done = end_service(rt, email, source="console",
                       reason=request.form.get("reason", "")[:2000])
    return render_template(
        "contacts/lookup.html", email=email, record=contact_record(rt.db, email), error=None,
        done=f"Service and billing ended on {done.deprovisioned_at:%Y-%m-%d}. The account's "
             f"data is kept until {done.retention_until:%Y-%m-%d}, then deleted; every "
             "contact of the account is told so.", retention_days=_retention_days(),
        services=rt.settings.services)


def _list() -> ResponseReturnValue:
    """Every contact, searched, filtered and sorted, a page at a time."""
    args = request.args
    sort = args.get("sort", "newest")
    query = browse.Query(
        search=args.get("q", "")[:browse.MAX_SEARCH],
        filters=tuple((name, args.get(name, "")[:200]) for name in browse.FILTERS),
        consent=args.get("consent", ""), segment=args.get("segment", "")[:120],
        list_name=args.get("list", "")[:120],
        sort=sort if sort in browse.SORTS else "newest",
        descending=args.get("order", "desc" if sort in ("newest", "score") else "asc") == "desc",
        after=args.get("after", "")[:400])
    rt = current_app.extensions["nurture"]
    now = rt.now()
    shown = browse.listed(rt.db, query, now)
    kept = {k: v for k, v in args.items() if k not in ("after",) and v}
    return render_template("contacts/list.html", page=shown, query=query, args=kept,
                           choices=browse.choices(rt.db, now), stages=STAGES)
