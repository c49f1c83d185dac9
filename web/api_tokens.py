"""`/account/tokens`: API tokens in the console. Marketers create and revoke their own;
admins anyone's. A new token is shown once, on the answer to the form that made it, and
never stored: only its digest is (`nurture.apitokens.services`)."""

from __future__ import annotations

from flask import Blueprint, current_app, g, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue

from nurture.apitokens import services
from nurture.apitokens.errors import TokenError
from nurture.apitokens.scopes import ROLE_CEILING, SCOPES
from nurture.app.runtime import Runtime
from nurture.users.services import all_users
from web.auth import login_required
from web.errors import refusals_shown_on

bp = Blueprint("api_tokens", __name__)
FLASH = "api_tokens_notice"


def _rt() -> Runtime:
    return current_app.extensions["nurture"]


def _page(status: int = 200, errors: tuple[str, ...] = (), new: services.NewToken | None = None,
          form: dict[str, str] | None = None) -> ResponseReturnValue:
    rt, admin = _rt(), g.user.role == "admin"
    tokens = services.tokens_seen_by(rt.db, g.user.id, admin)
    owners = [u for u in all_users(rt.db) if u.active] if admin else []
    body = render_template("account/tokens.html", tokens=tokens, now=rt.clock.now(),
                           admin=admin, owners=owners, scopes=SCOPES, new=new,
                           errors=errors, form=form or {}, ceiling=ROLE_CEILING,
                           notice=session.pop(FLASH, None))
    # The page may hold a new token's secret: no cache keeps a copy of it.
    return body, status, {"Cache-Control": "no-store"}


@bp.get("/account/tokens")
@login_required("marketer")
def index() -> ResponseReturnValue:
    return _page()


@bp.post("/account/tokens")
@login_required("marketer")
def create() -> ResponseReturnValue:
    form = {key: request.form.get(key, "").strip() for key in ("name", "scope", "expires",
                                                                "user_id")}
    owner = g.user.id
    errors: list[str] = []
    if g.user.role == "admin" and form["user_id"]:
        if not form["user_id"].isdigit() or len(form["user_id"]) > 18:
            errors.append("Choose the user the token acts as from the list.")
        else:
            owner = int(form["user_id"])
    if form["scope"] not in SCOPES:
        errors.append("Choose the scope: read, write or admin.")
    try:
        days = services.parse_expiry(form["expires"])
    except TokenError as exc:
        errors.append(exc.sentence)
        days = None
    if errors:
        return _page(422, tuple(errors), form=form)
    try:
        new = services.create_for(_rt().db, owner, form["name"], form["scope"],
                                  now=_rt().clock.now(), days=days)
    except TokenError as exc:
        return _page(422, (exc.sentence,), form=form)
    return _page(201, new=new)


@bp.post("/account/tokens/<int:token_id>/revoke")
@login_required("marketer")
@refusals_shown_on(back="api_tokens.index")
def revoke(token_id: int) -> ResponseReturnValue:
    token = services.revoke_as(_rt().db, token_id, now=_rt().clock.now(), user_id=g.user.id,
                               admin=g.user.role == "admin")
    session[FLASH] = (f"Token {token.name} (nt_{token.prefix}_…) is revoked: requests with it "
                      "are refused from now on.")
    return redirect(url_for(".index"), 303)
