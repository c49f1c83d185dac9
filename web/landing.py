"""Landing pages (`/l/<slug>`) and the trial sign-up form they carry.

The page comes from `landing/*.md` or the `landing_pages` table (`nurture.landing.pages`);
the sign-up itself is `nurture.trials.signup.sign_up`. The page after it states exactly the
emails that were queued: for an address we did not know, the welcome (when a journey sends
it) and the consent confirmation; for one we know, only the link to confirm, sent to the
address on file (`web.signup_confirm` serves that link). UTM parameters and a `?ref=` code
ride along in hidden fields (and the session, for a visitor who reloads without them). A
filled honeypot gets the thank-you page and stores nothing; sign-ups are limited per IP
(app config `SIGNUP_RATE_LIMIT`, default 10 per hour; `RATELIMIT_ENABLED=False` turns it
off at request time).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path

from flask import (
    Blueprint,
    Flask,
    current_app,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.blueprints import BlueprintSetupState
from flask.typing import ResponseReturnValue
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_wtf import FlaskForm
from flask_wtf.csrf import CSRFError
from markupsafe import Markup, escape
from werkzeug.datastructures import ImmutableMultiDict
from werkzeug.exceptions import RequestEntityTooLarge, TooManyRequests
from wtforms import (
    BooleanField,
    HiddenField,
    SelectMultipleField,
    StringField,
    ValidationError,
)
from wtforms.validators import AnyOf, Email, InputRequired, Length, Optional, Regexp, StopValidation

from nurture.app.runtime import Runtime
from nurture.config import PROJECT_ROOT
from nurture.contacts.language import from_browser
from nurture.events.effects import Lifecycle
from nurture.landing import pages, queries
from nurture.trials import signup
from nurture.trials.errors import SignUpError
from web import referral, signup_confirm

bp = Blueprint("landing", __name__)
bp.register_blueprint(signup_confirm.bp)
RESULT = "landing_result"
ATTRIBUTION = "landing_attribution"


# ---- the form -------------------------------------------------------------------------

CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def _text(value: object) -> object:
    """One line of text: control characters (NUL included) become spaces, runs collapse."""
    return " ".join(CONTROL.sub(" ", value).split()) if isinstance(value, str) else value


def _most(limit: int, what: str) -> Length:
    return Length(max=limit, message=f"{what} must be {limit} characters or fewer.")


def _email(what: str) -> list[object]:
    return [InputRequired(f"Enter {what}."), _most(254, "An email address"),
            Email("Enter an email address in the correct format, like name@company.com.")]


def _options(blank: str, pairs: Iterable[tuple[object, str]]) -> list[tuple[str, str]]:
    return [("", blank), *((str(value), label) for value, label in pairs)]


_OPTION_HTML: dict[int, tuple[list[tuple[str, str]], str]] = {}


@bp.app_template_global()
def option_tags(options: list[tuple[str, str]], selected: str | None) -> Markup:
    """`<option>` tags with `selected` on the chosen one (the blank one when none). The
    tags of a list are escaped and joined once: a country list has some 250 of them."""
    cached = _OPTION_HTML.get(id(options))
    if cached is None or cached[0] is not options:
        tags = "".join(f'<option value="{escape(value)}">{escape(label)}</option>'
                       for value, label in options)
        cached = _OPTION_HTML[id(options)] = (options, tags)
    chosen = str(selected or "")
    if chosen not in {value for value, _ in options}:
        chosen = ""
    marker = f'<option value="{escape(chosen)}">'
    return Markup(cached[1].replace(marker, marker[:-1] + " selected>", 1))


def _from_list(pairs: Iterable[tuple[object, str]], message: str) -> AnyOf:
    return AnyOf([str(value) for value, _label in pairs], message=message)


def _postcode_needed(form: SignUpForm, field: StringField) -> None:
    if not field.data and form.ship_country.data not in signup.NO_POSTCODE:
        raise StopValidation("Enter the postcode or ZIP code.")


TEXT = (_text,)  # the filters of every text field
PHONE = Regexp(r"^\+?[0-9 ().-]{6,40}$", message="Enter a phone number using digits, spaces "
               "and + ( ) - only, like +44 20 7946 0000.")
POSTCODE = Regexp(r"^[A-Za-z0-9][A-Za-z0-9 -]{0,19}$", message="Enter a postcode using "
                  "letters, numbers, spaces and hyphens only.")


OPTIONS = {
    "company_size": _options("Choose a size", signup.COMPANY_SIZES),
    "industry": _options("Choose an industry", signup.VERTICALS),
    "country": _options("Choose a country", signup.countries()),
    "ship_country": _options("Choose a country", signup.countries()),
}


class SignUpForm(FlaskForm):
    """The trial sign-up. Every message is a sentence shown beside its field."""

    class Meta:
        csrf = False  # CSRFProtect checks every POST app-wide; the page adds csrf_token()

    first_name = StringField("First name", [InputRequired("Enter your first name."),
                                            _most(120, "Your first name")], filters=TEXT)
    last_name = StringField("Last name", [InputRequired("Enter your last name."),
                                          _most(120, "Your last name")], filters=TEXT)
    email = StringField("Work email", _email("your work email address"), filters=TEXT)
    phone = StringField("Phone (optional)", [Optional(), _most(40, "A phone number"), PHONE],
                        filters=TEXT)
    role = StringField("Job title (optional)", [Optional(), _most(120, "A job title")],
                       filters=TEXT)
    company = StringField("Company name", [InputRequired("Enter your company's name."),
                                           _most(200, "A company name")], filters=TEXT)
    # Selects are rendered from OPTIONS and checked against the same lists.
    company_size = StringField("Company size (optional)", [Optional(), _from_list(
        signup.COMPANY_SIZES, "Choose a company size from the list.")], filters=TEXT)
    industry = StringField("Industry", [
        InputRequired("Choose your industry."),
        _from_list(signup.VERTICALS, "Choose an industry from the list.")], filters=TEXT)
    country = StringField("Country where your company is based", [
        InputRequired("Choose the country where your company is based."),
        _from_list(signup.countries(), "Choose a country from the list.")], filters=TEXT)
    ship_street = StringField("Street address", [InputRequired("Enter the street address."),
                                                 _most(200, "A street address")], filters=TEXT)
    ship_city = StringField("Town or city", [InputRequired("Enter the town or city."),
                                             _most(120, "A town or city")], filters=TEXT)
    ship_region = StringField("State or region (optional)",
                              [Optional(), _most(120, "A state, province or region")], filters=TEXT)
    ship_postal_code = StringField("Postcode or ZIP code",
                                   [_postcode_needed, Optional(), _most(20, "A postcode"),
                                    POSTCODE], filters=TEXT)
    ship_country = StringField("Country", [
        InputRequired("Choose the country to ship to."),
        _from_list(signup.countries(), "Choose a country from the list.")], filters=TEXT)
    tech_name = StringField("Full name", [InputRequired("Enter the technical contact's full name."),
                                          _most(200, "A name")], filters=TEXT)
    tech_email = StringField("Email", _email("the technical contact's email address"),
                             filters=TEXT)
    services = SelectMultipleField("Services to try", validate_choice=False)
    seats = StringField("Seats", [InputRequired("Enter how many seats you need.")], filters=TEXT)
    marketing_consent = BooleanField("Send me news, guides and offers by email. I can "
                                     "unsubscribe at any time.", default=False)
    website = StringField("Leave this field empty", filters=TEXT)  # the honeypot
    utm_source = HiddenField(filters=TEXT)
    utm_medium = HiddenField(filters=TEXT)
    utm_campaign = HiddenField(filters=TEXT)
    utm_term = HiddenField(filters=TEXT)
    utm_content = HiddenField(filters=TEXT)
    ref = HiddenField(filters=TEXT)
    timezone = HiddenField(filters=TEXT)  # the browser's zone, filled by landing.js

    def __init__(self, formdata: ImmutableMultiDict[str, str] | None, max_seats: int = 20
                 ) -> None:
        super().__init__(formdata=formdata)
        self.max_seats = max_seats

    def validate_seats(self, field: StringField) -> None:
        value = field.data or ""
        if not re.fullmatch(r"[0-9]{1,3}", value) or not 1 <= int(value) <= self.max_seats:
            raise ValidationError(f"Seats must be a whole number from 1 to {self.max_seats}.")

    def validate_services(self, field: SelectMultipleField) -> None:
        chosen = field.data or []
        if not chosen:
            raise ValidationError("Choose at least one service to try.")
        if not set(chosen) <= _rt().settings.services.ids:
            raise ValidationError("Choose services from the list.")

    def validate_for(self, page: pages.Page) -> bool:
        """Validate the fields this page shows; optional fields it hides are left empty."""
        for name in pages.OPTIONAL_FIELDS:
            if not page.shows(name):
                self[name].data, self[name].raw_data = "", []
        return self.validate()

    def to_signup(self) -> signup.SignUp:
        """The validated form as a sign-up: a required field holds text by now, and an
        optional one left empty is ""."""
        return signup.SignUp(
            first_name=_given(self.first_name), last_name=_given(self.last_name),
            email=_given(self.email), phone=_given(self.phone), role=_given(self.role),
            company=_given(self.company), industry=_given(self.industry),
            company_size=int(self.company_size.data) if self.company_size.data else None,
            country=_given(self.country),
            shipping=signup.Address(street=_given(self.ship_street),
                                    city=_given(self.ship_city),
                                    region=_given(self.ship_region),
                                    postal_code=_given(self.ship_postal_code),
                                    country=_given(self.ship_country)),
            technical_name=_given(self.tech_name), technical_email=_given(self.tech_email),
            services=tuple(dict.fromkeys(self.services.data or [])),
            seats=int(_given(self.seats)), marketing_consent=bool(self.marketing_consent.data))


def _given(field: StringField) -> str:
    """A text field's value; "" when it was not sent or left empty."""
    return field.data or ""


