"""Mail nobody could act on (replies, out-of-office, reports without a failure), kept for a
person: newest first, with the count not yet read. Marketers and admins."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, g, redirect, render_template, request, url_for

from nurture.inbound import queries
from web.auth import login_required

bp = Blueprint("inbound", __name__, url_prefix="/inbound")


@bp.get("")
@login_required("marketer")
def index():
    page = request.args.get("page", 1, type=int) or 1
    return render_template("inbound/index.html",
                           found=queries.kept_page(current_app.extensions["nurture"], page))


@bp.get("/<int:message_id>")
@login_required("marketer")
def message(message_id: int):
    kept = queries.kept(current_app.extensions["nurture"], message_id)
    if kept is None:
        abort(404)
    return render_template("inbound/message.html", m=kept)


@bp.post("/<int:message_id>/read")
@login_required("marketer")
def mark_read(message_id: int):
    if not queries.mark_read(current_app.extensions["nurture"], message_id, g.user.email):
        abort(404)
    return redirect(url_for(".index"), 303)
