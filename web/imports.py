"""Importing contacts in the console: upload a CSV file (kept under the var dir), map its
columns and choose the options, then follow the job a worker runs: its progress (polled)
and its report, with the rejected rows to download."""

from __future__ import annotations

from collections.abc import Iterator

from flask import (
    Blueprint,
    Response,
    current_app,
    g,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import RequestEntityTooLarge

from nurture.app.runtime import Runtime
from nurture.contacts.imports import mappings, queries, service, uploads
from nurture.contacts.imports.errors import ImportFileError, MappingError
from nurture.contacts.imports.mapping import ATTRIBUTE, FIELDS
from nurture.contacts.imports.options import POLICIES, checked
from nurture.text import UNSTORABLE
from web.auth import login_required
from web.errors import refusals_shown_on

bp = Blueprint("imports", __name__, url_prefix="/contacts/import")
MB = 1024 * 1024


def _rt() -> Runtime:
    runtime: Runtime = current_app.extensions["nurture"]
    return runtime


@bp.before_request
def _upload_limit() -> None:
    """The file upload alone may be larger than the app's 1 MB (`NURTURE_IMPORT_MAX_MB`)."""
    if request.endpoint == "imports.upload":
        request.max_content_length = _rt().settings.web.import_max_mb * MB


def _start_page(error: str | None = None, status: int = 200) -> ResponseReturnValue:
    return render_template("contacts/import_start.html", error=error,
                           jobs=queries.recent(_rt()),
                           max_mb=_rt().settings.web.import_max_mb), status


@bp.errorhandler(RequestEntityTooLarge)
def _too_large(_error: RequestEntityTooLarge) -> ResponseReturnValue:
    return _start_page(f"The file is larger than {_rt().settings.web.import_max_mb} MB, the "
                       "most the console takes; split it, or import it with `nurture "
                       "contacts import`.", 413)


@bp.get("")
@login_required("marketer")  # and admins
def start() -> ResponseReturnValue:
    return _start_page()


@bp.post("")
@login_required("marketer")
def upload() -> ResponseReturnValue:
    given = request.files.get("file")
    if given is None or not given.filename:
        return _start_page("Choose a CSV file to upload.", 422)
    try:
        token = uploads.store(_rt().settings.var_dir, given.stream)
    except ImportFileError as exc:
        return _start_page(exc.sentence, 422)
    return redirect(url_for("imports.mapping", upload=token,
                            name=_file_name(given.filename)), 303)


def _file_name(name: str) -> str:
    """The uploaded file's name as shown and kept: its last 255 characters, anything no
    database can store left out."""
    return UNSTORABLE.sub("", name)[-255:]


def _mapping_page(token: str, chosen: dict[str, str] | None = None,
                  error: str | None = None, status: int = 200) -> ResponseReturnValue:
    rt = _rt()
    preview = uploads.preview(uploads.path_of(rt.settings.var_dir, token))
    saved_name = request.args.get("mapping", "")
    with rt.sessions() as session:
        saved = mappings.names(session)
        if chosen is None and saved_name in saved:
            chosen = {**preview.suggested, **mappings.for_header(
                mappings.load(session, saved_name), preview.header)}
    return render_template("contacts/import_map.html", token=token, preview=preview,
                           chosen=chosen or preview.suggested, fields=FIELDS,
                           attribute=ATTRIBUTE, policies=POLICIES, saved=saved,
                           saved_name=saved_name, form=request.form, error=error,
                           name=_file_name(request.values.get("name", ""))), status


@bp.get("/files/<upload>")
@login_required("marketer")
@refusals_shown_on("problem.html", title="This upload cannot be imported",
                   back="imports.start")
def mapping(upload: str) -> ResponseReturnValue:
    return _mapping_page(upload)


@bp.post("/files/<upload>")
@login_required("marketer")
@refusals_shown_on("problem.html", title="This upload cannot be imported",
                   back="imports.start")
def begin(upload: str) -> ResponseReturnValue:
    rt = _rt()
    token = upload
    path = uploads.path_of(rt.settings.var_dir, token)
    columns = uploads.preview(path).header
    form = request.form
    chosen: dict[str, str] = {}
    for index, column in enumerate(columns):
        target = form.get(f"col-{index}", "")[:100]
        chosen[column] = ATTRIBUTE + column if target == "attribute" else target
    by = g.user.email
    save_as = form.get("save_as", "").strip()[:200]
    try:
        options = checked(form.get("policy", "update"), form.get("list", "")[:200],
                          form.get("basis", "")[:1000], form.get("consented_at", "")[:40],
                          form.get("start_journeys") == "yes", rt.now())
        if save_as:
            mappings.check_name(save_as)
        service.check_mapping(path, chosen)
    except MappingError as exc:
        return _mapping_page(token, chosen, exc.sentence, 422)
    job_id = service.create(rt, uploads.for_job(rt.settings.var_dir, token),
                            _file_name(form.get("name", "")) or "upload.csv", chosen, options,
                            by, background=True)
    if save_as:
        with rt.transaction() as session:
            mappings.save(session, save_as, chosen, by, rt.now())
    return redirect(url_for("imports.job", job_id=job_id), 303)


@bp.get("/<int:job_id>")
@login_required("marketer")
@refusals_shown_on("problem.html", title="No such import", back="imports.start")
def job(job_id: int) -> ResponseReturnValue:
    return render_template("contacts/import_job.html", job=queries.job(_rt(), job_id))


@bp.get("/<int:job_id>/progress")
@login_required("marketer")
def progress(job_id: int) -> ResponseReturnValue:
    """The job's progress for the page to poll: small, and never cached."""
    view = queries.job(_rt(), job_id)
    body = {"status": view.status, "percent": view.percent, "line": view.line,
            "total_lines": view.total_lines, "rows_read": view.rows_read,
            "created": view.created, "updated": view.updated, "skipped": view.skipped,
            "duplicates": view.duplicates, "rejected": view.rejected,
            "rows_per_second": view.rows_per_second, "finished": view.finished}
    return body, 200, {"Cache-Control": "no-store"}


@bp.get("/<int:job_id>/rejects.csv")
@login_required("marketer")
@refusals_shown_on("problem.html", title="No such import", back="imports.start")
def rejects(job_id: int) -> ResponseReturnValue:
    rt = _rt()
    queries.job(rt, job_id)  # a 404 page, not a broken download

    def lines() -> Iterator[str]:
        yield from queries.rejects_csv(rt, job_id)

    return Response(stream_with_context(lines()), mimetype="text/csv", headers={
        "Content-Disposition": f"attachment; filename=import-{job_id}-rejected-rows.csv"})


@bp.post("/<int:job_id>/resume")
@login_required("marketer")
@refusals_shown_on("problem.html", title="No such import", back="imports.start")
def resume(job_id: int) -> ResponseReturnValue:
    rt = _rt()
    service.requeue(rt, queries.job(rt, job_id).id, rt.now())
    return redirect(url_for("imports.job", job_id=job_id), 303)
