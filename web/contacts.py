"""Contact lookup for marketers: `/contacts?email=...` shows one contact's consent,
suppression, journeys, sends (with the reason a send was skipped or failed) and events."""

from __future__ import annotations

from flask import Blueprint, current_app, render_template, request

from nurture.app.reports.contact_record import contact_record
from nurture.contacts.services import EMAIL
from web.auth import login_required

bp = Blueprint("contacts", __name__, url_prefix="/contacts")


@bp.get("")
@login_required("marketer")  # and admins
def lookup():
    email = request.args.get("email", "").strip()
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
                           services=rt.settings.services)
