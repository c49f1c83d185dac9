"""Who reaches what: every rule in the app's url_map, with every method, requested as an
anonymous visitor, a sales rep, a marketer and an admin, against the status declared for it
below. A rule without a declaration fails the test, so a new route says who may reach it.

Kinds of route:
- public: anyone, the same answer whoever asks;
- token: the signed token in the URL is the authority, never a session (here a forged one);
- api_key: the bearer key is the authority, never a session (here none is sent);
- console: signed-in staff; anonymous visitors are sent to sign in, other roles get a 403.

Forms are sent empty, with CSRF checks off: CSRF has its own tests, and here we want the
answer of the access rules, not of the token. Where a route needs an id, it is the id of a
real row; the hand-off is another rep's lead, which the signed-in rep must not reach.
"""

from __future__ import annotations

import io
import re

import pytest
from sqlalchemy import select

from nurture.audiences import services as segments
from nurture.broadcasts import plan
from nurture.broadcasts import services as broadcasts
from nurture.contacts import lists
from nurture.contacts.imports import service as imports
from nurture.contacts.imports import uploads
from nurture.contacts.imports.options import Options
from nurture.events.bus import NewEvent
from nurture.events.services import record_many
from nurture.inbound import queries as inbound
from nurture.inbound.services import handle, mailboxes
from nurture.trials import lifecycle
from nurture.users import services
from nurture.users.models import User
from referral.models import ReferralSource
from scoring.models import Handoff
from tests.factories import customer, sign_up, visit
from tests.helpers import (
    contact,
    publish_text,
    referrals,
    rewards,
    run_due,
    web_client,
)
from web import create_app

ANON, SALES, MARKETER, ADMIN = "anonymous", "sales", "marketer", "admin"
ROLES = (ANON, SALES, MARKETER, ADMIN)
PASSWORD = "correct horse battery"
GET, POST = "GET", "POST"
SPLIT_JOURNEY = """
id: tested
name: Tested
entry: {event: demo.requested}
steps:
  - id: ab
    split: [{weight: 1, goto: a}, {weight: 1, goto: b}]
  - id: a
    send: prospect-case-study
    next: done
  - id: b
    send: quarterly-needs-assessment
  - id: done
    exit: finished
"""


def public(status: int = 200) -> dict[str, int]:
    return dict.fromkeys(ROLES, status)


token = api_key = public  # the same answer for every role; named for what grants access
API_V1 = "/api/v1/"


def console(method: str, *roles: str, ok: int = 200, **others: int) -> dict[str, int]:
    """Signed-in `roles` (and admins) get `ok`; other roles a 403; anonymous visitors are
    sent to sign in (302 for a page, 303 after a form). `others` overrides a role."""
    expected = {ANON: 302 if method == GET else 303}
    for role in ROLES[1:]:
        expected[role] = ok if (not roles or role in roles or role == ADMIN) else 403
    return {**expected, **others}


