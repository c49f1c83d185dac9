"""NPS pages: the eleven one-click links in the survey email, the reason form that follows,
and the JSON report (`GET /api/nps`, bearer API key).

A click records the score at once, unless it looks like a mail scanner or privacy proxy
(`machine_reason`: known agents, Apple's network, a click within seconds of delivery):
those are not answers, as link scanners follow every link in a message, and a person who
is taken for one sees the same page and their answer counts when they send it. A later
click on another score in the same email changes the answer: the latest answer wins.
"""

from __future__ import annotations

from typing import NoReturn

from flask import Blueprint, Response, abort, current_app, g, render_template, request
from flask.typing import ResponseReturnValue

from nurture.app.runtime import Runtime
from nurture.contacts.queries import contact
from nurture.nps import queries, services, stats
from nurture.sending.queries import send
from nurture.sending.tracking import machine_reason
from web.api import key_required
from web.errors import refusals_shown_on
from web.i18n import speak_to
from web.openapi import validate
from web.schemas import NPSQuery, NPSReport

bp = Blueprint("nps", __name__)
SCORES = range(11)


REASON_TOO_LONG = f"Please keep your reason under {services.REASON_MAX:,} characters."


def _rt() -> Runtime:
    return current_app.extensions["nurture"]


def _link_error(message: str, status: int) -> NoReturn:
    if not g.get("reader_language"):
        speak_to(None)  # nobody is known yet: the browser's language
    abort(Response(render_template("email/link_error.html", message=message), status))


def _token(token: str) -> tuple[int, str, int]:
    """(contact id, survey, score) from a token signed for NPS answers; else a 400 page."""
    value = _rt().tokens.load("nps", token)
    if not (isinstance(value, list) and len(value) == 3
            and all(isinstance(v, int) and not isinstance(v, bool) for v in value)
            and value[2] in SCORES):
        _link_error("This link is not valid.", 400)
    contact_id, survey, score = value
    return contact_id, str(survey), score


def _exists(contact_id: int) -> None:
    row = contact(_rt().db, contact_id)
    if row is None:
        _link_error("This link no longer matches a subscriber.", 404)
    speak_to(row.language)  # the page is in the language their emails are in


def _looks_automated(survey: str) -> bool:
    rt = _rt()
    asked = send(rt.db, int(survey)) if survey.isdigit() else None
    sent_at = asked.sent_at if asked is not None else None
    return machine_reason(request.headers.get("User-Agent", ""), request.remote_addr or "",
                          sent_at, rt.clock.now()) is not None


@bp.route("/nps/<token>", methods=["GET", "POST"])
@refusals_shown_on("email/link_error.html", reader=True)
def answer(token: str) -> ResponseReturnValue:
    contact_id, survey, score = _token(token)
    _exists(contact_id)
    rt = _rt()
    if request.method == "GET":
        recorded = not _looks_automated(survey)
        if recorded:
            saved = services.record_answer(rt, services.NPSConfig.from_settings(rt.settings),
                                           contact_id, survey, score)
        else:
            saved = queries.answer(rt.db, contact_id, survey)
        return render_template("nps/answer.html", token=token, score=score,
                               reason=saved.reason if saved else "", recorded=recorded,
                               scores=SCORES, errors={})
    errors, chosen = _form_errors()
    reason = request.form.get("reason", "")
    if errors or chosen is None:  # no score chosen is one of the errors
        return render_template("nps/answer.html", token=token, score=chosen, reason=reason,
                               recorded=False, scores=SCORES, errors=errors), 400
    saved = services.record_answer(rt, services.NPSConfig.from_settings(rt.settings),
                                   contact_id, survey, chosen, reason=reason, submitted=True)
    if saved is None:
        _link_error("This link no longer matches a subscriber.", 404)
    return render_template("nps/thanks.html", answer=saved)


def _form_errors() -> tuple[dict[str, str], int | None]:
    raw = request.form.get("score", "")
    chosen = int(raw) if raw.isdigit() and int(raw) in SCORES else None
    errors: dict[str, str] = {}
    if chosen is None:
        errors["score"] = "Please choose a score from 0 to 10."
    if len(request.form.get("reason", "").strip()) > services.REASON_MAX:
        errors["reason"] = REASON_TOO_LONG
    return errors, chosen


@bp.get("/api/nps")
@key_required
@validate(query=NPSQuery, resp={"HTTP_200": NPSReport}, tags=("nps",),
          successor="/api/v1/nps/report")
def report(query: NPSQuery) -> NPSReport:
    """NPS ± its 95% margin per period, and per vertical or stage when asked."""
    rows = queries.answer_rows(_rt().db)
    lines = stats.by_period_and_segment(rows, query.period, query.segment)
    return NPSReport(period=query.period, segment=query.segment or stats.ALL,
                     method="adjusted-Wald 95% interval (Rocks 2016)",
                     rows=[stats.as_dict(line) for line in lines])
