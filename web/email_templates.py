"""Email templates in the console: every template with its variants and any problem
(`/templates`), and one email as a contact would get it, on a phone and a desktop
(`/templates/<name>`). The email's own HTML is served apart, sandboxed, for the frames."""

from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

from flask import (
    Blueprint,
    Flask,
    current_app,
    flash,
    g,
    get_flashed_messages,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.blueprints import BlueprintSetupState
from flask.typing import ResponseReturnValue
from flask_limiter import Limiter
from werkzeug.exceptions import TooManyRequests

from nurture.config import Settings
from nurture.contacts.language import primary, standard_tag
from nurture.contacts.language import problem as language_problem
from nurture.contacts.queries import contact_by_email, readers_by_language
from nurture.contacts.services import EMAIL
from nurture.errors import Invalid, NotFound
from nurture.sending.preview import (
    SAMPLE,
    Preview,
    for_preview,
    languages,
    names,
    render_preview,
)
from nurture.sending.render import TemplateError, TemplateStore, store_for
from nurture.sending.senders import SendError, make_sender
from web.auth import login_required

bp = Blueprint("email_templates", __name__, url_prefix="/templates")
CHOICES = ("variant", "vertical", "stage", "language")
DEFAULT_TEXT = "default"  # the language choice for the untranslated text
# The email's HTML runs no script and reaches nothing but images, styles and fonts.
FRAME_POLICY = ("sandbox; default-src 'none'; img-src https: http: data:; "
                "style-src 'unsafe-inline' https:; font-src https: data:; "
                "frame-ancestors 'self'")


@dataclass(frozen=True)
class TemplateRow:
    """One template in the list: its variant folders, the languages any of them is
    translated into, its subject for the sample contact, and every problem found."""

    name: str
    variants: list[str]
    languages: list[str]
    subject: str
    problems: list[str]


@dataclass(frozen=True)
class Coverage:
    """One language contacts read: how many read it, and how many templates have it."""

    language: str
    contacts: int
    templates: int


@bp.record_once
def _setup(state: BlueprintSetupState) -> None:
    app, rt = state.app, state.app.extensions["nurture"]
    assert isinstance(app, Flask)  # blueprints are registered on Flask apps only
    app.config.setdefault("TEST_SEND_RATE_LIMIT", "20 per hour")
    namespace = rt.settings.queue_namespace
    limiter = Limiter(_sender_key,
                      storage_uri=rt.settings.redis_url or "memory://",
                      key_prefix=f"{namespace}:test-send", swallow_errors=True)
    limiter.init_app(app)
    limiter.limit(lambda: current_app.config["TEST_SEND_RATE_LIMIT"], methods=["POST"],
                  exempt_when=lambda: not current_app.config.get("RATELIMIT_ENABLED", True)
                  )(bp)


def _sender_key() -> str:
    """Whose tests count together: the signed-in user's, else the client address's."""
    return str(g.user.id) if g.get("user") else str(request.remote_addr)


def _store() -> TemplateStore:
    return store_for(current_app.extensions["nurture"].settings.templates_dir)


@bp.get("")
@login_required("marketer")  # and admins
def index() -> ResponseReturnValue:
    store, settings = _store(), current_app.extensions["nurture"].settings
    rows = []
    for name, variants in names(store).items():
        folders = [name, *variants]
        translated = [f"{f}/{tag}" for f in folders for tag in store.translations(f)]
        rows.append(TemplateRow(name=name, variants=variants,
                                languages=languages(store, folders),
                                subject=_subject(store, settings, name),
                                problems=[str(p) for f in folders + translated
                                          for p in store.check(f)]))
    return render_template("templates/index.html", rows=rows, coverage=_coverage(rows))


def _coverage(rows: list[TemplateRow]) -> list[Coverage]:
    """Each language contacts read (without its region), how many read it, and how many
    templates have it: the rest reach those contacts in the default text."""
    readers = readers_by_language(current_app.extensions["nurture"].db)
    return [Coverage(language=language, contacts=count,
                     templates=sum(any(primary(t) == language for t in r.languages)
                                   for r in rows))
            for language, count in sorted(readers.items(), key=lambda kv: -kv[1])]


@bp.get("/<name>")
@login_required("marketer")
def preview(name: str) -> ResponseReturnValue:
    return _page(name)


def _page(name: str, status: int = 200, error: str | None = None) -> ResponseReturnValue:
    choices = _choices()
    shown: Preview | None
    who: str | None
    try:
        shown, who = _render(name)
    except (NotFound, Invalid) as exc:  # presentation: the preview page says why
        shown = who = None
        status, error = exc.status, str(exc)
    frame = url_for("email_templates.body", name=name, **_given(choices))
    known = names(_store())
    variants = known.get(name, [])
    return render_template("templates/preview.html", name=name, choices=choices, shown=shown,
                           who=who, error=error, variants=variants, default_text=DEFAULT_TEXT,
                           languages=languages(_store(), [name, *variants]) if name in known
                           else [],
                           frame=frame, sent=get_flashed_messages()), status


@bp.errorhandler(TooManyRequests)
def too_many(_error: TooManyRequests) -> ResponseReturnValue:
    name = (request.view_args or {}).get("name", "")
    return _page(name, 429, "You have sent as many tests as you may in an hour "
                            f"({current_app.config['TEST_SEND_RATE_LIMIT']}). "
                            "Please try again later.")


@bp.post("/<name>/test")
@login_required("marketer")
def send_test(name: str) -> ResponseReturnValue:
    """Send the email as previewed to the signed-in marketer, its subject marked [Test]. It
    is recorded nowhere: no send row, no event, nothing in the reports."""
    to = g.user.email
    try:
        shown, _ = _render(name, test_to=to)
    except (NotFound, Invalid):
        return _page(name)  # says why
    settings = current_app.extensions["nurture"].settings
    sender = make_sender(settings)
    try:
        sender.send(settings.from_address, to, shown.message_id, shown.message, canonical=True)
    except SendError as exc:
        return _page(name, 502, f"The test could not be sent to {to}: {exc}")
    finally:
        sender.close()
    flash(f"Sent a test of {shown.folder} to {to}.")
    return redirect(url_for("email_templates.preview", name=name, **_given(_choices())), 303)


@bp.get("/<name>/body.html")
@login_required("marketer")
def body(name: str) -> ResponseReturnValue:
    try:
        shown, _ = _render(name)
    except (NotFound, Invalid) as exc:  # presentation: the frame shows the sentence alone
        return make_response(str(exc), exc.status, {"Content-Type": "text/plain"})
    response = make_response(shown.html)
    response.headers["Content-Security-Policy"] = FRAME_POLICY
    response.headers["Cache-Control"] = "no-store"
    return response


def _choices() -> dict[str, str]:
    return {k: request.values.get(k, "").strip()[:120] for k in (*CHOICES, "email")}


def _given(choices: dict[str, str]) -> dict[str, Any]:
    """The choices made, as `url_for` query values (which it types as Any)."""
    return {k: v for k, v in choices.items() if v}


def _render(name: str, test_to: str | None = None) -> tuple[Preview, str]:
    store = _store()
    if name not in names(store):
        raise NotFound(f"There is no email template named {name}.")
    choices = _choices()
    if any(len(request.values.get(k, "")) > 120 for k in CHOICES):
        raise Invalid("A variant, vertical, stage or language is at most 120 "
                            "characters.")
    variant = choices["variant"]
    if "@" in variant and variant.partition("@")[0] != name:
        raise Invalid(f"{variant} is not a variant of {name}.")
    language = choices["language"]
    if language not in ("", DEFAULT_TEXT) and standard_tag(language) is None:
        raise Invalid(language_problem(language))
    contact, who = _contact(choices["email"])
    try:
        shown = render_preview(
            store, current_app.extensions["nurture"].settings, name, contact,
            variant=choices["variant"] or None, vertical=choices["vertical"] or None,
            stage=choices["stage"] or None, test_to=test_to,
            language=None if not language else "" if language == DEFAULT_TEXT else language)
    except TemplateError as exc:
        raise Invalid(str(exc)) from None
    return shown, who


def _contact(email: str) -> tuple[SimpleNamespace, str]:
    if not email:
        return for_preview(SAMPLE), "a sample contact"
    if len(email) > 320 or not EMAIL.match(email):
        raise Invalid("Enter a whole email address, like ann@example.com, or leave "
                            "it empty for a sample contact.")
    row = contact_by_email(current_app.extensions["nurture"].db, email)
    if row is None:
        raise NotFound(f"There is no contact with the address {email}.")
    return for_preview(row), row.email


def _subject(store: TemplateStore, settings: Settings, name: str) -> str:
    """The subject as the sample contact gets it, or as written if it does not render."""
    try:
        return render_preview(store, settings, name, for_preview(SAMPLE), vertical="",
                              stage="").subject  # the template's own folder and text
    except TemplateError:
        try:
            return (store.root / name / "subject.txt").read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError):
            return ""
