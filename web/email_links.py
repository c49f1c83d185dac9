"""Pages that links in emails lead to: unsubscribe (RFC 8058 one-click too), preferences,
double opt-in confirmation, the open pixel and click redirects. Each link carries a token
signed for its purpose; a bad or expired one gets a clear page and a 4xx."""

from __future__ import annotations

import base64
from typing import Any

from babel import Locale, UnknownLocaleError
from flask import Blueprint, Response, abort, current_app, render_template, request

from journeys.definition import TOPICS
from nurture.app.runtime import Runtime
from nurture.consent import services as consent
from nurture.consent.records import Proof
from nurture.contacts import queries as contacts
from nurture.contacts.language import primary
from nurture.events.bus import NewEvent
from nurture.events.services import record_many
from nurture.sending import queries as sends
from nurture.sending.preview import languages
from nurture.sending.render import store_for
from nurture.sending.tracking import machine_reason
from nurture.sending.utm import email_tags, tagged
from nurture.tokens import TokenError
from nurture.visits.pages import with_visitor
from web.errors import refusals_shown_on
from web.i18n import speak_to

bp = Blueprint("email_links", __name__)
PIXEL = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")


def _rt() -> Runtime:
    return current_app.extensions["nurture"]


def _proof(method: str) -> Proof:
    return Proof(method=method, page=request.path[:500], ip=request.remote_addr or "",
                 user_agent=request.headers.get("User-Agent", "")[:400])


def _contact_for(purpose: str, token: str) -> Any:
    """The contact a token names (its row), if it still has the address the token was
    signed for."""
    rt = _rt()
    payload = rt.tokens.load(purpose, token)  # a bad link is a TokenError: web/errors.py
    try:
        contact_id, key, _send = payload
    except (TypeError, ValueError):
        raise TokenError("This link is not valid.") from None
    contact = contacts.contact(rt.db, contact_id)
    if contact is None or contact.email_key != key:
        speak_to(None)
        abort(Response(render_template("email/link_error.html",
                                       message="This link no longer matches a subscriber."),
                       404))
    speak_to(contact.language)  # the language their emails are in
    return contact


@bp.route("/u/<token>", methods=["GET", "POST"])
@refusals_shown_on("email/link_error.html", reader=True)
def unsubscribe(token: str):
    contact = _contact_for("subscription", token)
    if request.method == "GET":
        return render_template("email/unsubscribe.html", contact=contact, token=token)
    one_click = request.form.get("List-Unsubscribe") == "One-Click"
    consent.withdraw(_rt(), contact.id, _proof("one-click" if one_click else "unsubscribe-page"))
    if one_click:
        return Response("Unsubscribed.", 200, mimetype="text/plain")
    return render_template("email/unsubscribed.html", contact=contact, token=token)


FREQUENCIES = {"normal": "As they come (at most a few a week)",
               "weekly": "At most one a week", "monthly": "At most one a month"}
# Marketing yes or no, or "only what I must receive": no marketing and no service email.
CHOICES = ("yes", "no", "must")


def _shown(contact: Any) -> str:
    """The frequency the form shows: "only what I must receive" is a choice of its own."""
    frequency = contact.email_frequency
    return "normal" if frequency not in FREQUENCIES else frequency


def email_languages() -> dict[str, str]:
    """The languages our emails are written in, each named in itself: "" for the templates'
    own text (English), then every language some template is translated into."""
    store = store_for(_rt().settings.templates_dir)
    return {"": "English",
            **{tag: _endonym(tag) for tag in languages(store, store.folders())}}


def _endonym(tag: str) -> str:
    try:
        name = Locale.parse(tag, sep="-").get_display_name(Locale.parse(tag, sep="-"))
    except (ValueError, UnknownLocaleError):
        return tag
    return name[:1].upper() + name[1:] if name else tag


