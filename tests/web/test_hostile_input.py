"""Hostile input at every route: no value a visitor, a careless API client or a signed-in
user can send makes a 5xx, and a refused request stores nothing.

`CORPUS` has an entry per method and rule of the app's url_map: who calls it, with which
good path values, query arguments, form fields or JSON body. From each entry come requests
with bad path segments and ids, bad query values, every form field bad in turn, and bad
JSON bodies. A route without an entry fails `test_every_route_has_an_entry_in_the_corpus`,
naming it: the corpus grows with every route.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, text

from nurture.apitokens import services as apitokens
from nurture.audiences import services as segments
from nurture.broadcasts import plan
from nurture.broadcasts import services as broadcasts
from nurture.contacts import lists
from nurture.contacts.imports import service as imports
from nurture.contacts.imports import uploads
from nurture.contacts.imports.options import Options
from nurture.inbound import queries as inbound
from nurture.inbound.services import handle, mailboxes
from nurture.models import Base
from nurture.trials.lifecycle import conversion_token
from nurture.trials.models import Trial
from nurture.users import services as users
from nurture.webhooks import console as webhooks
from referral import services as referral_api
from scoring.models import Handoff
from tests.helpers import PASSWORD, contact, publish_text
from tests.web.test_route_access import SPLIT_JOURNEY
from web import create_app

AUTH = {"Authorization": "Bearer test-api-key"}

# ---- the bad values ------------------------------------------------------------------

TEXT = ["\x00", "a\x00b", "x" * 20_000, "\u202e\ufeff", "' OR 1=1 --", "\U0001f600" * 400,
        "\r\nSet-Cookie: a=b"]
UNKNOWN = ["\x00", "x" * 20_000, "%ED%A0%80"]  # an argument no route knows
NUMBERS = ["nan", "inf", "-inf", "1e999", "-1", "0", "99999999999999999999", "1.5", "abc", ""]
DATES = ["9999-12-31", "0001-01-01", "2026-02-30", "31/12/2026", "10000-01-01"]
# Raw bytes in a query or form: a percent-encoded lone surrogate and invalid UTF-8.
RAW = ["%ED%A0%80", "%FF%FE", "%C0%80"]
SEGMENTS = ["%00", "a%00b", "%ED%A0%80", "x" * 3000, "..%2F..%2Fetc", "%27%20OR%201%3D1"]
IDS = ["0", "99999999999999999999", "9223372036854775807", "9223372036854775808",
       "18446744073709551616", "-1", "1e3", "%00", "1" * 400]
JSON_VALUES: list[Any] = [None, True, -1, 1.5, 10**30, "\x00", "a\x00b", "\ud800",
                          "x" * 20_000, "", [], {}, [1], {"a": {"b": None}}, "9999-12-31"]
RAW_JSON = ["[" * 5000 + "]" * 5000, '{"a": ' * 3000 + "1" + "}" * 3000, "not json",
            '{"x": NaN}', '{"x": Infinity}', '{"x": 1e999}', "[]", "null", '"text"', "",
            '{"email": "\\u0000"}', '{"a": "\\ud800"}']


# ---- the corpus ----------------------------------------------------------------------

@dataclass(frozen=True)
class Entry:
    """Who calls a route and with what good values; the bad ones are made from these."""

    who: str = "anon"  # anon | marketer | sales | admin | api
    path: Callable[[dict], dict[str, str]] = lambda ctx: {}
    query: tuple[str, ...] = ()
    form: dict[str, str] = field(default_factory=dict)
    json: dict[str, Any] | None = None
    numbers: tuple[str, ...] = ()  # form or query fields that hold numbers
    dates: tuple[str, ...] = ()  # ... and dates


SIGNUP = {"first_name": "Zoe", "last_name": "Li", "email": "zoe@example.org",
          "phone": "+44 20 7946 0000", "role": "CTO", "company": "Acme",
          "company_size": "50", "industry": "retail", "country": "GB",
          "ship_street": "1 High St", "ship_city": "London", "ship_region": "",
          "ship_postal_code": "N1 9GU", "ship_country": "GB", "tech_name": "Tom Li",
          "tech_email": "tom@example.org", "services": "crm", "seats": "5",
          "marketing_consent": "y", "website": "", "utm_source": "news", "ref": ""}

# The journey the editor's routes open; publishing it again unchanged stores nothing.
EDITED = """\
id: edited
name: Edited
entry: {event: contact.created}
steps:
  - {id: hello, send: trial-welcome}
  - {id: pause, wait: 2d}
  - {id: done, exit: finished}
