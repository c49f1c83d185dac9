"""Bulk actions from the contact list: the contacts ticked, or a whole segment, added to a
list, enrolled in a journey, moved to a stage, or erased. The first POST shows how many
contacts the action touches and asks for confirmation; the second carries the signed
count back, and is refused if the selection changed in between."""

from __future__ import annotations

from flask import Blueprint, current_app, g, render_template, request
from flask.typing import ResponseReturnValue

from nurture.app import contact_admin
from nurture.audiences.bulk import ACTIONS, BulkRefused, Selection
from web.auth import login_required
from web.errors import refusals_shown_on

bp = Blueprint("contact_bulk", __name__, url_prefix="/contacts/bulk")
MAX_ID = 2**63 - 1


def _selection() -> Selection:
    """The contacts ticked (`ids`), or the segment or list chosen; BulkRefused for a bad id."""
    if request.form.get("scope") == "list":
        name = request.form.get("list", "").strip()
        if not name or len(name) > 120:
            raise BulkRefused("Choose the list whose contacts the action is for.")
        return Selection(list_name=name)
    segment = request.form.get("segment", "").strip()
    if request.form.get("scope") == "segment" or (segment and not request.form.getlist("ids")):
        if not segment or len(segment) > 120:
            raise BulkRefused("Choose the segment whose contacts the action is for.")
        return Selection(segment=segment)
    ids = []
    for value in request.form.getlist("ids"):
        if not (value.isascii() and value.isdigit() and 0 < len(value) <= 19
                and int(value) <= MAX_ID):
            raise BulkRefused("The contacts ticked are not valid; tick them again on the "
                              "contact list.")
        ids.append(int(value))
    return Selection(ids=tuple(ids))


@bp.post("")
@login_required("marketer")  # and admins
@refusals_shown_on("problem.html", title="The bulk action was not started",
                   back="contacts.lookup")
def confirm() -> ResponseReturnValue:
    """How many contacts the action will touch, and the button that confirms it."""
    action = request.form.get("action", "")
    value = request.form.get(f"value_{action}", request.form.get("value", ""))[:200]
    plan = contact_admin.plan(current_app.extensions["nurture"], _selection(), action, value)
    return render_template("contacts/bulk_confirm.html", plan=plan, actions=ACTIONS)


@bp.post("/run")
@login_required("marketer")  # and admins
@refusals_shown_on("problem.html", title="The bulk action was not done",
                   back="contacts.lookup")
def run() -> ResponseReturnValue:
    """Do the action confirmed, in batches; refused if the selection changed."""
    token = request.form.get("token", "")[:4000]
    done = contact_admin.run(current_app.extensions["nurture"], _selection(), token,
                             g.user.email)
    return render_template("contacts/bulk_done.html", done=done, actions=ACTIONS)