def _rt() -> Runtime:
    return current_app.extensions["nurture"]


@bp.record_once
def _setup(state: BlueprintSetupState) -> None:
    app, rt = state.app, state.app.extensions["nurture"]
    assert isinstance(app, Flask)  # blueprints are registered on Flask apps only
    app.config.setdefault("LANDING_DIR", str(PROJECT_ROOT / "landing"))
    app.config.setdefault("SIGNUP_RATE_LIMIT", rt.settings.trials.signup_rate_limit)
    # One limiter per app: Redis when the installation has it, so that every web process
    # counts together; otherwise this process's memory.
    namespace = rt.settings.queue_namespace
    limiter = Limiter(get_remote_address, storage_uri=rt.settings.redis_url or "memory://",
                      key_prefix=f"{namespace}:signup", swallow_errors=True,
                      headers_enabled=True)
    limiter.init_app(app)
    # Counts submissions that went through (a redirect: started, already running, or a
    # honeypot), not a form shown again with errors to correct.
    limiter.limit(lambda: current_app.config["SIGNUP_RATE_LIMIT"], methods=["POST"],
                  deduct_when=lambda response: response.status_code == 303,
                  exempt_when=lambda: not current_app.config.get("RATELIMIT_ENABLED", True)
                  )(bp)


def _files() -> pages.FileCache:
    folder = Path(current_app.config["LANDING_DIR"])
    cache = current_app.extensions.get("landing_files")
    if cache is None or cache.folder != folder:
        cache = current_app.extensions["landing_files"] = pages.FileCache(folder)
    return cache


