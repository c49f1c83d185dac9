"""The page behind the link that confirms a sign-up for an address we already know
(`nurture.trials.confirmation`): it says what will change and what happens next, and a
button (a POST with its CSRF token, since mail scanners follow links) confirms it.

A bad, tampered or expired link, or one replaced by a newer sign-up or already used, is a
400 page with a sentence. Nested in the landing blueprint (`web.landing` registers it).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, render_template, request
from flask_wtf.csrf import CSRFError

from nurture.app.runtime import Runtime
from nurture.consent.records import Proof
from nurture.events.effects import Lifecycle
from nurture.trials import confirmation, rules, signup
from nurture.trials.pending import Difference
from web.errors import refusals_shown_on

bp = Blueprint("signup_confirm", __name__)
LABELS = {"first_name": "First name", "last_name": "Last name", "phone": "Phone",
          "role": "Job title", "company": "Company name", "industry": "Industry",
          "company_size": "Company size", "country": "Country",
          "language": "Language of our emails", "timezone": "Time zone",
          "technical_contact": "Technical contact",
          "technical_contact_name": "Technical contact's name",
          "shipping_address": "Shipping address"}


def _rt() -> Runtime:
    return current_app.extensions["nurture"]


def _shown(name: str, value: Any) -> str:
    """A stored or submitted value as a person reads it."""
    if value == "" and name == "technical_contact":
        return "(you)"
    if value in (None, ""):
        return "(none)"
    choices = {"industry": signup.VERTICALS, "company_size": signup.COMPANY_SIZES,
               "country": signup.countries()}.get(name)
    if choices:
        return dict((str(k), label) for k, label in choices).get(str(value), str(value))
    if isinstance(value, dict):
        return ", ".join(str(value[k]) for k in ("street", "city", "region", "postal_code",
                                                 "country") if value.get(k))
    return str(value)


def rows(changes: tuple[Difference, ...]) -> list[tuple[str, str, str]]:
    return [(LABELS.get(c.name, c.name), _shown(c.name, c.before), _shown(c.name, c.after))
            for c in changes]


def _services(ids: tuple[str, ...]) -> str:
    return _rt().settings.services.names(ids)


@bp.route("/signup/confirm/<token>", methods=["GET", "POST"])
@refusals_shown_on("landing/link_problem.html", title="We could not open this link")
def confirm(token: str):
    rt = _rt()
    if request.method == "GET":
        seen = confirmation.preview(rt, rt.tokens, token)
        return render_template("landing/confirm.html", seen=seen, token=token,
                               rows=rows(seen.changes), services=_services(seen.services),
                               day=rules.day, trial_days=Lifecycle().trial_days)
    proof = Proof("signup-confirmation", request.path[:500], request.remote_addr or "",
                  request.headers.get("User-Agent", "")[:400])
    done = confirmation.confirm(rt, rt.tokens, rt.versions, token, proof)
    return render_template("landing/confirmed.html", done=done, seen=done.preview,
                           rows=rows(done.preview.changes),
                           services=_services(done.preview.services), day=rules.day)


@bp.errorhandler(CSRFError)
def csrf_error(_error: CSRFError):
    return render_template(
        "landing/link_problem.html", title="Please try again",
        message="The page had expired or was sent from another site, so nothing was "
                "confirmed. Please open the link in our email again."), 400