"""

PAGE = ("limit", "cursor")  # an /api/v1 list's query
CORPUS: dict[str, Entry] = {
    # Public pages
    "GET /healthz": Entry(query=("x",)),
    "GET /readyz": Entry(query=("x",)),
    "GET /login": Entry(query=("next",)),
    "POST /login": Entry(form={"email": "marketer@example.com", "password": "wrong",
                               "next": "/"}),
    "POST /logout": Entry(who="marketer", form={"x": "1"}),
    "GET /l/<slug>": Entry(path=lambda ctx: {"slug": "trial"},
                           query=("utm_source", "utm_campaign", "ref")),
    "POST /l/<slug>": Entry(path=lambda ctx: {"slug": "trial"}, form=SIGNUP,
                            numbers=("company_size", "seats")),
    "GET /l/<slug>/thanks": Entry(path=lambda ctx: {"slug": "trial"}),
    "GET /r/<code>": Entry(path=lambda ctx: {"code": ctx["code"]}),
    "GET /r/<code>/one-sheet": Entry(path=lambda ctx: {"code": ctx["code"]}),
    "GET /u/<token>": Entry(path=lambda ctx: {"token": ctx["subscription"]}),
    "POST /u/<token>": Entry(path=lambda ctx: {"token": ctx["subscription"]},
                             form={"List-Unsubscribe": "One-Click"}),
    "GET /p/<token>": Entry(path=lambda ctx: {"token": ctx["subscription"]}),
    "POST /p/<token>": Entry(path=lambda ctx: {"token": ctx["subscription"]},
                             form={"marketing": "yes", "topics": "product",
                                   "frequency": "weekly", "language": "fr"}),
    "GET /confirm/<token>": Entry(path=lambda ctx: {"token": ctx["confirm"]}),
    "POST /confirm/<token>": Entry(path=lambda ctx: {"token": ctx["confirm"]},
                                   form={"x": "1"}),
    "GET /o/<token>.gif": Entry(path=lambda ctx: {"token": ctx["track"]}),
    "GET /t/<token>/<int:index>": Entry(path=lambda ctx: {"token": ctx["track"],
                                                          "index": "0"}),
    "GET /nps/<token>": Entry(path=lambda ctx: {"token": ctx["nps"]}),
    "POST /nps/<token>": Entry(path=lambda ctx: {"token": ctx["nps"]},
                               form={"score": "9", "reason": "Great support."},
                               numbers=("score",)),
    "GET /signup/confirm/<token>": Entry(path=lambda ctx: {"token": ctx["signup"]}),
    "POST /signup/confirm/<token>": Entry(path=lambda ctx: {"token": ctx["signup"]},
                                          form={"x": "1"}),
    "GET /trial/<token>/convert": Entry(path=lambda ctx: {"token": ctx["trial_token"]}),
    "POST /trial/<token>/convert": Entry(path=lambda ctx: {"token": ctx["trial_token"]},
                                         form={"choice": "keep_data", "confirmed": "yes"}),
    # Console
    "GET /": Entry(who="marketer", query=("days",), numbers=("days",)),
    "GET /account": Entry(who="sales"),
    "POST /account/sign-out-everywhere": Entry(who="sales", form={"x": "1"}),
    "GET /account/tokens": Entry(who="marketer"),
    "POST /account/tokens": Entry(who="admin", form={
        "name": "CRM sync", "scope": "write", "expires": "90d",
        "user_id": ""}, numbers=("user_id",)),
    "POST /account/tokens/<int:token_id>/revoke": Entry(
        who="marketer", path=lambda ctx: {"token_id": str(ctx["token_id"])}, form={"x": "1"}),
    "GET /users": Entry(who="admin"),
    "POST /users/<int:user_id>/sign-out": Entry(
        who="admin", path=lambda ctx: {"user_id": str(ctx["user_id"])}, form={"x": "1"}),
    "GET /contacts": Entry(who="marketer", query=(
        "email", "q", "stage", "vertical", "grade", "consent", "language", "owner", "segment",
        "list", "sort", "order", "after")),
    "POST /contacts/deprovision": Entry(who="marketer", form={
        "email": "nobody@example.com", "confirmed": "yes", "reason": "moving on"}),
    "POST /contacts/edit": Entry(who="marketer", form={
        "email": "ann@example.com", "first_name": "Ann", "company": "Acme", "stage": "try",
        "company_size": "50", "country": "GB", "language": "fr", "owner": "",
        "attributes": '{"plan": "gold"}'}, numbers=("company_size",)),
    "GET /contacts/export": Entry(who="marketer", query=("email",)),
    "GET /contacts/erase": Entry(who="marketer", query=("email",)),
    "POST /contacts/erase": Entry(who="marketer", form={
        "email": "ann@example.com", "confirmed": "yes"}),
    "POST /contacts/bulk": Entry(who="marketer", form={
        "scope": "ticked", "ids": "1", "segment": "Trialists", "action": "stage",
        "value_stage": "try", "value_list": "VIP", "value_journey": ""}, numbers=("ids",)),
    "POST /contacts/bulk/run": Entry(who="marketer", form={
        "scope": "ticked", "ids": "1", "segment": "", "token": "not-a-token"},
        numbers=("ids",)),
    "GET /segments": Entry(who="marketer"),
    "GET /segments/preview": Entry(who="marketer", query=("where",)),
    "GET /segments/new": Entry(who="marketer"),
    "POST /segments/new": Entry(who="marketer", form={
        "name": "Buyers", "condition": "stage == 'buy' and opened('30d') >= 1",
        "description": "Customers who read us"}),
    "GET /segments/<int:segment_id>": Entry(
        who="marketer", path=lambda ctx: {"segment_id": str(ctx["segment_id"])}),
    "POST /segments/<int:segment_id>": Entry(
        who="marketer", path=lambda ctx: {"segment_id": str(ctx["segment_id"])},
        form={"name": "Trialists", "condition": "stage == 'try'\nand score > 10",
              "description": ""}),
    "POST /segments/<int:segment_id>/delete": Entry(
        who="marketer", path=lambda ctx: {"segment_id": str(ctx["segment_id"])},
        form={"x": "1"}),
    "GET /webhooks": Entry(who="marketer"),
    "POST /webhooks": Entry(who="marketer", form={
        "url": "https://hooks.example.com/in", "events": "demo.*\ncontact.created",
        "description": "The CRM"}),
    "GET /webhooks/<int:endpoint_id>": Entry(
        who="marketer", path=lambda ctx: {"endpoint_id": str(ctx["endpoint_id"])}),
    "POST /webhooks/<int:endpoint_id>": Entry(
        who="marketer", path=lambda ctx: {"endpoint_id": str(ctx["endpoint_id"])},
        form={"url": "https://hooks.example.com/v2", "events": "*", "description": ""}),
    "POST /webhooks/<int:endpoint_id>/rotate": Entry(
        who="marketer", path=lambda ctx: {"endpoint_id": str(ctx["endpoint_id"])},
        form={"x": "1"}),
    "POST /webhooks/<int:endpoint_id>/enabled": Entry(
        who="marketer", path=lambda ctx: {"endpoint_id": str(ctx["endpoint_id"])},
        form={"enabled": "0"}),
    "POST /webhooks/<int:endpoint_id>/delete": Entry(
        who="marketer", path=lambda ctx: {"endpoint_id": str(ctx["endpoint_id"])},
        form={"x": "1"}),
    "POST /webhooks/deliveries/<int:delivery_id>/replay": Entry(
        who="marketer", path=lambda ctx: {"delivery_id": str(ctx["delivery_id"])},
        form={"x": "1"}),
    "GET /broadcasts": Entry(who="marketer"),
    "GET /broadcasts/new": Entry(who="marketer"),
    "POST /broadcasts/new": Entry(who="marketer", form={
        "name": "Spring news", "audience": "list", "list": "Readers", "segment": "",
        "template": "prospect-case-study", "template_b": "quarterly-needs-assessment",
        "topic": "news", "timing": "at", "send_at": "2026-03-05 10:00", "local_time": "10:00",
        "sample_percent": "20", "metric": "clicks", "window_hours": "4"},
        numbers=("sample_percent", "window_hours")),
    "GET /broadcasts/<int:broadcast_id>": Entry(
        who="marketer", path=lambda ctx: {"broadcast_id": str(ctx["broadcast_id"])}),
    "GET /broadcasts/<int:broadcast_id>/progress": Entry(
        who="marketer", path=lambda ctx: {"broadcast_id": str(ctx["broadcast_id"])}),
    "POST /broadcasts/<int:broadcast_id>/pause": Entry(
        who="marketer", path=lambda ctx: {"broadcast_id": str(ctx["broadcast_id"])},
        form={"reason": "the link is wrong"}),
    "POST /broadcasts/<int:broadcast_id>/resume": Entry(
        who="marketer", path=lambda ctx: {"broadcast_id": str(ctx["broadcast_id"])},
        form={"reason": "fixed the link"}),
    "POST /broadcasts/<int:broadcast_id>/cancel": Entry(
        who="marketer", path=lambda ctx: {"broadcast_id": str(ctx["broadcast_id"])},
        form={"x": "1"}),
    "POST /broadcasts/<int:broadcast_id>/winner": Entry(
        who="marketer", path=lambda ctx: {"broadcast_id": str(ctx["broadcast_id"])},
        form={"x": "1"}),
    "GET /journeys/new": Entry(who="marketer"),
    "GET /journeys/simulation": Entry(who="marketer",
                                      query=("journey", "contacts", "days", "cohort"),
                                      numbers=("contacts", "days")),
    "POST /journeys/new": Entry(who="marketer", form={
        "source": EDITED, "based_on": "0", "action": "simulate", "contacts": "20",
        "days": "5", "note": "First cut."}, numbers=("based_on", "contacts", "days")),
    "GET /journeys/<journey_id>/edit": Entry(
        who="marketer", path=lambda ctx: {"journey_id": ctx["journey_id"]}),
    "POST /journeys/<journey_id>/edit": Entry(
        who="marketer", path=lambda ctx: {"journey_id": ctx["journey_id"]},
        form={"source": EDITED, "based_on": "1"}),
    "POST /journeys/validate": Entry(who="marketer", json={"source": EDITED}),
    "POST /journeys/<journey_id>/simulate": Entry(
        who="marketer", path=lambda ctx: {"journey_id": ctx["journey_id"]},
        form={"source": EDITED, "based_on": "1", "contacts": "20", "days": "5"},
        numbers=("contacts", "days")),
    "POST /journeys/<journey_id>/forecast": Entry(
        who="marketer", path=lambda ctx: {"journey_id": ctx["journey_id"]},
        form={"source": EDITED, "sample": "50", "history_days": "30"},
        numbers=("sample", "history_days")),
    "POST /journeys/<journey_id>/publish": Entry(
        who="marketer", path=lambda ctx: {"journey_id": ctx["journey_id"]},
        form={"source": EDITED, "based_on": "1", "note": "Same as before."},
        numbers=("based_on",)),
    "GET /journeys": Entry(who="marketer"),
    "GET /journeys/<journey_id>": Entry(
        who="marketer", path=lambda ctx: {"journey_id": "tested"}, query=("old", "new"),
        numbers=("old", "new")),
    "GET /journeys/<journey_id>/steps/<step_id>": Entry(
        who="marketer", path=lambda ctx: {"journey_id": "tested", "step_id": "a"}),
    "POST /journeys/<journey_id>/pause": Entry(
        who="marketer", path=lambda ctx: {"journey_id": "tested"},
        form={"reason": "a wrong link"}),
    "POST /journeys/<journey_id>/resume": Entry(
        who="marketer", path=lambda ctx: {"journey_id": "tested"},
        form={"reason": "fixed the link"}),
    "POST /journeys/<journey_id>/take-out": Entry(
        who="marketer", path=lambda ctx: {"journey_id": "tested"},
        form={"email": "ann@example.com", "confirm": "yes"}),
    "POST /journeys/<journey_id>/splits/<split_id>/end": Entry(
        who="marketer", path=lambda ctx: {"journey_id": "tested", "split_id": "ab"},
        form={"confirm": "yes"}),
    "GET /contacts/import": Entry(who="marketer"),
    "POST /contacts/import": Entry(who="marketer", form={"file": "not a file"}),
    "GET /contacts/import/files/<upload>": Entry(
        who="marketer", path=lambda ctx: {"upload": ctx["upload"]}, query=("mapping", "name")),
    "POST /contacts/import/files/<upload>": Entry(
        who="marketer", path=lambda ctx: {"upload": ctx["upload"]}, form={
            "name": "people.csv", "col-0": "email", "col-1": "attribute", "policy": "update",
            "list": "Fair", "basis": "Signed up at the fair", "consented_at": "2026-02-20",
            "start_journeys": "yes", "save_as": "Fair scanner"}, dates=("consented_at",)),
    "GET /contacts/import/<int:job_id>": Entry(
        who="marketer", path=lambda ctx: {"job_id": str(ctx["import_job"])}),
    "GET /contacts/import/<int:job_id>/progress": Entry(
        who="marketer", path=lambda ctx: {"job_id": str(ctx["import_job"])}),
    "GET /contacts/import/<int:job_id>/rejects.csv": Entry(
        who="marketer", path=lambda ctx: {"job_id": str(ctx["import_job"])}),
    "POST /contacts/import/<int:job_id>/resume": Entry(
        who="marketer", path=lambda ctx: {"job_id": str(ctx["import_job"])},
        form={"x": "1"}),
    "GET /insights/acquisition-ceiling": Entry(who="marketer", query=("horizon",)),
    "GET /insights/customer-value": Entry(who="marketer", query=("horizon",),
                                          numbers=("horizon",)),
    "GET /insights/email": Entry(who="marketer", query=("days",), numbers=("days",)),
    "GET /insights/nps": Entry(who="marketer"),
    "GET /sales/report": Entry(who="marketer"),
    "GET /deliverability": Entry(who="marketer"),
    "POST /deliverability/pause": Entry(who="marketer", form={
        "source": "journey:onboarding", "reason": "Complaints from the March import."}),
    "POST /deliverability/resume": Entry(who="marketer", form={
        "source": "onboarding", "reason": "Removed the purchased list."}),
    "GET /templates": Entry(who="marketer"),
    "GET /inbound": Entry(who="marketer", query=("page",), numbers=("page",)),
    "GET /inbound/<int:message_id>": Entry(
        who="marketer", path=lambda ctx: {"message_id": str(ctx["message_id"])}),
    "POST /inbound/<int:message_id>/read": Entry(
        who="marketer", path=lambda ctx: {"message_id": str(ctx["message_id"])}),
    "GET /templates/<name>": Entry(who="marketer", path=lambda ctx: {"name": "trial-welcome"},
                                   query=("variant", "vertical", "stage", "language",
                                          "email")),
    "POST /templates/<name>/test": Entry(who="marketer",
                                         path=lambda ctx: {"name": "trial-welcome"},
                                         form={"language": "fr", "email": ""}),
    "GET /templates/<name>/body.html": Entry(who="marketer",
                                             path=lambda ctx: {"name": "trial-welcome"},
                                             query=("vertical", "language", "email")),
    "GET /referrals": Entry(who="marketer"),
    "GET /referrals/report.csv": Entry(who="marketer"),
    "GET /referrals/sources": Entry(who="marketer"),
    "POST /referrals/sources": Entry(who="marketer", form={
        "type": "partner", "name": "Pat", "email": "pat@example.com", "campaign": "spring",
        "landing": "trial", "expires_on": "2026-12-31"}, dates=("expires_on",)),
    "POST /referrals/sources/<int:source_id>/status": Entry(
        who="marketer", path=lambda ctx: {"source_id": str(ctx["source_id"])},
        form={"status": "paused"}),
    "GET /referrals/review": Entry(who="marketer"),
    "POST /referrals/<int:referral_id>/review": Entry(
        who="marketer", path=lambda ctx: {"referral_id": "1"},
        form={"decision": "approve", "note": "ok"}),
    "GET /referrals/rewards": Entry(who="marketer", query=("status",)),
    "POST /referrals/rewards/<int:reward_id>": Entry(
        who="marketer", path=lambda ctx: {"reward_id": "1"},
        form={"to": "approved", "reason": "ok"}),
    "GET /referrals/fulfilment": Entry(who="marketer", query=("show",)),
    "POST /referrals/rewards/<int:reward_id>/fulfil": Entry(
        who="marketer", path=lambda ctx: {"reward_id": "1"}, form={"note": "Sent the mug."}),
    "GET /sales": Entry(who="sales", query=("show",)),
    "GET /sales/handoffs/<int:handoff_id>": Entry(
        who="sales", path=lambda ctx: {"handoff_id": str(ctx["handoff_id"])}),
    "POST /sales/handoffs/<int:handoff_id>/accept": Entry(
        who="sales", path=lambda ctx: {"handoff_id": str(ctx["handoff_id"])},
        form={"x": "1"}),
    "POST /sales/handoffs/<int:handoff_id>/reject": Entry(
        who="sales", path=lambda ctx: {"handoff_id": str(ctx["handoff_id"])},
        form={"reason": "no_budget", "detail": "Next year."}),
    "POST /sales/handoffs/<int:handoff_id>/close": Entry(
        who="sales", path=lambda ctx: {"handoff_id": str(ctx["handoff_id"])},
        form={"outcome": "won", "amount": "12000", "detail": "Signed."},
        numbers=("amount",)),
    # API
    "POST /api/events": Entry(who="api", json={
        "email": "ann@example.com", "type": "contact.updated",
        "properties": {"first_name": "Ann", "company_size": 50, "country": "FR"},
        "occurred_at": "2026-03-02T09:00:00Z"}),
    "POST /api/v1/events": Entry(who="api", json={"events": [{
        "id": "crm-1", "email": "ann@example.com", "type": "contact.updated",
        "properties": {"first_name": "Ann", "company_size": 50, "country": "FR"},
        "occurred_at": "2026-03-02T09:00:00Z"}]}),
    "POST /api/bounces": Entry(who="api", json={
        "type": "bounce", "email": "ann@example.com", "status": "5.1.1",
        "diagnostic": "550 no such user", "occurred_at": "2026-03-02T09:00:00Z"}),
    # A raw message (message/rfc822) is no form and no JSON: here every call is a 415; the
    # hostile messages themselves are in tests/nurture/inbound/test_inbound_api.py.
    "POST /api/inbound": Entry(who="api"),
    "GET /api/scores": Entry(who="api", query=("email",)),
    "GET /api/nps": Entry(who="api", query=("period", "segment")),
    # The API's description and its reference page: public, they read no input.
    "GET /api/openapi.json": Entry(query=("x",)),
    "GET /api/docs": Entry(query=("x",)),
    # Browsers of a listed site (docs/visits.md); the signed visitor id is the authority.
    "GET /t.js": Entry(query=("v",)),
    # The versioned API: schemathesis fuzzes every operation against its schema
    # (tests/web/test_api_schema.py); the calls that create are also here, where a refused
    # one must store nothing.
    "GET /api/v1/segments": Entry(who="api", query=("name_contains", "cursor", "limit"),
                                  numbers=("limit",)),
    "POST /api/v1/bounces": Entry(who="api", json={
        "type": "bounce", "email": "ann@example.com", "status": "5.1.1",
        "diagnostic": "550 no such user", "occurred_at": "2026-03-02T09:00:00Z"}),
    "POST /api/v1/segments": Entry(who="api", json={
        "name": "Hot", "condition": "score >= 40", "description": "Leads past 40."}),
    "POST /api/v1/visits": Entry(json={
        "visitor": "not-a-signed-id", "url": "http://localhost:5000/pricing",
        "title": "Pricing", "referrer": ""}),
    "POST /api/trials/<int:trial_id>/usage": Entry(
        who="api", path=lambda ctx: {"trial_id": str(ctx["trial_id"])},
        json={"type": "seat_activated", "seat": "bob@example.com"}),
    # /api/v1 referral, lists, broadcasts and webhooks (no reward exists: a 404).
    "GET /api/v1/referral/sources": Entry(who="api", query=(*PAGE, "type", "status"),
                                          numbers=("limit",)),
    "POST /api/v1/referral/sources": Entry(who="api", json={
        "type": "partner", "name": "Pat", "email": "pat@example.com",
        "campaign": "spring", "landing": "trial", "expires_on": "2026-12-31"}),
    "GET /api/v1/referral/sources/<int:source_id>": Entry(
        who="api", path=lambda ctx: {"source_id": str(ctx["source_id"])}),
    "GET /api/v1/referrals": Entry(who="api", query=(*PAGE, "source_id", "status"),
                                   numbers=("limit", "source_id")),
    "GET /api/v1/referral/rewards": Entry(who="api", query=(*PAGE, "status", "source_id"),
                                          numbers=("limit", "source_id")),
    "POST /api/v1/referral/rewards/<int:reward_id>/approve": Entry(
        who="api", path=lambda ctx: {"reward_id": "1"}),
    "POST /api/v1/referral/rewards/<int:reward_id>/void": Entry(
        who="api", path=lambda ctx: {"reward_id": "1"}, json={"reason": "refund"}),
    "GET /api/v1/lists": Entry(who="api", query=PAGE, numbers=("limit",)),
    "POST /api/v1/lists": Entry(who="api", json={"name": "Fair", "description": "Booth"}),
    "GET /api/v1/lists/<int:list_id>": Entry(
        who="api", path=lambda ctx: {"list_id": str(ctx["list_id"])}),
    "GET /api/v1/lists/<int:list_id>/members": Entry(
        who="api", path=lambda ctx: {"list_id": str(ctx["list_id"])}, query=PAGE,
        numbers=("limit",)),
    "POST /api/v1/lists/<int:list_id>/members": Entry(
        who="api", path=lambda ctx: {"list_id": str(ctx["list_id"])},
        json={"contacts": ["ann@example.com"]}),
    "DELETE /api/v1/lists/<int:list_id>/members/<int:contact_id>": Entry(
        who="api", path=lambda ctx: {"list_id": str(ctx["list_id"]),
                                     "contact_id": str(ctx["contact_id"])}),
    "GET /api/v1/broadcasts": Entry(who="api", query=(*PAGE, "status"), numbers=("limit",)),
    "POST /api/v1/broadcasts": Entry(who="api", json={
        "name": "News", "audience": "list", "audience_id": 1,
        "arms": [{"template": "prospect-case-study", "subject": ""}], "topic": "",
        "timing": "now", "local_time": "", "sample_percent": 0, "metric": "clicks",
        "window_hours": 4}),
    "GET /api/v1/broadcasts/<int:broadcast_id>": Entry(
        who="api", path=lambda ctx: {"broadcast_id": str(ctx["broadcast_id"])}),
    "POST /api/v1/broadcasts/<int:broadcast_id>/pause": Entry(
        who="api", path=lambda ctx: {"broadcast_id": str(ctx["broadcast_id"])},
        json={"reason": "wrong link"}),
    "POST /api/v1/broadcasts/<int:broadcast_id>/resume": Entry(
        who="api", path=lambda ctx: {"broadcast_id": str(ctx["broadcast_id"])},
        json={"reason": "fixed"}),
    "POST /api/v1/broadcasts/<int:broadcast_id>/cancel": Entry(
        who="api", path=lambda ctx: {"broadcast_id": str(ctx["broadcast_id"])}),
    "GET /api/v1/webhooks": Entry(who="api", query=PAGE, numbers=("limit",)),
    "POST /api/v1/webhooks": Entry(who="api", json={
        "url": "https://hooks.example.com/new", "event_types": ["demo.*"],
        "description": "CRM"}),
    "GET /api/v1/webhooks/<int:endpoint_id>": Entry(
        who="api", path=lambda ctx: {"endpoint_id": str(ctx["endpoint_id"])}),
    "PATCH /api/v1/webhooks/<int:endpoint_id>": Entry(
        who="api", path=lambda ctx: {"endpoint_id": str(ctx["endpoint_id"])},
        json={"url": "https://hooks.example.com/v2", "event_types": ["*"],
              "description": "v2", "enabled": True}),
    "DELETE /api/v1/webhooks/<int:endpoint_id>": Entry(
        who="api", path=lambda ctx: {"endpoint_id": str(ctx["endpoint_id"])}),
    "POST /api/v1/webhooks/<int:endpoint_id>/rotate-secret": Entry(
        who="api", path=lambda ctx: {"endpoint_id": str(ctx["endpoint_id"])}),
    "GET /api/v1/webhooks/<int:endpoint_id>/deliveries": Entry(
        who="api", path=lambda ctx: {"endpoint_id": str(ctx["endpoint_id"])}, query=PAGE,
        numbers=("limit",)),
    "GET /api/v1/webhooks/deliveries/<int:delivery_id>": Entry(
        who="api", path=lambda ctx: {"delivery_id": str(ctx["delivery_id"])}),
    "POST /api/v1/webhooks/deliveries/<int:delivery_id>/replay": Entry(
        who="api", path=lambda ctx: {"delivery_id": str(ctx["delivery_id"])}),
    # /api/v1: journeys, hand-offs, NPS and trials.
    "GET /api/v1/journeys": Entry(who="api", query=("limit", "cursor"), numbers=("limit",)),
    "GET /api/v1/journeys/<journey_id>": Entry(
        who="api", path=lambda ctx: {"journey_id": ctx["journey_id"]}),
    "GET /api/v1/journeys/<journey_id>/versions": Entry(
        who="api", path=lambda ctx: {"journey_id": ctx["journey_id"]},
        query=("limit", "cursor"), numbers=("limit",)),
    "GET /api/v1/journeys/<journey_id>/enrollments": Entry(
        who="api", path=lambda ctx: {"journey_id": ctx["journey_id"]},
        query=("status", "limit", "cursor"), numbers=("limit",)),
    # Nobody by this address (404): an enrollment made would be advanced by a worker while
    # the next values are tried, and the rows its steps write would count against them.
    "POST /api/v1/journeys/<journey_id>/enrollments": Entry(
        who="api", path=lambda ctx: {"journey_id": ctx["journey_id"]},
        json={"email": "nobody@example.com"}),
    "GET /api/v1/journeys/<journey_id>/enrollments/<int:contact_id>": Entry(
        who="api", path=lambda ctx: {"journey_id": ctx["journey_id"],
                                     "contact_id": str(ctx["contact_id"])}),
    "DELETE /api/v1/journeys/<journey_id>/enrollments/<int:contact_id>": Entry(
        who="api", path=lambda ctx: {"journey_id": ctx["journey_id"],
                                     "contact_id": str(ctx["contact_id"])}),
    "GET /api/v1/handoffs": Entry(who="api", query=("status", "owner", "limit", "cursor"),
                                  numbers=("limit",)),
    "GET /api/v1/handoffs/<int:handoff_id>": Entry(
        who="api", path=lambda ctx: {"handoff_id": str(ctx["handoff_id"])}),
    "POST /api/v1/handoffs/<int:handoff_id>/accept": Entry(
        who="api", path=lambda ctx: {"handoff_id": str(ctx["handoff_id"])}, json={}),
    "POST /api/v1/handoffs/<int:handoff_id>/reject": Entry(
        who="api", path=lambda ctx: {"handoff_id": str(ctx["handoff_id"])},
        json={"reason": "no-budget", "detail": "Next year."}),
    "POST /api/v1/handoffs/<int:handoff_id>/close": Entry(
        who="api", path=lambda ctx: {"handoff_id": str(ctx["handoff_id"])},
        json={"outcome": "won", "amount": 12000, "detail": "Signed."}),
    "GET /api/v1/nps/answers": Entry(
        who="api", query=("since", "until", "min_score", "max_score", "limit", "cursor"),
        numbers=("min_score", "max_score", "limit"), dates=("since", "until")),
    "GET /api/v1/nps/report": Entry(who="api", query=("period", "segment", "since", "until"),
                                    dates=("since", "until")),
    "GET /api/v1/trials": Entry(who="api", query=("status", "limit", "cursor"),
                                numbers=("limit",)),
    "GET /api/v1/trials/<int:trial_id>": Entry(
        who="api", path=lambda ctx: {"trial_id": str(ctx["trial_id"])}),
    "POST /api/v1/trials/<int:trial_id>/usage": Entry(
        who="api", path=lambda ctx: {"trial_id": str(ctx["trial_id"])},
        json={"type": "service_used", "service": "crm"}),
}

# Routes that another change of the same issue makes pass: strict, so that the mark goes
# once they do.
XFAIL: dict[str, str] = {}


def _rules(app) -> Iterator[str]:
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield f"{method} {rule.rule}"


def test_every_route_has_an_entry_in_the_corpus(rt):
    missing = [key for key in _rules(create_app(rt))
               if key not in CORPUS and " /api/v1/" not in key]  # schemathesis fuzzes those
    assert not missing, f"Add these routes to CORPUS in {__name__}: {', '.join(missing)}"
    stale = set(CORPUS) - set(_rules(create_app(rt)))
    assert not stale, f"These CORPUS entries name no route: {', '.join(sorted(stale))}"


# ---- the world the requests land in --------------------------------------------------

STAFF = ("marketer", "sales", "admin")

@pytest.fixture
def world(rt, request) -> dict:
    """A client for the route's role (CSRF and rate limits off: the values reach the
    views) and real rows for the good path values."""
    who = CORPUS[request.node.callspec.params["key"]].who
    app = create_app(rt)
    app.config.update(WTF_CSRF_ENABLED=False, RATELIMIT_ENABLED=False)
    cid = contact(rt, "ann@example.com", first_name="Ann")
    now = rt.clock.now()
    clients = {"anon": app.test_client(), "api": app.test_client()}
    with rt.db.transaction() as session:
        user = users.create_user(session, f"{who}@example.com", who.title(), who, PASSWORD,
                                 now=now) if who in STAFF else None
        token_id = apitokens.create_token(session, user.id, "T", "read", now=now).info.id \
            if user else 0
        trial = Trial(contact_id=cid, company="Acme", services=["crm"], seats=3,
                      status="active", started_at=now, ends_at=now + timedelta(days=30))
        # Accepted by the rep: closing it (with an amount) is open to them.
        handoff = Handoff(contact_id=cid, trigger="manual", reason="test", status="accepted",
                          assigned_to=user.id if user else None, accepted_at=now)
        session.add_all([trial, handoff])
        session.flush()
        trial_id, handoff_id = trial.id, handoff.id
        segment_id = segments.create(session, "Trialists", "stage == 'try'", now)
        list_id = lists.ensure(session, "Readers", now)
        lists.add(session, list_id, [cid], now)
        broadcast_id = broadcasts.create(session, plan.Plan(
            "News", plan.LIST, "Readers", ("prospect-case-study", "quarterly-needs-assessment"),
            "", plan.NOW, sample_percent=50), now, by="test").id
    publish_text(rt, EDITED)
    if who in STAFF:
        clients[who] = app.test_client()
        signed = clients[who].post("/login", data={"email": f"{who}@example.com",
                                                   "password": PASSWORD})
        assert signed.status_code == 303
    source_id, code = referral_api.create_source(rt, "partner", "Pat", "pat@example.com")
    handle(rt, mailboxes(rt.settings), b"From: bo@example.org\r\nSubject: Hi\r\n\r\nHi\r\n",
           "inbound-api")
    # A header alone: the jobs that good values start (run by the workers, while the next
    # values are tried) change no count of rows.
    publish_text(rt, SPLIT_JOURNEY)
    upload = uploads.store(rt.settings.var_dir, io.BytesIO(b"email,name\n"))
    import_job = imports.create(rt, uploads.path_of(rt.settings.var_dir, upload), "p.csv",
                                {"email": "email"}, Options(), "test", background=False)
    endpoint_id, _ = webhooks.created(rt.db, "https://hooks.example.com/in", ["demo.*"], "",
                                      None, now)
    delivery_id = webhooks.replayed(rt.db, _a_delivery(rt), now)
    return {"upload": upload, "import_job": import_job,
            "endpoint_id": endpoint_id, "delivery_id": delivery_id,
            "clients": clients, "rt": rt, "code": code, "source_id": source_id,
            "message_id": inbound.kept_page(rt).messages[0].id,
            "trial_id": trial_id, "handoff_id": handoff_id, "segment_id": segment_id,
            "contact_id": cid,
            "broadcast_id": broadcast_id, "journey_id": "edited",
            "list_id": list_id,
            "user_id": user.id if user else 0, "token_id": token_id,
            "signup": rt.tokens.sign("signup", [cid, "ann@example.com", "no-such-change"]),
            "subscription": rt.tokens.sign("subscription", [cid, "ann@example.com", None]),
            "confirm": rt.tokens.sign("confirm", [cid, "ann@example.com", None]),
            "track": rt.tokens.sign("track", 1), "nps": rt.tokens.sign("nps", [cid, 7, 9]),
            "trial_token": conversion_token(rt.tokens, cid, "ann@example.com", trial_id)}


def _a_delivery(rt) -> int:
    """A delivery of the CRM hand-off, with no endpoint: replays of it are what we try."""
    from nurture.webhooks.models import WebhookDelivery

    with rt.db.transaction() as session:
        row = WebhookDelivery(delivery_key="handoff:1:sales.handoff", status="delivered",
                              url="https://crm.example.com/in", payload={})
        session.add(row)
        session.flush()
        return row.id


def _snapshot(rt) -> tuple:
    """Row counts of every table, and the latest change to a contact."""
    tables = Base.metadata.sorted_tables
    counts = ", ".join(f"(SELECT count(*) FROM {t.name})" for t in tables)
    with rt.db.engine.connect() as conn:
        row = conn.execute(text(f"SELECT {counts}")).one()
        changed = conn.execute(select(func.max(text("updated_at"))).select_from(
            text("contacts"))).scalar()
    return (*row, changed)


@dataclass(frozen=True)
class Call:
    method: str
    path: str
    query: str = ""
    form: dict[str, str] | None = None
    body: str | None = None  # raw, sent as application/json
    content_type: str | None = None
    what: str = ""


def _path(rule: str, values: dict[str, str]) -> str:
    path = rule
    for name, value in values.items():
        for placeholder in (f"<{name}>", f"<int:{name}>"):
            path = path.replace(placeholder, value)
    return path


def _calls(key: str, entry: Entry, ctx: dict) -> Iterator[Call]:
    method, rule = key.split(" ", 1)
    good = entry.path(ctx)
    base = _path(rule, good)
    good_form = dict(entry.form) if method == "POST" and entry.json is None else None
    good_body = json.dumps(entry.json) if entry.json is not None else None
    for name in good:
        bad_values = IDS if f"<int:{name}>" in rule else SEGMENTS
        for value in bad_values:
            yield Call(method, _path(rule, {**good, name: value}), form=good_form,
                       body=good_body, what=f"path {name}={value[:20]!r}")
    # Beside bad query arguments, a form is empty: the good one would act before the
    # form's own bad values are tried.
    quiet = {} if good_form is not None else None
    for name in entry.query:
        for value in TEXT + (NUMBERS if name in entry.numbers else []):
            yield Call(method, base, query=f"{name}={_quote(value)}", form=quiet,
                       body=good_body, what=f"query {name}={value[:20]!r}")
        for value in RAW:
            yield Call(method, base, query=f"{name}={value}", form=quiet,
                       body=good_body, what=f"query {name} raw {value}")
    for value in UNKNOWN:
        yield Call(method, base, query=f"zz_unknown={value}", form=quiet, body=good_body,
                   what=f"query zz_unknown={value[:20]!r}")
    if good_form is not None:
        for name in (*entry.form, "zz_unknown"):
            values = TEXT + (NUMBERS if name in entry.numbers else []) + \
                (DATES if name in entry.dates else [])
            for value in values:
                yield Call(method, base, form={**good_form, name: value},
                           what=f"form {name}={value[:20]!r}")
            for value in RAW:
                raw = "&".join(f"{k}={_quote(v)}" for k, v in good_form.items() if k != name)
                yield Call(method, base, body=f"{raw}&{name}={value}",
                           content_type="application/x-www-form-urlencoded",
                           what=f"form {name} raw {value}")
        yield Call(method, base, body='{"a": 1}', content_type="application/json",
                   what="JSON to a form")
    if entry.json is not None:
        for name in (*entry.json, "zz_unknown"):
            for value in JSON_VALUES:
                yield Call(method, base, body=json.dumps({**entry.json, name: value}),
                           what=f"json {name}={str(value)[:20]!r}")
        if "properties" in entry.json:
            for name in ("first_name", "company_size", "country", "language", "x"):
                for value in JSON_VALUES:
                    body = {**entry.json, "properties": {name: value}}
                    yield Call(method, base, body=json.dumps(body),
                               what=f"json properties.{name}={str(value)[:20]!r}")
        for raw in RAW_JSON:
            yield Call(method, base, body=raw, what=f"raw json {raw[:20]!r}")
        yield Call(method, base, form={"email": "ann@example.com"}, what="a form to the API")
    yield Call(method, base, form=good_form, body=good_body, what="good values")


def _quote(value: str) -> str:
    from urllib.parse import quote

    return quote(value, safe="")


@pytest.mark.parametrize("key", [
    pytest.param(key, marks=pytest.mark.xfail(strict=True, reason=XFAIL[key]))
    if key in XFAIL else key for key in sorted(CORPUS)])
def test_no_hostile_value_makes_a_5xx_and_a_refused_one_stores_nothing(world, key):
    entry, rt = CORPUS[key], world["rt"]
    client = world["clients"][entry.who]
    failures = []
    before = _snapshot(rt)
    for call in _calls(key, entry, world):
        response = _send_to(client, entry.who, call)
        after = _snapshot(rt)
        if response.status_code >= 500:
            failures.append(f"{call.what}: {response.status_code}")
        elif response.status_code >= 400 and after != before:
            failures.append(f"{call.what}: {response.status_code} but stored something")
        before = after
    assert not failures, f"{key}:\n" + "\n".join(failures[:30])


def _send_to(client, who: str, call: Call):
    headers = AUTH if who == "api" else {}
    url = call.path + (f"?{call.query}" if call.query else "")
    if call.body is not None:
        return client.open(url, method=call.method,
                           data=call.body.encode("utf-8", "surrogatepass"),
                           content_type=call.content_type or "application/json",
                           headers=headers)
    return client.open(url, method=call.method, data=call.form, headers=headers)


# ---- files uploaded for an import -----------------------------------------------------

HOSTILE_FILES = {
    "not CSV bytes": bytes(range(256)) * 64,
    "a PNG": b"\x89PNG\r\n\x1a\n" + b"\x00" * 4000,
    "UTF-16": "email\nann@example.com\n".encode("utf-16"),
    "a huge header": b",".join(b"c%d" % i for i in range(50_000)) + b"\nann@example.com\n",
    "a column name 100,000 characters long": b"x" * 100_000 + b"\nann@example.com\n",
    "a NUL in the header": b"em\x00ail\nann@example.com\n",
    "nothing": b"",
    "only blank lines": b"\n\n\r\n",
}


@pytest.mark.parametrize("what", sorted(HOSTILE_FILES))
def test_a_hostile_file_is_refused_with_a_sentence_and_starts_nothing(rt, what):
    app = create_app(rt)
    app.config.update(WTF_CSRF_ENABLED=False)
    with rt.db.transaction() as session:
        users.create_user(session, "m@example.com", "M", "marketer", PASSWORD,
                          now=rt.clock.now())
    client = app.test_client()
    client.post("/login", data={"email": "m@example.com", "password": PASSWORD})
    before = _snapshot(rt)
    answer = client.post("/contacts/import", data={
        "file": (io.BytesIO(HOSTILE_FILES[what]), "contacts.csv")},
        content_type="multipart/form-data")
    assert answer.status_code == 422, what
    assert '<p id="upload-error" class="error" role="alert">' in answer.text
    assert _snapshot(rt) == before
    assert list(uploads.folder(rt.settings.var_dir).glob("*")) == []  # nothing kept
