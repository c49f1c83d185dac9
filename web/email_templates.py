"""Email templates in the console: every template with its variants and any problem
(`/templates`), and one email as a contact would get it, on a phone and a desktop
(`/templates/<name>`). The email's own HTML is served apart, sandboxed, for the frames."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, make_response, render_template, request, url_for
from sqlalchemy import select

from nurture.contacts.models import Contact
from nurture.contacts.services import EMAIL, email_key
from nurture.sending.preview import SAMPLE, for_preview, names, render_preview
from nurture.sending.render import TemplateError, store_for
from web.auth import login_required

bp = Blueprint("email_templates", __name__, url_prefix="/templates")
CHOICES = ("variant", "vertical", "stage")
# The email's HTML runs no script and reaches nothing but images, styles and fonts.
FRAME_POLICY = ("sandbox; default-src 'none'; img-src https: http: data:; "
                "style-src 'unsafe-inline' https:; font-src https: data:; "
                "frame-ancestors 'self'")


class _Refused(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


def _store():
    return store_for(current_app.extensions["nurture"].settings.templates_dir)


@bp.get("")
@login_required("marketer")  # and admins
def index():
    store = _store()
    rows = []
    for name, variants in names(store).items():
        folders = [name, *variants]
        rows.append({"name": name, "variants": variants,
                     "subject": _subject(store, name),
                     "problems": [str(p) for f in folders for p in store.check(f)]})
    return render_template("templates/index.html", rows=rows)


@bp.get("/<name>")
@login_required("marketer")
def preview(name: str):
    choices, status, error = _choices(), 200, None
    try:
        shown, who = _render(name)
    except _Refused as exc:
        shown, who, status, error = None, None, exc.status, str(exc)
    frame = url_for("email_templates.body", name=name, **{k: v for k, v in choices.items() if v})
    return render_template("templates/preview.html", name=name, choices=choices, shown=shown,
                           who=who, error=error, variants=names(_store()).get(name, []),
                           frame=frame), status


@bp.get("/<name>/body.html")
@login_required("marketer")
def body(name: str):
    try:
        shown, _ = _render(name)
    except _Refused as exc:
        return make_response(str(exc), exc.status, {"Content-Type": "text/plain"})
    response = make_response(shown.html)
    response.headers["Content-Security-Policy"] = FRAME_POLICY
    response.headers["Cache-Control"] = "no-store"
    return response


def _choices() -> dict[str, str]:
    return {k: request.args.get(k, "").strip()[:120] for k in (*CHOICES, "email")}


def _render(name: str) -> tuple[Any, str]:
    store = _store()
    if name not in names(store):
        raise _Refused(404, f"There is no email template named {name}.")
    choices = _choices()
    if any(len(request.args.get(k, "")) > 120 for k in CHOICES):
        raise _Refused(422, "A variant, vertical or stage name is at most 120 characters.")
    contact, who = _contact(choices["email"])
    try:
        shown = render_preview(
            store, current_app.extensions["nurture"].settings, name, contact,
            variant=choices["variant"] or None, vertical=choices["vertical"] or None,
            stage=choices["stage"] or None)
    except TemplateError as exc:
        raise _Refused(422, str(exc)) from None
    return shown, who


def _contact(email: str) -> tuple[Any, str]:
    if not email:
        return for_preview(SAMPLE), "a sample contact"
    if len(email) > 320 or not EMAIL.match(email):
        raise _Refused(422, "Enter a whole email address, like ann@example.com, or leave "
                            "it empty for a sample contact.")
    with current_app.extensions["nurture"].db.sessions() as session:
        row = session.scalar(select(Contact).where(Contact.email_key == email_key(email)))
        if row is None:
            raise _Refused(404, f"There is no contact with the address {email}.")
        return for_preview(row), row.email


def _subject(store, name: str) -> str:
    try:
        return (store.root / name / "subject.txt").read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):
        return ""
