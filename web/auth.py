"""Signing in and out, `g.user`, and `login_required(*roles)` for the views that need it.

`init_app(app)` registers the `/login` and `/logout` views and a hook that puts the
signed-in user (`nurture.users.services.UserInfo`) or None in `flask.g.user` for every
request. The session keeps the user's id and their session version: signing out, "sign out
everywhere" (`web/account.py`, `nurture users sign-out`), a changed password or a
deactivation raise the version, which ends every session made before, copied cookies
included, at its next request. Sessions last 12 hours from the last request (app config
`PERMANENT_SESSION_LIFETIME`).

Failed sign-ins have two limits, both keyed on the client's address (the socket's, or the
one trusted proxies forwarded: `NURTURE_TRUSTED_PROXIES`): per account and address, which
stops guessing one password (app config `LOGIN_RATE_LIMIT`), and per address across
accounts, higher, which stops spraying one password over many (`LOGIN_ADDRESS_RATE_LIMIT`).
Neither touches other addresses, so nobody can lock a user out by failing in their name.
`RATELIMIT_ENABLED=False` turns both off at request time.
"""

from __future__ import annotations

import functools
import hashlib
import math
import re
import time
from collections.abc import Callable
from datetime import timedelta
from typing import ParamSpec
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Flask,
    current_app,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_limiter import Limiter
from flask_wtf import FlaskForm
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import TooManyRequests
from wtforms import HiddenField, PasswordField, StringField
from wtforms.validators import InputRequired

from nurture.app.runtime import Runtime
from nurture.users import services
from nurture.users.services import ROLES, UserInfo

bp = Blueprint("auth", __name__)
USER_ID, VERSION, NOTICE = "user_id", "session_version", "auth_notice"
HOMES = {"sales": "/sales", "marketer": "/", "admin": "/"}
SESSION_LIFETIME = timedelta(hours=12)
WRONG = "The email or password is incorrect."
ROLE_NAMES = {"sales": "sales", "marketer": "marketers", "admin": "admins"}
Args = ParamSpec("Args")
# The attribute `login_required` sets on a view: the roles it names (empty: any role).
# The navigation bar reads it, so a link shows exactly where the view lets one in.
ROLES_ATTRIBUTE = "console_roles"
View = Callable[Args, ResponseReturnValue]
CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


class LoginForm(FlaskForm):
    class Meta:
        csrf = False  # CSRFProtect checks every POST app-wide; the page adds csrf_token()

    email = StringField("Email address", [InputRequired("Enter your email address.")],
                        filters=[lambda value: value.strip() if isinstance(value, str) else value])
    password = PasswordField("Password", [InputRequired("Enter your password.")])
    next = HiddenField()


def _rt() -> Runtime:
    return current_app.extensions["nurture"]


def safe_next(value: object) -> str | None:
    """`value` when it is a path on this site, else None: never a way off to another site.
    Browsers read `//host` and `/\\host` as another host, and drop tabs and newlines."""
    if not isinstance(value, str) or not value.startswith("/") or "\\" in value:
        return None
    if value.startswith("//") or CONTROL.search(value):
        return None
    parts = urlsplit(value)
    return None if parts.scheme or parts.netloc else value


def home_for(user: UserInfo) -> str:
    return HOMES.get(user.role, "/")


# ---- the hooks ------------------------------------------------------------------------

def init_app(app: Flask) -> None:
    """Register the views, `g.user`, the header's sign-out form and the sign-in limit."""
    if "auth" in app.blueprints:  # already set up: a second call changes nothing
        return
    rt: Runtime = app.extensions["nurture"]
    if app.config["PERMANENT_SESSION_LIFETIME"] == Flask.default_config[
            "PERMANENT_SESSION_LIFETIME"]:
        app.config["PERMANENT_SESSION_LIFETIME"] = SESSION_LIFETIME
    # Failed sign-ins: per account and address, then per address across accounts (spraying).
    app.config.setdefault("LOGIN_RATE_LIMIT", rt.settings.web.login_rate_limit)
    app.config.setdefault("LOGIN_ADDRESS_RATE_LIMIT", rt.settings.web.login_address_rate_limit)
    limiter = Limiter(_client, storage_uri=rt.settings.redis_url or "memory://",
                      key_prefix=f"{rt.settings.queue_namespace}:login", swallow_errors=True)
    limiter.init_app(app)
    app.extensions["login_limiter"] = limiter
    for config_key, key in (("LOGIN_RATE_LIMIT", _account_and_client),
                            ("LOGIN_ADDRESS_RATE_LIMIT", _client)):
        # Counts wrong passwords, not sign-ins that work nor forms missing a field.
        limiter.limit(_configured(config_key), key_func=key,
                      methods=["POST"],
                      deduct_when=lambda response: response.status_code == 401,
                      exempt_when=lambda: (request.endpoint != "auth.login"
                                           or not current_app.config.get("RATELIMIT_ENABLED",
                                                                         True))
                      )(bp)
    app.before_request(load_user)
    app.context_processor(lambda: {"current_user": g.get("user")})
    app.register_blueprint(bp)


def _configured(config_key: str) -> Callable[[], str]:
    """The limit in the app config under `config_key`, read at each request: tests and
    operators may change it after the app is built."""
    return lambda: current_app.config[config_key]


def _client() -> str:
    """The client's address: ProxyFix has put the forwarded one here when proxies are
    trusted, and only then."""
    return request.remote_addr or "unknown"


def _account_and_client() -> str:
    """The address and the account asked for (a digest: any text can be typed there)."""
    email = request.form.get("email", "").strip().lower()
    return f"{_client()}/{hashlib.sha256(email.encode('utf-8', 'replace')).hexdigest()[:32]}"