def _long_date(moment: datetime) -> str:
    return f"{moment.day} {moment:%B %Y}"


def _hero(page: pages.Page) -> str | None:
    """The hero image's static path, when the file is there."""
    if page.hero_image and (Path(current_app.static_folder or "") / page.hero_image).is_file():
        return page.hero_image
    return None


def _error_page(title: str, message: str, status: int) -> ResponseReturnValue:
    return render_template("landing/message.html", title=title, message=message), status


@bp.route("/l/<slug>", methods=["GET", "POST"])
def landing_page(slug: str) -> ResponseReturnValue:
    rt = _rt()
    page = queries.page(rt.db, _files(), slug)
    if page is None:
        return render_template("landing/not_found.html"), 404
    lifecycle = Lifecycle()
    form = SignUpForm(formdata=request.form if request.method == "POST" else None,
                      max_seats=lifecycle.max_trial_seats)
    status = 200
    if request.method == "GET":
        _prefill(form, page)
    elif form.website.data:  # the honeypot: only bots fill it; they are told it worked
        return _finish(page, _pretend())
    elif form.validate_for(page):
        try:
            outcome = signup.sign_up(rt, rt.settings, rt.versions, form.to_signup(),
                                     _source(form, page), lifecycle)
        except SignUpError as exc:  # presentation: the sentence above the filled-in form
            form.form_errors.append(str(exc))
        else:
            return _finish(page, {
                "known": outcome.known, "confirmation": outcome.confirmation,
                "welcome_to": list(outcome.welcome_to), "consent": outcome.consent,
                "email": form.email.data, "technical_email": form.tech_email.data,
                "ends_on": _long_date(outcome.ends_at) if outcome.ends_at else "",
                # A new contact is the person at this browser: the visit script learns
                # who they are (docs/visits.md). Not so for an address that was known.
                "visitor": "" if outcome.known else rt.tokens.sign("visitor",
                                                                   outcome.contact_id)})
    if request.method == "POST":
        status = 422
    return render_template("landing/page.html", page=page, form=form, hero=_hero(page),
                           services=rt.settings.services, options=OPTIONS,
                           max_seats=lifecycle.max_trial_seats,
                           trial_days=lifecycle.trial_days), status