@bp.route("/p/<token>", methods=["GET", "POST"])
@refusals_shown_on("email/link_error.html", reader=True)
def preferences(token: str):
    contact = _contact_for("subscription", token)
    languages = email_languages()
    page = {"contact": contact, "token": token, "topics": TOPICS, "frequencies": FREQUENCIES,
            "chosen": set(contact.email_topics or TOPICS), "frequency": _shown(contact),
            "languages": languages, "language": _primary(contact.language, languages),
            "errors": {}}
    if request.method == "GET":
        return render_template("email/preferences.html", **page)
    choice = request.form.get("marketing")
    topics = request.form.getlist("topics")
    frequency = request.form.get("frequency", "normal")
    language = request.form.get("language", page["language"])
    errors = page["errors"]
    if choice not in CHOICES:
        errors["marketing"] = "Please choose whether to receive marketing email."
    if any(t not in TOPICS for t in topics) or (choice == "yes" and not topics):
        errors["topics"] = "Please choose at least one topic, or no marketing email at all."
    if frequency not in FREQUENCIES:
        errors["frequency"] = "Please choose how often you would like to hear from us."
    if language not in languages:
        errors["language"] = "Please choose a language from the list."
    if errors:  # show what was chosen, change nothing
        page |= {"chosen": set(topics), "frequency": frequency, "marketing": choice,
                 "language": language if language in languages else page["language"]}
        return render_template("email/preferences.html", **page), 400
    rt = _rt()
    consent.must_receive_only(rt, contact.id, choice == "must", _proof("preference-center"))
    if choice == "yes":
        # All topics chosen is stored as "all", so that new topics reach them too.
        consent.set_preferences(rt, contact.id, [] if set(topics) == set(TOPICS) else topics,
                                frequency)
        consent.confirm(rt, contact.id, _proof("preference-center"))
    else:  # "no" and "must" both end marketing; "must" ends service email too
        consent.withdraw(rt, contact.id, _proof("preference-center"))
    if language != page["language"]:  # "fr" chosen keeps a stored "fr-CH"
        record_many(rt, [NewEvent(contact.id, "contact.updated", {"language": language},
                                  source="preference-center")])
    contact = _contact_for("subscription", token)  # and the page speaks the new language
    page |= {"contact": contact, "saved": True, "chosen": set(contact.email_topics or TOPICS),
             "frequency": _shown(contact),
             "language": _primary(contact.language, languages)}
    return render_template("email/preferences.html", **page)


def _primary(tag: str | None, languages: dict[str, str]) -> str:
    """The choice that stands for a stored tag: `fr-CH` is French; unknown is English."""
    tag = (tag or "").lower()
    for key in (tag, primary(tag)):
        if key in languages:
            return key
    return ""


@bp.route("/confirm/<token>", methods=["GET", "POST"])
@refusals_shown_on("email/link_error.html", reader=True)
def confirm(token: str):
    contact = _contact_for("confirm", token)
    if request.method == "GET" and not contact.consent_marketing:
        # A button, not an automatic confirmation: mail scanners follow links too.
        return render_template("email/confirm.html", contact=contact, token=token)
    if request.method == "POST":
        consent.confirm(_rt(), contact.id, _proof("double-opt-in"))
    return render_template("email/confirmed.html", contact=contact)


def _send_for(token: str) -> Any:
    """The send a tracking token names (its row), or None."""
    rt = _rt()
    try:
        send_id = rt.tokens.load("track", token)
    except TokenError:
        return None
    if not isinstance(send_id, int):
        return None
    return sends.send(rt.db, send_id)


def _record_hit(send: Any, type_: str, **properties) -> None:
    rt = _rt()
    reason = machine_reason(request.headers.get("User-Agent", ""), request.remote_addr or "",
                            send.sent_at, rt.clock.now())
    properties |= {"send": send.send_key, "template": send.template,
                   "journey": send.journey_id, "step": send.step_id,
                   "machine": reason is not None}
    if reason:
        properties["machine_reason"] = reason
    if send.role == "contact":
        record_many(rt, [NewEvent(send.contact_id, type_, properties, source="tracking")])


@bp.get("/o/<token>.gif")
def open_pixel(token: str):
    send = _send_for(token)
    if send is not None and send.status == "sent":
        _record_hit(send, "email.opened")
    return Response(PIXEL, 200, mimetype="image/gif",
                    headers={"Cache-Control": "no-store, private", "Pragma": "no-cache"})


@bp.get("/t/<token>/<int:index>")
def click(token: str, index: int):
    send = _send_for(token)
    links = (send.links or []) if send is not None else []
    if not 0 <= index < len(links):  # only ever a URL recorded for this send
        speak_to(None)
        return render_template("email/link_error.html",
                               message="This link is not valid or has expired."), 404
    _record_hit(send, "email.clicked", url=links[index], link=index)
    rt = _rt()
    tags = email_tags(rt.settings.sending, send.journey_id, send.template)
    location = tagged(links[index], tags)
    if send.role == "contact" and rt.settings.web.visit_origins:
        # The customer's own site learns who is visiting (docs/visits.md).
        location = with_visitor(location, rt.tokens.sign("visitor", send.contact_id),
                                rt.settings.web.visit_origins)
    return Response(status=302, headers={"Location": location,
                                         "Cache-Control": "no-store, private"})