ROUTES: dict[tuple[str, str], dict[str, int]] = {
    # Flask's own: there are no static files, so every name is a 404.
    (GET, "/static/<path:filename>"): public(404),
    (GET, "/healthz"): public(200),
    (GET, "/readyz"): public(200),
    # Public pages.
    (GET, "/l/<slug>"): public(200),
    (POST, "/l/<slug>"): public(422),  # an empty sign-up form
    (GET, "/l/<slug>/thanks"): public(303),  # nothing signed up: back to the form
    (GET, "/r/<code>"): public(302),
    (GET, "/r/<code>/one-sheet"): public(200),
    (GET, "/login"): {ANON: 200, SALES: 302, MARKETER: 302, ADMIN: 302},
    (POST, "/login"): public(422),  # an empty form
    (POST, "/logout"): public(303),
    # Links in emails: a forged token opens nothing, signed in or not (a 400 page saying
    # the link is broken; a click on a forged link is a 404 and a pixel is a pixel).
    (GET, "/u/<token>"): token(400),
    (POST, "/u/<token>"): token(400),
    (GET, "/p/<token>"): token(400),
    (POST, "/p/<token>"): token(400),
    (GET, "/confirm/<token>"): token(400),
    (POST, "/confirm/<token>"): token(400),
    (GET, "/o/<token>.gif"): token(200),  # a pixel, whatever the token
    (GET, "/t/<token>/<int:index>"): token(404),
    (GET, "/nps/<token>"): token(400),
    (POST, "/nps/<token>"): token(400),
    (GET, "/trial/<token>/convert"): token(400),
    (POST, "/trial/<token>/convert"): token(400),
    (GET, "/signup/confirm/<token>"): token(400),
    (POST, "/signup/confirm/<token>"): token(400),
    # The JSON API: a session cookie is not a key.
    (POST, "/api/events"): api_key(401),
    (POST, "/api/bounces"): api_key(401),
    (POST, "/api/inbound"): api_key(401),
    (GET, "/api/scores"): api_key(401),
    (GET, "/api/nps"): api_key(401),
    (POST, "/api/trials/<int:trial_id>/usage"): api_key(401),
    # Page visits on the customer's site: the script, and where it reports (403 without
    # the Origin of a listed site; docs/visits.md).
    (GET, "/t.js"): public(200),
    (POST, "/api/v1/visits"): public(403),
    (GET, "/api/openapi.json"): public(),  # the API's description: what it takes, no data
    (GET, "/api/docs"): public(),
    # The console.
    (GET, "/"): console(GET, MARKETER),
    (GET, "/account"): console(GET),
    (POST, "/account/sign-out-everywhere"): console(POST, ok=303),
    (GET, "/account/tokens"): console(GET, MARKETER),
    (POST, "/account/tokens"): console(POST, MARKETER, ok=422),  # an empty form
    (POST, "/account/tokens/<int:token_id>/revoke"): console(POST, MARKETER, ok=404),
    (GET, "/users"): console(GET, ADMIN),
    (POST, "/users/<int:user_id>/sign-out"): console(POST, ADMIN, ok=303),
    (GET, "/sales"): console(GET, SALES, MARKETER),
    (GET, "/sales/handoffs/<int:handoff_id>"): console(GET, SALES, MARKETER, sales=404),
    # The marketer accepts the rep's lead first, so the admin finds it accepted.
    (POST, "/sales/handoffs/<int:handoff_id>/accept"): console(
        POST, SALES, MARKETER, ok=303, sales=404, admin=409),
    (POST, "/sales/handoffs/<int:handoff_id>/reject"): console(
        POST, SALES, MARKETER, ok=422, sales=404),
    (POST, "/sales/handoffs/<int:handoff_id>/close"): console(
        POST, SALES, MARKETER, ok=422, sales=404),
    (GET, "/contacts"): console(GET, MARKETER),
    (POST, "/contacts/deprovision"): console(POST, MARKETER, ok=422),  # not confirmed
    (POST, "/contacts/edit"): console(POST, MARKETER, ok=422),  # no address
    (GET, "/contacts/export"): console(GET, MARKETER, ok=422),  # no address
    (GET, "/contacts/erase"): console(GET, MARKETER, ok=422),  # no address
    (POST, "/contacts/erase"): console(POST, MARKETER, ok=422),  # no address
    (POST, "/contacts/bulk"): console(POST, MARKETER, ok=422),  # no action chosen
    (POST, "/contacts/bulk/run"): console(POST, MARKETER, ok=409),  # no confirmation token
    (GET, "/segments"): console(GET, MARKETER),
    (GET, "/segments/preview"): console(GET, MARKETER, ok=422),  # no condition given
    (GET, "/segments/new"): console(GET, MARKETER),
    (POST, "/segments/new"): console(POST, MARKETER, ok=422),  # an empty form
    (GET, "/segments/<int:segment_id>"): console(GET, MARKETER),
    (POST, "/segments/<int:segment_id>"): console(POST, MARKETER, ok=422),
    # The marketer deletes it, so the admin finds it gone.
    (POST, "/segments/<int:segment_id>/delete"): console(POST, MARKETER, ok=303, admin=404),
    (GET, "/webhooks"): console(GET, MARKETER),
    (POST, "/webhooks"): console(POST, MARKETER, ok=422),  # an empty form
    (GET, "/webhooks/<int:endpoint_id>"): console(GET, MARKETER),
    (POST, "/webhooks/<int:endpoint_id>"): console(POST, MARKETER, ok=422),
    (POST, "/webhooks/<int:endpoint_id>/rotate"): console(POST, MARKETER, ok=303),
    (POST, "/webhooks/<int:endpoint_id>/enabled"): console(POST, MARKETER, ok=303),
    # The marketer deletes it, so the admin finds it gone.
    (POST, "/webhooks/<int:endpoint_id>/delete"): console(POST, MARKETER, ok=303, admin=404),
    (POST, "/webhooks/deliveries/<int:delivery_id>/replay"): console(POST, MARKETER, ok=303),
    # The journey editor: an empty form is checked (its problems listed), a draft with no
    # text is neither simulated, forecast nor published (422), and validation needs a JSON body.
    (GET, "/journeys/new"): console(GET, MARKETER),
    (GET, "/journeys/simulation"): console(GET, MARKETER),
    (POST, "/journeys/new"): console(POST, MARKETER),
    (GET, "/journeys/<journey_id>/edit"): console(GET, MARKETER),
    (POST, "/journeys/<journey_id>/edit"): console(POST, MARKETER),
    (POST, "/journeys/validate"): console(POST, MARKETER, ok=400),
    (POST, "/journeys/<journey_id>/simulate"): console(POST, MARKETER, ok=422),
    (POST, "/journeys/<journey_id>/forecast"): console(POST, MARKETER, ok=422),
    (POST, "/journeys/<journey_id>/publish"): console(POST, MARKETER, ok=422),
    (GET, "/broadcasts"): console(GET, MARKETER),
    (GET, "/broadcasts/new"): console(GET, MARKETER),
    (POST, "/broadcasts/new"): console(POST, MARKETER, ok=422),  # an empty form
    (GET, "/broadcasts/<int:broadcast_id>"): console(GET, MARKETER),
    (GET, "/broadcasts/<int:broadcast_id>/progress"): console(GET, MARKETER),
    # Sent empty: no reason given (a 400 page with the sentence).
    (POST, "/broadcasts/<int:broadcast_id>/pause"): console(POST, MARKETER, ok=400),
    (POST, "/broadcasts/<int:broadcast_id>/resume"): console(POST, MARKETER, ok=400),
    # The marketer cancels it, so the admin finds it cancelled.
    (POST, "/broadcasts/<int:broadcast_id>/cancel"): console(POST, MARKETER, ok=303,
                                                             admin=409),
    (POST, "/broadcasts/<int:broadcast_id>/winner"): console(POST, MARKETER, ok=409),
    (GET, "/contacts/import"): console(GET, MARKETER),
    (POST, "/contacts/import"): console(POST, MARKETER, ok=422),  # no file chosen
    (GET, "/contacts/import/files/<upload>"): console(GET, MARKETER),
    (POST, "/contacts/import/files/<upload>"): console(POST, MARKETER, ok=422),  # no email
    (GET, "/contacts/import/<int:job_id>"): console(GET, MARKETER),
    (GET, "/contacts/import/<int:job_id>/progress"): console(GET, MARKETER),
    (GET, "/contacts/import/<int:job_id>/rejects.csv"): console(GET, MARKETER),
    (POST, "/contacts/import/<int:job_id>/resume"): console(POST, MARKETER, ok=303),
    (GET, "/journeys"): console(GET, MARKETER),
    (GET, "/journeys/<journey_id>"): console(GET, MARKETER),
    (GET, "/journeys/<journey_id>/steps/<step_id>"): console(GET, MARKETER),
    (POST, "/journeys/<journey_id>/pause"): console(POST, MARKETER, ok=400),  # no reason
    (POST, "/journeys/<journey_id>/resume"): console(POST, MARKETER, ok=400),  # not paused
    (POST, "/journeys/<journey_id>/take-out"): console(POST, MARKETER, ok=422),  # unticked
    (POST, "/journeys/<journey_id>/splits/<split_id>/end"): console(POST, MARKETER, ok=422),
    (GET, "/insights/customer-value"): console(GET, SALES, MARKETER),
    (GET, "/insights/email"): console(GET, MARKETER),
    (GET, "/insights/nps"): console(GET, MARKETER),
    (GET, "/sales/report"): console(GET, SALES, MARKETER),
    (GET, "/deliverability"): console(GET, MARKETER),
    # Sent empty: no journey named, no reason given (a 400 page with the sentence).
    (POST, "/deliverability/pause"): console(POST, MARKETER, ok=400),
    (POST, "/deliverability/resume"): console(POST, MARKETER, ok=400),
    (GET, "/insights/acquisition-ceiling"): console(GET, SALES, MARKETER),
    (GET, "/templates"): console(GET, MARKETER),
    (GET, "/templates/<name>"): console(GET, MARKETER),
    (GET, "/templates/<name>/body.html"): console(GET, MARKETER),
    (POST, "/templates/<name>/test"): console(POST, MARKETER, ok=303),
    (GET, "/referrals"): console(GET, MARKETER),
    (GET, "/referrals/report.csv"): console(GET, MARKETER),
    (GET, "/referrals/sources"): console(GET, MARKETER),
    (POST, "/referrals/sources"): console(POST, MARKETER, ok=422),
    (POST, "/referrals/sources/<int:source_id>/status"): console(POST, MARKETER, ok=422),
    (GET, "/referrals/review"): console(GET, MARKETER),
    (POST, "/referrals/<int:referral_id>/review"): console(POST, MARKETER, ok=422),
    (GET, "/referrals/rewards"): console(GET, MARKETER),
    (POST, "/referrals/rewards/<int:reward_id>"): console(POST, MARKETER, ok=422),
    (GET, "/referrals/fulfilment"): console(GET, MARKETER),
    (GET, "/inbound"): console(GET, MARKETER),
    (GET, "/inbound/<int:message_id>"): console(GET, MARKETER),
    (POST, "/inbound/<int:message_id>/read"): console(POST, MARKETER, ok=303),
    # The first reward is a credit: paid, never fulfilled.
    (POST, "/referrals/rewards/<int:reward_id>/fulfil"): console(POST, MARKETER, ok=409),
}


