"""Trial pages and API: the one-time conversion choice behind the link in the trial-ending
email, and usage reports (seat activations, service use) from the provisioning system.

Trial errors become pages or JSON in `web/errors.py`, as sentences: a bad link is a 400, an
unknown trial a 404, a choice already made (or data already deleted) a 409, usage that does
not fit the trial a 422; a link's refusals are shown on the trial's own problem page.
"""

from __future__ import annotations

from typing import Protocol

from flask import Blueprint, current_app, render_template, request
from flask.blueprints import BlueprintSetupState
from flask.typing import ResponseReturnValue

from nurture.app.runtime import Runtime
from nurture.trials import lifecycle, rules
from nurture.trials.errors import TrialConflict
from nurture.trials.rules import TrialFacts
from web.api import key_required
from web.errors import refusals_shown_on
from web.openapi import validate
from web.problems import Problem
from web.schemas import UsageIn, UsageRecorded

bp = Blueprint("trials", __name__)


class Customer(Protocol):
    """What the conversion pages read of the trial's contact: the name they greet."""

    @property
    def first_name(self) -> str: ...


def _rt() -> Runtime:
    return current_app.extensions["nurture"]


def _linked(token: str) -> tuple[TrialFacts, Customer]:
    """The trial a conversion link names and its contact (a row the page reads)."""
    return lifecycle.trial_for_token(_rt(), _rt().tokens, token)


def _refused(trial: TrialFacts, message: str) -> ResponseReturnValue:
    return render_template("trials/refused.html", trial=trial, message=message,
                           choices=rules.CHOICE_WORDS, day=rules.day), 409


@bp.route("/trial/<token>/convert", methods=["GET", "POST"])
@refusals_shown_on("trials/problem.html")
def convert(token: str) -> ResponseReturnValue:
    """Show the choice, explained; convert on a confirmed POST. Never changes a choice."""
    rt = _rt()
    trial, contact = _linked(token)
    now = rt.clock.now()
    if refusal := rules.conversion_refusal(trial, now):
        return _refused(trial, refusal)
    choice = request.form.get("choice", "")
    confirmed = request.form.get("confirmed") == "yes"
    form = {"choice": choice, "confirmed": confirmed}
    errors: dict[str, str] = {}
    if request.method == "POST":
        errors = {name: error for name, error in (
            ("choice", rules.choice_error(choice)),
            ("confirmed", rules.confirmation_error(confirmed))) if error}
        if not errors:
            try:
                done = lifecycle.convert(rt, rt.settings, trial.id, choice, source="web")
            except TrialConflict as exc:  # presentation: converted meanwhile, show what stands
                return _refused(_linked(token)[0], str(exc))
            return render_template("trials/converted.html", trial=done, contact=contact,
                                   choices=rules.CHOICE_WORDS, day=rules.day)
    days = rt.settings.trials.retention_days
    clean_until = rules.retention_after_conversion(trial, "new_subscription", now, days)
    return render_template("trials/convert.html", trial=trial, contact=contact, token=token,
                           form=form, errors=errors, choices=rules.CHOICE_WORDS,
                           clean_until=clean_until, retention_days=days,
                           day=rules.day), 400 if errors else 200


@bp.post("/api/trials/<int:trial_id>/usage")
@key_required
@validate(json=UsageIn, resp={"HTTP_200": UsageRecorded, "HTTP_201": UsageRecorded,
                              "HTTP_409": Problem}, tags=("trials",),
          successor="/api/v1/trials/{trial_id}/usage")
def usage(trial_id: int, json: UsageIn) -> tuple[UsageRecorded, int]:
    """`{"type": "seat_activated", "seat": ...}` or `{"type": "service_used", "service": ...}`."""
    result = lifecycle.record_usage(_rt(), trial_id, json.type,
                                    getattr(json, rules.USAGE_TYPES[json.type]), source="api")
    return UsageRecorded(recorded=result.recorded, event_id=result.event_id,
                         seats_activated=result.seats_activated), \
        201 if result.recorded else 200


@bp.record_once
def _exempt_api_from_csrf(state: BlueprintSetupState) -> None:
    # A bearer-key JSON API without cookies, like web/api.py (whose blueprint is exempt).
    csrf = state.app.extensions.get("csrf")
    if csrf is not None:
        csrf.exempt(usage)
