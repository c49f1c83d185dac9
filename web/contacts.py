"""Contacts for marketers: `/contacts` lists them (search, filters, sort, a page at a time);
`/contacts?email=...` shows one contact's consent,
suppression, journeys, sends (with the reason a send was skipped or failed), touches and
events, and the audit trail of its edits; its fields, attributes, stage and owner are
edited there, everything stored about it is exported as one JSON file, and it can be
erased after a confirmation; and, for a customer who leaves, service and billing end (a
confirmed POST)."""

from __future__ import annotations

import json

from flask import Blueprint, Response, current_app, g, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from nurture.accounts.services import deprovision as end_service
from nurture.app import contact_admin
from nurture.app.reports.contact_record import contact_record
from nurture.audiences import browse
from nurture.audiences.bulk import ACTIONS
from nurture.contacts.editing import MANUAL_STAGES
from nurture.contacts.errors import ContactError
from nurture.contacts.services import EMAIL
from nurture.contacts.stages import STAGES
from nurture.errors import Invalid
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
    saved = "The changes were saved; the audit trail below shows them." \
        if "saved" in request.args else None
    return _page(email, record, done=saved)


def _page(email: str, record: object, status: int = 200, **extra: object) -> ResponseReturnValue:
    """The contact page, with its edit form (the values sent, when they were refused)."""
    rt = current_app.extensions["nurture"]
    return render_template(
        "contacts/lookup.html", email=email, record=record, error=None,
        retention_days=_retention_days(), services=rt.settings.services,
        stages=MANUAL_STAGES, owners=contact_admin.staff(rt), **extra), status


def _email() -> str:
    """The form's or the query's address; Invalid when it is not one."""
    email = (request.form.get("email") if request.method == "POST"
             else request.args.get("email", "")) or ""
    email = email.strip()
    if len(email) > 320 or not EMAIL.match(email):
        raise Invalid("Enter a whole email address, like ann@example.com.")
    return email


@bp.post("/edit")
@login_required("marketer")  # and admins
@refusals_shown_on("problem.html", title="The contact was not changed", back="contacts.lookup")
def edit() -> ResponseReturnValue:
    """Change the contact's fields, attributes, stage or owner; each change is audited."""
    email = _email()
    rt = current_app.extensions["nurture"]
    try:
        changes = contact_admin.edit(rt, email, request.form, g.user.email)
    except ContactError as exc:
        record = contact_record(rt.db, email)
        if record is None:
            raise
        problems = exc.violations or []
        return _page(email, record, 422, edit_error=str(exc), problems=problems,
                     sent=request.form)
    if not changes:
        return _page(email, contact_record(rt.db, email), done="Nothing was changed.")
    return redirect(url_for("contacts.lookup", email=email, saved=len(changes)), 303)


@bp.get("/export")
@login_required("marketer")  # and admins
@refusals_shown_on("problem.html", title="The contact could not be exported",
                   back="contacts.lookup")
def export() -> ResponseReturnValue:
    """Everything stored about the contact, as one JSON file (a data-access request)."""
    email = _email()
    document = contact_admin.export(current_app.extensions["nurture"], email)
    name = f"contact-{document['contact_id']}.json"
    return Response(json.dumps(document, indent=2, ensure_ascii=False, default=str),
                    mimetype="application/json",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


@bp.get("/erase")
@login_required("marketer")  # and admins
@refusals_shown_on("problem.html", title="The contact cannot be erased", back="contacts.lookup")
def erase_confirm() -> ResponseReturnValue:
    """What erasing the contact deletes, and the confirmation."""
    return _erase_page(_email())


def _erase_page(email: str, status: int = 200, error: str | None = None) -> ResponseReturnValue:
    document = contact_admin.export(current_app.extensions["nurture"], email)
    held = {name: len(rows) for name, rows in document["tables"].items()}
    return render_template("contacts/erase.html", email=document["email"], held=held,
                           error=error), status


@bp.post("/erase")
@login_required("marketer")  # and admins
@refusals_shown_on("problem.html", title="The contact cannot be erased", back="contacts.lookup")
def erase() -> ResponseReturnValue:
    """Erase the contact, once the box is ticked: nothing of them is left but a hash of
    the address on the suppression list."""
    email = _email()
    if request.form.get("confirmed") != "yes":
        return _erase_page(email, 422, "Tick the box to confirm that everything about this "
                                       "contact is deleted for good.")
    contact_admin.erase(current_app.extensions["nurture"], email, g.user.email)
    return render_template("contacts/erased.html")


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
        return _page(email, record, 422, deprovision_error="Tick the box to confirm that "
                     "service and billing stop now.")
    done = end_service(rt, email, source="console",
                       reason=request.form.get("reason", "")[:2000])
    return _page(email, contact_record(rt.db, email),
                 done=f"Service and billing ended on {done.deprovisioned_at:%Y-%m-%d}. The "
                      f"account's data is kept until {done.retention_until:%Y-%m-%d}, then "
                      "deleted; every contact of the account is told so.")


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
                           choices=browse.choices(rt.db, now), stages=STAGES,
                           actions=ACTIONS, manual_stages=MANUAL_STAGES,
                           journeys=contact_admin.journeys(rt))
