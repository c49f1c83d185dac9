"""Outgoing webhooks in the console: endpoints (create, change their events, rotate the
secret, enable, disable, delete) and the delivery log, where one delivery can be replayed.
Marketers and admins."""

from __future__ import annotations

from flask import Blueprint, current_app, g, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue

from nurture.app.runtime import Runtime
from nurture.webhooks import console
from nurture.webhooks.errors import EndpointError
from web.auth import login_required
from web.errors import refusals_shown_on

bp = Blueprint("webhooks", __name__, url_prefix="/webhooks")
FLASH = "webhooks_notice"
SECRET = "webhooks_secret"  # a new secret, shown once on the next page


def _rt() -> Runtime:
    return current_app.extensions["nurture"]


def _events() -> list[str]:
    """The event types from the form: one a line, or separated by commas."""
    return request.form.get("events", "").replace(",", "\n").splitlines()


def _form() -> tuple[str, list[str], str]:
    return request.form.get("url", ""), _events(), request.form.get("description", "")


@bp.get("")
@login_required("marketer")  # and admins
def index(error: EndpointError | None = None, status: int = 200) -> ResponseReturnValue:
    rt = _rt()
    hooks, log = console.listed(rt.db, rt.clock.now())
    return render_template("webhooks/index.html", hooks=hooks, log=log, error=error,
                           form=request.form, notice=session.pop(FLASH, None)), status


@bp.post("")
@login_required("marketer")
def create() -> ResponseReturnValue:
    rt = _rt()
    try:
        endpoint_id, secret = console.created(rt.db, *_form(), g.user.id, rt.clock.now(),
                                             rt.settings.webhook_allow)
    except EndpointError as exc:  # the sentence beside the form, what was typed kept
        return index(exc, exc.status)
    session[FLASH], session[SECRET] = "The endpoint was added.", secret
    return redirect(url_for(".endpoint", endpoint_id=endpoint_id), 303)


def _page(endpoint_id: int, error: EndpointError | None = None, status: int = 200
          ) -> ResponseReturnValue:
    rt = _rt()
    hook, log = console.shown(rt.db, endpoint_id, rt.clock.now())
    form = request.form if error else {"url": hook.url, "events": "\n".join(hook.event_types),
                                       "description": hook.description}
    return render_template("webhooks/endpoint.html", hook=hook, log=log, form=form,
                           error=error, notice=session.pop(FLASH, None),
                           secret=session.pop(SECRET, None)), status


@bp.get("/<int:endpoint_id>")
@login_required("marketer")
@refusals_shown_on("problem.html", title="There is no such endpoint", back="webhooks.index")
def endpoint(endpoint_id: int) -> ResponseReturnValue:
    return _page(endpoint_id)


@bp.post("/<int:endpoint_id>")
@login_required("marketer")
@refusals_shown_on("problem.html", title="The endpoint was not saved", back="webhooks.index")
def save(endpoint_id: int) -> ResponseReturnValue:
    try:
        console.changed(_rt().db, endpoint_id, *_form(), _rt().settings.webhook_allow)
    except EndpointError as exc:
        return _page(endpoint_id, exc, exc.status)
    session[FLASH] = "The endpoint was saved."
    return redirect(url_for(".endpoint", endpoint_id=endpoint_id), 303)


@bp.post("/<int:endpoint_id>/rotate")
@login_required("marketer")
@refusals_shown_on("problem.html", title="The secret was not rotated", back="webhooks.index")
def rotate(endpoint_id: int) -> ResponseReturnValue:
    rt = _rt()
    session[SECRET] = console.rotated(rt.db, endpoint_id, rt.clock.now())
    session[FLASH] = ("The secret was rotated: the previous one keeps signing beside it for "
                      "24 hours.")
    return redirect(url_for(".endpoint", endpoint_id=endpoint_id), 303)


@bp.post("/<int:endpoint_id>/enabled")
@login_required("marketer")
@refusals_shown_on("problem.html", title="The endpoint was not changed", back="webhooks.index")
def switch(endpoint_id: int) -> ResponseReturnValue:
    rt = _rt()
    on = request.form.get("enabled") == "1"
    console.switched(rt.db, endpoint_id, on, rt.clock.now())
    session[FLASH] = "The endpoint was enabled." if on else "The endpoint was disabled."
    return redirect(url_for(".endpoint", endpoint_id=endpoint_id), 303)


@bp.post("/<int:endpoint_id>/delete")
@login_required("marketer")
@refusals_shown_on("problem.html", title="The endpoint was not deleted", back="webhooks.index")
def delete(endpoint_id: int) -> ResponseReturnValue:
    url = console.removed(_rt().db, endpoint_id)
    session[FLASH] = f"The endpoint {url} was deleted, with its deliveries."
    return redirect(url_for(".index"), 303)


@bp.post("/deliveries/<int:delivery_id>/replay")
@login_required("marketer")
@refusals_shown_on("problem.html", title="The delivery was not replayed",
                   back="webhooks.index")
def replay(delivery_id: int) -> ResponseReturnValue:
    rt = _rt()
    new_id = console.replayed(rt.db, delivery_id, rt.clock.now())
    session[FLASH] = f"Delivery {delivery_id} was queued again as delivery {new_id}."
    return redirect(url_for(".index"), 303)
