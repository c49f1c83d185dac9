"""Segments in the console: the list with counts, and the builder, where a condition shows
its syntax error (line and column) or its live count and a sample as it is typed."""

from __future__ import annotations

from flask import (
    Blueprint,
    current_app,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue

from nurture.app.runtime import Runtime
from nurture.audiences import services
from nurture.audiences.errors import SegmentInvalid
from web.auth import login_required
from web.errors import refusals_shown_on

bp = Blueprint("segments", __name__, url_prefix="/segments")
FLASH = "segments_notice"


def _rt() -> Runtime:
    return current_app.extensions["nurture"]


@bp.get("")
@login_required("marketer")  # and admins
def index() -> ResponseReturnValue:
    rt = _rt()
    return render_template("segments/index.html", rows=services.listed(rt.db, rt.clock.now()),
                           notice=session.pop(FLASH, None))


@bp.get("/preview")
@login_required("marketer")
def preview() -> ResponseReturnValue:
    """The builder's live answer (JSON): the count and a sample, or the error with its
    line and column. A GET that changes nothing, so no CSRF token is needed."""
    rt = _rt()
    try:
        found = services.tried(rt.db, request.args.get("where", ""), rt.clock.now())
    except SegmentInvalid as exc:
        return jsonify(error=exc.sentence, line=exc.line, column=exc.column), 422
    return jsonify(count=found.count, sample=[
        {"email": s.email, "name": s.name, "stage": s.stage} for s in found.sample])


def _builder(segment_id: int | None, status: int = 200, error: SegmentInvalid | None = None
             ) -> ResponseReturnValue:
    rt = _rt()
    segment = services.shown(rt.db, segment_id) if segment_id is not None else None
    form = request.form if request.method == "POST" else {
        "name": segment.name if segment else "", "condition": segment.condition if segment
        else "", "description": segment.description if segment else ""}
    found = None
    if error is None and form.get("condition"):
        try:
            found = services.tried(rt.db, form["condition"], rt.clock.now())
        except SegmentInvalid as exc:  # saved before the language changed: say so
            error = exc
    return render_template("segments/builder.html", segment=segment, form=form,
                           error=error, found=found, notice=session.pop(FLASH, None)), status


@bp.get("/new")
@login_required("marketer")
def new() -> ResponseReturnValue:
    return _builder(None)


@bp.get("/<int:segment_id>")
@login_required("marketer")
@refusals_shown_on("problem.html", title="There is no such segment", back="segments.index")
def edit(segment_id: int) -> ResponseReturnValue:
    return _builder(segment_id)


@bp.post("/new")
@bp.post("/<int:segment_id>")
@login_required("marketer")
@refusals_shown_on("problem.html", title="The segment was not saved", back="segments.index")
def save(segment_id: int | None = None) -> ResponseReturnValue:
    rt, form = _rt(), request.form
    try:
        saved = services.saved(rt.db, segment_id, form.get("name", ""),
                               form.get("condition", ""), rt.clock.now(), g.user.email,
                               form.get("description", ""))
    except SegmentInvalid as exc:  # presentation: the sentence beside the builder
        if segment_id is not None:
            services.shown(rt.db, segment_id)  # a segment that is gone is a 404
        return _builder(segment_id, exc.status, exc)
    session[FLASH] = f"The segment {form.get('name', '').strip()!r} was saved."
    return redirect(url_for(".edit", segment_id=saved), 303)


@bp.post("/<int:segment_id>/delete")
@login_required("marketer")
@refusals_shown_on("problem.html", title="The segment was not deleted", back="segments.index")
def delete(segment_id: int) -> ResponseReturnValue:
    name = services.removed(_rt().db, segment_id)
    session[FLASH] = f"The segment {name!r} was deleted."
    return redirect(url_for(".index"), 303)
