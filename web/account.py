"""Sessions a person can end: `/account` signs the user out everywhere, and `/users` lets
an admin do the same for anyone (as `nurture users sign-out EMAIL` does)."""

from __future__ import annotations

from flask import Blueprint, current_app, g, redirect, render_template, session, url_for

from nurture.app.runtime import Runtime
from nurture.users import services
from web.auth import end_sessions, login_required, sign_out
from web.errors import refusals_shown_on

bp = Blueprint("account", __name__)
FLASH = "account_notice"
EVERYWHERE = "You have signed out everywhere: every session you had, on any device, has ended."


def _rt() -> Runtime:
    return current_app.extensions["nurture"]


@bp.get("/account")
@login_required()
def account():
    return render_template("account/account.html", user=g.user)


@bp.post("/account/sign-out-everywhere")
@login_required()
def sign_out_everywhere():
    end_sessions(g.user.id)
    sign_out(EVERYWHERE)
    return redirect(url_for("auth.login"), 303)


@bp.get("/users")
@login_required("admin")
def users():
    return render_template("account/users.html", users=services.all_users(_rt().db),
                           notice=session.pop(FLASH, None))


@bp.post("/users/<int:user_id>/sign-out")
@login_required("admin")
@refusals_shown_on(back="account.users")
def sign_out_user(user_id: int):
    user = end_sessions(user_id)
    if user.id == g.user.id:
        sign_out(EVERYWHERE)
        return redirect(url_for("auth.login"), 303)
    session[FLASH] = f"{user.email} is signed out everywhere: every session they had has ended."
    return redirect(url_for(".users"), 303)