def load_user() -> None:
    """`g.user`: the signed-in user, or None. A session made under an older session version
    of its user (signed out, password changed, deactivated) is forgotten."""
    g.user = None
    user_id = session.get(USER_ID)
    if user_id is None or request.endpoint == "static":
        return
    user = None
    if isinstance(user_id, int):
        user = services.signed_in(_rt().db, user_id)
    version = session.get(VERSION)
    if (user is None or not user.active or type(version) is not int
            or version != user.session_version):
        for key in (USER_ID, VERSION):
            session.pop(key, None)
        return
    g.user = user


def login_required(*roles: str
                   ) -> Callable[[View[Args]], View[Args]]:
    """A view decorator: anonymous visitors go to the sign-in page (and come back after);
    a signed-in user needs one of `roles` (any role when none are given; admins always
    pass) or gets a 403 page that says so."""
    unknown = set(roles) - set(ROLES)
    if unknown:
        raise ValueError(f"Unknown roles: {', '.join(sorted(unknown))}.")

    def decorator(view: View[Args]) -> View[Args]:
        @functools.wraps(view)
        def wrapped(*args: Args.args, **kwargs: Args.kwargs) -> ResponseReturnValue:
            user: UserInfo | None = g.get("user")
            if user is None:
                if request.method in ("GET", "HEAD"):
                    here = request.path + (f"?{request.query_string.decode('latin-1')}"
                                           if request.query_string else "")
                    return redirect(url_for("auth.login", next=here))
                return redirect(url_for("auth.login"), 303)
            if roles and user.role != "admin" and user.role not in roles:
                allowed = list(dict.fromkeys(ROLE_NAMES[role] for role in (*roles, "admin")))
                who = ", ".join(allowed[:-1]) + " and " * (len(allowed) > 1) + allowed[-1]
                return render_template(
                    "auth/message.html", title="You cannot open this page",
                    message=f"This page is for {who}, and you are signed in as "
                            f"{user.email} ({user.role}). Ask an admin if you need it.",
                    home=home_for(user)), 403
            return view(*args, **kwargs)
        setattr(wrapped, ROLES_ATTRIBUTE, roles)
        return wrapped
    return decorator


def may_open(user: UserInfo, view: Callable[..., object] | None) -> bool:
    """Whether `login_required` on `view` lets `user` in (False for a view it does not
    guard: no console link leads to a public page)."""
    roles: tuple[str, ...] | None = getattr(view, ROLES_ATTRIBUTE, None)
    if roles is None:
        return False
    return not roles or user.role == "admin" or user.role in roles


# ---- the views ------------------------------------------------------------------------

def _page(form: LoginForm, status: int = 200, notice: str | None = None) -> tuple[str, int]:
    return render_template("auth/login.html", form=form, notice=notice), status


@bp.route("/login", methods=["GET", "POST"])
def login() -> ResponseReturnValue:
    form = LoginForm(formdata=request.form if request.method == "POST" else None)
    if request.method != "POST":  # GET, or HEAD answered as GET
        form.next.data = safe_next(request.args.get("next")) or ""
        if g.user is not None:
            return redirect(form.next.data or home_for(g.user))
        return _page(form, notice=session.pop(NOTICE, None))
    if not form.validate():
        return _page(form, 422)
    rt = _rt()
    # Both fields are required, so the validated form holds text in each.
    user = services.sign_in(rt.db, form.email.data or "", form.password.data or "",
                            now=rt.clock.now())
    if user is None:
        form.form_errors.append(WRONG)
        return _page(form, 401)
    # A fresh session: nothing from before signing in (a planted value, an old CSRF token)
    # carries over into the signed-in one.
    session.clear()
    session[USER_ID], session[VERSION] = user.id, user.session_version
    session.permanent = True
    return redirect(safe_next(form.next.data) or home_for(user), 303)


@bp.post("/logout")
def logout() -> ResponseReturnValue:
    """Ends the session for good: a copy of the cookie no longer opens anything. With one
    version per user, the user's other sessions end too."""
    if g.user is not None:
        end_sessions(g.user.id)
    sign_out("You have signed out.")
    return redirect(url_for(".login"), 303)


def end_sessions(user_id: int) -> UserInfo:
    """Every session of the user ends (`services.sign_out_everywhere`)."""
    return services.sign_out_everywhere(_rt().db, user_id)


def sign_out(notice: str) -> None:
    """Forget this browser's session; the sign-in page shows `notice` once."""
    session.clear()
    session[NOTICE] = notice


@bp.errorhandler(CSRFError)
def csrf_error(_error: CSRFError) -> ResponseReturnValue:
    if request.endpoint == "auth.login":
        form = LoginForm(formdata=request.form)
        form.form_errors.append("The form had expired, so you were not signed in. "
                                "Please try again.")
        return _page(form, 400)
    return render_template("auth/message.html", title="Please try again",
                           message="The form had expired or was sent from another site, so "
                                   "you are still signed in. Please go back, reload the page "
                                   "and try again."), 400


@bp.errorhandler(TooManyRequests)
def too_many(_error: TooManyRequests) -> ResponseReturnValue:
    limit = current_app.extensions["login_limiter"].current_limit
    wait = max(1, math.ceil((limit.reset_at - time.time()) / 60)) if limit else 1
    minutes = "a minute" if wait == 1 else f"{wait} minutes"
    form = LoginForm(formdata=request.form)
    form.form_errors.append("There have been too many failed sign-ins from your network. "
                            f"Please wait {minutes} and try again.")
    response = _page(form, 429)
    return response[0], 429, {"Retry-After": str(wait * 60)}