def _prefill(form: SignUpForm, page: pages.Page) -> None:
    """Default industry from the page's vertical; UTM and referral from the link."""
    if page.vertical in dict(signup.VERTICALS):
        form.industry.data = page.vertical
    utm = signup.clean_utm(request.args)
    ref = signup.clean_referral(request.args.get("ref"))
    if utm or ref:
        session[ATTRIBUTION] = {"utm": utm, "ref": ref}
    else:
        remembered = session.get(ATTRIBUTION)
        remembered = remembered if isinstance(remembered, dict) else {}
        utm = signup.clean_utm(remembered.get("utm") or {})
        ref = signup.clean_referral(remembered.get("ref"))
    for key in signup.UTM_KEYS:
        getattr(form, key).data = utm.get(key, "")
    form.ref.data = ref


def _source(form: SignUpForm, page: pages.Page) -> signup.Source:
    return signup.Source(
        landing_slug=page.slug,
        utm=signup.clean_utm({key: getattr(form, key).data for key in signup.UTM_KEYS}),
        # The cookie's touches and the form's ref, by the attribution model and window;
        # an unknown, paused or expired code is logged and carries no attribution.
        referral_code=referral.attributed_code(form.ref.data or ""), ip=request.remote_addr or "",
        user_agent=request.headers.get("User-Agent", "")[:400], page=request.path[:500],
        journey=page.journey, visitor=referral.visitor(),
        language=from_browser(list(request.accept_languages)),
        timezone=(form.timezone.data or "")[:64])


def _pretend() -> dict[str, object]:
    """What a bot that filled the honeypot is shown: a thank-you that claims no email."""
    return {"received": True}


def _finish(page: pages.Page, result: dict[str, object]) -> ResponseReturnValue:
    """POST/redirect/GET: the result waits in the session for the confirmation page."""
    session[RESULT] = {**result, "slug": page.slug}
    return redirect(url_for(".thanks", slug=page.slug), 303)


@bp.get("/l/<slug>/thanks")
def thanks(slug: str) -> ResponseReturnValue:
    result = session.get(RESULT)
    if not isinstance(result, dict) or result.get("slug") != slug:
        known = queries.page(_rt().db, _files(), slug) is not None
        if not known:
            return render_template("landing/not_found.html"), 404
        return redirect(url_for(".landing_page", slug=slug), 303)
    template = ("landing/received.html" if result.get("received") else
                "landing/confirm_sent.html" if result.get("known") else "landing/thanks.html")
    return render_template(template, result=result)


@bp.errorhandler(CSRFError)
def csrf_error(_error: CSRFError) -> ResponseReturnValue:
    return _error_page("Please try again",
                       "The form had expired or was sent from another site, so nothing was "
                       "saved. Please go back, reload the page and send the form again.", 400)


@bp.errorhandler(TooManyRequests)
def too_many(_error: TooManyRequests) -> ResponseReturnValue:
    return _error_page("Too many sign-ups",
                       "There have been too many sign-ups from your network recently. "
                       "Please try again in an hour, or reply to any of our emails and we "
                       "will set up your trial for you.", 429)


@bp.errorhandler(RequestEntityTooLarge)
def too_large(_error: RequestEntityTooLarge) -> ResponseReturnValue:
    return _error_page("The form was too large",
                       "The form sent more data than any sign-up needs, so nothing was "
                       "saved. Please go back and shorten what you typed.", 413)