def _user(rt, email: str, role: str, **fields) -> int:
    with rt.db.transaction() as session:
        return services.create_user(session, email, email.split("@")[0].title(), role,
                                    PASSWORD, now=rt.clock.now(), **fields).id


def _rows(rt) -> dict[str, object]:
    """Real rows for the ids and names in the rules."""
    _user(rt, "rita@sales.example", "sales", verticals=["retail"])
    victim = _user(rt, "vic@nurture.example", "marketer")
    lead = contact(rt, "cy@example.com", industry="retail")
    record_many(rt, [NewEvent(lead, "demo.requested")])
    run_due(rt)
    code = customer(rt)
    friend = web_client(rt)
    sign_up(friend, visit(friend, code))
    lifecycle.convert(rt, rt.settings, referrals(rt)[-1].trial_id, "keep_data")  # rewards to move
    run_due(rt)
    reply = b"From: ann@example.org\r\nTo: hello@nurture.localhost\r\nSubject: Thanks\r\n\r\nHi\r\n"
    handle(rt, mailboxes(rt.settings), reply, "inbound-api")
    with rt.db.sessions() as session:
        handoff = session.scalar(select(Handoff).where(Handoff.contact_id == lead))
        rita = session.scalar(select(User.id).where(User.email == "rita@sales.example"))
        assert handoff.assigned_to == rita, "the lead belongs to another rep"
        source_id = session.scalar(select(ReferralSource.id).order_by(ReferralSource.id))
    with rt.db.transaction() as session:
        segment_id = segments.create(session, "Trialists", "stage == 'try'", rt.clock.now())
        readers = lists.ensure(session, "Readers", rt.clock.now())
        lists.add(session, readers, [lead], rt.clock.now())
        broadcast_id = broadcasts.create(session, plan.Plan(
            "News", plan.LIST, "Readers", ("prospect-case-study",), "", plan.NOW),
            rt.clock.now(), by="test").id
    upload = uploads.store(rt.settings.var_dir, io.BytesIO(b"email,name\nann@example.com,Ann\n"))
    job = imports.create(rt, uploads.path_of(rt.settings.var_dir, upload), "people.csv",
                         {"email": "email"}, Options(), "test", background=False)
    return {"filename": "none.css", "slug": "trial", "code": code, "token": "forged.token",
            "upload": upload, "job_id": job, "contact_id": 1,
            "index": 0, "trial_id": "1", "user_id": victim, "handoff_id": handoff.id,
            "source_id": source_id, "referral_id": referrals(rt)[0].id,
            "reward_id": rewards(rt)[0].id, "name": "trial-welcome", "segment_id": segment_id,
            "message_id": inbound.kept_page(rt).messages[0].id, "broadcast_id": broadcast_id,
            "journey_id": _journey(rt), "step_id": "a", "split_id": "ab",
            "token_id": 999999,  # no such token: a 404 for those who may revoke
            **_webhook(rt)}


