"""Journeys in the console: the list with each journey's status, contacts active, conversion
and sends a day; a journey's page with its diagram annotated with live counts, its email
figures, versions and their diff, its A/B splits, and the operations (pause and resume,
take a contact out, enroll a segment, end a split's test). Marketers and admins."""

from __future__ import annotations

from flask import Blueprint, current_app, g, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue

from nurture.app import guard, journeys_console
from nurture.app.runtime import Runtime
from nurture.errors import Invalid, NotFound
from nurture.sending.pauses import JOURNEY
from nurture.yamlfile import ID_PATTERN
from web.auth import login_required
from web.errors import refusals_shown_on

bp = Blueprint("journeys", __name__, url_prefix="/journeys")
FLASH = "journeys_notice"


def _rt() -> Runtime:
    runtime: Runtime = current_app.extensions["nurture"]
    return runtime


@bp.url_value_preprocessor
def _journey_id(_endpoint: str | None, values: dict | None) -> None:
    """A journey id is as a journey file spells it; anything else names no journey."""
    journey_id = (values or {}).get("journey_id")
    if journey_id is not None and (len(journey_id) > 120 or not ID_PATTERN.match(journey_id)):
        raise NotFound("No journey has this id; choose one from the list of journeys.")


def _version(name: str) -> int | None:
    value = request.args.get(name, "")
    if not value:
        return None
    if not (value.isascii() and value.isdigit() and len(value) <= 9):
        raise Invalid(f"The version to compare ({name}) must be a version number, as listed.")
    return int(value)


@bp.get("")
@login_required("marketer")  # and admins
def index() -> ResponseReturnValue:
    return render_template("journeys/index.html", rows=journeys_console.listing(_rt()))


@bp.get("/<journey_id>")
@login_required("marketer")
@refusals_shown_on("problem.html", title="The journey cannot be shown", back="journeys.index")
def show(journey_id: str) -> ResponseReturnValue:
    link = url_for(".step", journey_id=journey_id, step_id="{step}")
    shown = journeys_console.journey_page(_rt(), journey_id, link)
    old, new = _version("old"), _version("new")
    diff = (journeys_console.diff(_rt(), journey_id, old, new)
            if old is not None and new is not None else None)
    return render_template("journeys/show.html", p=shown.page, diagram=shown.diagram,
                           splits=shown.splits, diff=diff, old=old, new=new,
                           notice=session.pop(FLASH, None))


@bp.get("/<journey_id>/steps/<step_id>")
@login_required("marketer")
@refusals_shown_on("problem.html", title="The step cannot be shown", back="journeys.index")
def step(journey_id: str, step_id: str) -> ResponseReturnValue:
    shown = journeys_console.journey_page(_rt(), journey_id, "")
    if step_id not in shown.page.journey.step_map:
        return render_template("problem.html", title="No such step",
                               message=f"The journey {journey_id} has no step {step_id[:120]!r}.",
                               back=url_for(".show", journey_id=journey_id)), 404
    return render_template("journeys/step.html", p=shown.page, step_id=step_id,
                           rows=journeys_console.contacts_at(_rt(), journey_id, step_id))


def _back(journey_id: str, notice: str) -> ResponseReturnValue:
    session[FLASH] = notice
    return redirect(url_for(".show", journey_id=journey_id), 303)


@bp.post("/<journey_id>/pause")
@login_required("marketer")
@refusals_shown_on(title="The journey was not paused", back="journeys.index")
def pause(journey_id: str) -> ResponseReturnValue:
    guard.pause(_rt(), f"{JOURNEY}:{journey_id}", request.form.get("reason", "")[:500],
                g.user.email)
    return _back(journey_id, "The journey is paused: its contacts wait where they are and "
                             "its marketing email is held until someone resumes it.")


@bp.post("/<journey_id>/resume")
@login_required("marketer")
@refusals_shown_on(title="The journey was not resumed", back="journeys.index")
def resume(journey_id: str) -> ResponseReturnValue:
    released = guard.resume(_rt(), f"{JOURNEY}:{journey_id}",
                            request.form.get("reason", "")[:500], g.user.email)
    return _back(journey_id, f"The journey is resumed: {released['sends']} held emails go "
                             f"out under the frequency cap and quiet hours, and "
                             f"{released['enrollments']} contacts move on.")


@bp.post("/<journey_id>/take-out")
@login_required("marketer")
@refusals_shown_on(title="The contact was not taken out", back="journeys.index")
def take_out(journey_id: str) -> ResponseReturnValue:
    if request.form.get("confirm") != "yes":
        raise Invalid("Tick the box to confirm that the contact leaves the journey.")
    email = request.form.get("email", "").strip()[:320]
    if not email:
        raise Invalid("Give the address of the contact to take out.")
    stored = journeys_console.take_out(_rt(), journey_id, email, g.user.email)
    return _back(journey_id, f"{stored} left the journey; no more of its emails are made "
                             "for them.")


@bp.post("/<journey_id>/splits/<split_id>/end")
@login_required("marketer")
@refusals_shown_on(title="The test was not ended", back="journeys.index")
def end_test(journey_id: str, split_id: str) -> ResponseReturnValue:
    if request.form.get("confirm") != "yes":
        raise Invalid("Tick the box to confirm that everyone goes to the winner from now on.")
    version = journeys_console.end_test(_rt(), journey_id, split_id, g.user.email)
    return _back(journey_id, f"Version {version} is published: everyone who reaches "
                             f"{split_id} now goes to the winner. Contacts already past it "
                             "stay on their version.")