def _webhook(rt) -> dict[str, int]:
    """An endpoint, and a delivery of the CRM hand-off to replay (one with no endpoint:
    it outlives the endpoint's deletion)."""
    from nurture.webhooks import console as webhooks
    from nurture.webhooks.models import WebhookDelivery

    endpoint_id, _ = webhooks.created(rt.db, "https://hooks.example.com/in", ["demo.*"], "",
                                      None, rt.clock.now())
    with rt.db.transaction() as session:
        delivery = WebhookDelivery(delivery_key="handoff:1:sales.handoff", status="delivered",
                                   url="https://crm.example.com/in", payload={})
        session.add(delivery)
        session.flush()
        return {"endpoint_id": endpoint_id, "delivery_id": delivery.id}


def _journey(rt) -> str:
    """A published journey with an A/B split (`ab`) and a step `a`, for the journeys' pages
    and the editor's routes."""
    publish_text(rt, SPLIT_JOURNEY)
    return "tested"


def _path(rule, values: dict[str, object]) -> str:
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", lambda m: str(values[m.group(1)]), rule.rule)


def test_every_route_answers_each_role_as_declared(rt):
    app = create_app(rt)
    app.config.update(WTF_CSRF_ENABLED=False, RATELIMIT_ENABLED=False)
    staff = {role: _user(rt, f"{role}@nurture.example", role) for role in ROLES[1:]}
    values = _rows(rt)

    def as_role(role: str):
        browser = app.test_client()
        if role != ANON:
            with rt.db.sessions() as session:
                version = session.get(User, staff[role]).session_version
            with browser.session_transaction() as cookie:
                cookie["user_id"], cookie["session_version"] = staff[role], version
        return browser

    _assert_every_route_is_declared(app)
    wrong = []
    for rule in app.url_map.iter_rules():
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            declared = _declared(method, rule.rule)
            path = _path(rule, values)
            for role in ROLES:
                got = as_role(role).open(path, method=method).status_code
                if got != declared[role]:
                    wrong.append(f"{method} {path} as {role}: {got}, not {declared[role]}")
            if "HEAD" in rule.methods and method == GET:  # HEAD answers as GET does
                got = as_role(ANON).open(path, method="HEAD").status_code
                if got != declared[ANON]:
                    wrong.append(f"HEAD {path} as {ANON}: {got}, not {declared[ANON]}")
    assert not wrong, "\n".join(wrong)


def _declared(method: str, rule: str) -> dict[str, int]:
    """A route's declaration; the versioned API's resources are all alike: a bearer token
    is the authority, so without one every role gets the same 401."""
    if (method, rule) not in ROUTES and rule.startswith(API_V1):
        return api_key(401)
    return ROUTES[(method, rule)]


def _assert_every_route_is_declared(app) -> None:
    """Every (method, rule) of the app has an entry in ROUTES (the /api/v1 resources have
    one rule, `_declared`), and every entry a rule. OPTIONS (Flask answers it, listing the
    methods) and HEAD (as GET) are not declared."""
    present = {(method, rule.rule) for rule in app.url_map.iter_rules()
               for method in rule.methods - {"HEAD", "OPTIONS"}
               if not rule.rule.startswith(API_V1) or (method, rule.rule) in ROUTES}
    undeclared = sorted(f"{method} {rule}" for method, rule in present - ROUTES.keys())
    assert not undeclared, (
        "These routes have no entry in ROUTES in tests/web/test_route_access.py; declare "
        "who may reach them: " + ", ".join(undeclared) + ".")
    stale = sorted(f"{method} {rule}" for method, rule in ROUTES.keys() - present)
    assert not stale, ("These entries in ROUTES match no route any more: "
                       + ", ".join(stale) + ".")


def test_a_new_route_without_a_declaration_fails_with_a_sentence_naming_it(rt):
    app = create_app(rt)
    app.add_url_rule("/reports/new", view_func=lambda: "a new page")
    with pytest.raises(AssertionError, match=r"have no entry in ROUTES .*: GET /reports/new\."):
        _assert_every_route_is_declared(app)
