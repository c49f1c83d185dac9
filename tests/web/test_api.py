"""POST /api/events: good events move journeys; bad input gets a 4xx problem document with a
sentence per field, and stores nothing."""

from __future__ import annotations

import json

from sqlalchemy import func, select

from nurture.contacts.models import Contact
from nurture.events.models import Event
from tests.helpers import contact, enrollments, get_contact, publish_text, run_due
from web import create_app

AUTH = {"Authorization": "Bearer test-api-key"}


def _events(rt) -> int:
    with rt.db.sessions() as session:
        return session.scalar(select(func.count()).select_from(Event))


def _is_problem(response, status: int) -> dict:
    assert response.status_code == status, response.text
    assert response.mimetype == "application/problem+json"
    body = response.json
    assert {"type", "title", "status", "detail", "errors"} <= body.keys()
    assert body["status"] == status and body["detail"].endswith(".")
    assert all(e["field"] and e["detail"].endswith(".") for e in body["errors"])
    return body


def test_recorded_event_enters_the_journey(rt):
    publish_text(rt, """
        id: t
        name: T
        entry: {event: trial.started}
        steps:
          - {id: hi, send: trial-welcome, class: transactional}
    """)
    contact(rt, "Ann@Example.com")
    client = create_app(rt).test_client()
    response = client.post("/api/events", headers=AUTH,
                           json={"email": "ann@example.com", "type": "trial.started",
                                 "properties": {"seats": 4}})
    assert response.status_code == 201 and response.json["id"] > 0
    run_due(rt)
    assert enrollments(rt)[0].exit_reason == "completed"


def test_bad_input_is_refused_with_a_sentence_and_nothing_is_stored(rt):
    contact(rt, "ann@example.com")
    client = create_app(rt).test_client()
    cases = [
        ({}, {"email": "ann@example.com", "type": "trial.started"}, 401),
        (AUTH, None, 400),
        (AUTH, {"email": "ann@example.com"}, 422),
        (AUTH, {"email": "ann@example.com", "type": "trial.startd"}, 422),
        (AUTH, {"email": "nobody@example.com", "type": "trial.started"}, 422),
        (AUTH, {"email": "ann@example.com", "type": "trial.started", "properties": [1]}, 422),
        (AUTH, {"email": "ann@example.com", "type": "custom.x", "colour": "red"}, 422),
    ]
    for headers, body, status in cases:
        if body is None:
            response = client.post("/api/events", headers=headers, data="not json",
                                   content_type="application/json")
        else:
            response = client.post("/api/events", headers=headers, json=body)
        _is_problem(response, status)
    assert _events(rt) == 0


def test_an_unknown_key_is_named_with_its_path(rt):
    contact(rt, "ann@example.com")
    client = create_app(rt).test_client()
    response = client.post("/api/events", headers=AUTH, json={
        "email": "ann@example.com", "type": "custom.x", "colour": "red"})
    body = _is_problem(response, 422)
    assert body["errors"] == [{"field": "colour",
                               "detail": "This field is not known here; remove it."}]


def test_contact_updated_with_wrong_types_or_sizes_is_a_422_naming_each_field(rt):
    """These were 500s (or a 5 kB name stored as is on SQLite)."""
    cid = contact(rt, "ann@example.com", first_name="Ann")
    client = create_app(rt).test_client()
    cases = [({"company_size": "abc"}, "properties.company_size"),
             ({"first_name": {}}, "properties.first_name"),
             ({"first_name": "A" * 5000}, "properties.first_name"),
             ({"country": "FRANCE"}, "properties.country"),
             ({"company_size": 10**12}, "properties.company_size"),
             ({"first_name": None}, "properties.first_name"),
             ({"timezone": "Mars/Olympus"}, "properties.timezone"),
             ({"firstname": "Ann"}, "properties.firstname")]
    for properties, field in cases:
        response = client.post("/api/events", headers=AUTH, json={
            "email": "ann@example.com", "type": "contact.updated", "properties": properties})
        body = _is_problem(response, 422)
        assert [e["field"] for e in body["errors"]] == [field], body
    assert _events(rt) == 0
    assert get_contact(rt, cid).first_name == "Ann"
    good = client.post("/api/events", headers=AUTH, json={
        "email": "ann@example.com", "type": "contact.updated",
        "properties": {"company_size": 250, "country": "FR", "first_name": "Anne"}})
    assert good.status_code == 201
    assert (get_contact(rt, cid).company_size, get_contact(rt, cid).country) == (250, "FR")


def test_trial_started_with_days_or_seats_of_the_wrong_type_is_a_422(rt):
    contact(rt, "ann@example.com")
    client = create_app(rt).test_client()
    for properties in ({"days": "abc"}, {"seats": [1]}, {"seats": True}, {"days": 10**6}):
        response = client.post("/api/events", headers=AUTH, json={
            "email": "ann@example.com", "type": "trial.started", "properties": properties})
        _is_problem(response, 422)
    assert _events(rt) == 0


def test_a_long_type_a_year_one_date_and_a_nul_in_a_property_are_422s(rt):
    contact(rt, "ann@example.com")
    client = create_app(rt).test_client()
    bodies = [{"type": "custom." + "x" * 5000},
              {"type": "custom.x", "occurred_at": "0001-01-01T00:00:00+14:00"},
              {"type": "custom.x", "occurred_at": "9999-12-31T23:59:59-14:00"},
              {"type": "custom.x", "occurred_at": "2026-03-02T10:00:00"},
              {"type": "custom.x", "properties": {"note": "a\u0000b"}},
              {"type": "custom.x", "properties": {"note": "\ud800"}},
              {"type": "custom.x", "properties": {"a\u0000": 1}},
              {"type": "custom.x", "properties": {"big": "x" * 40_000}}]
    for body in bodies:
        response = client.post("/api/events", headers=AUTH,
                               json={"email": "ann@example.com", **body})
        _is_problem(response, 422)
    assert _events(rt) == 0


def test_json_that_cannot_be_read_is_a_400(rt):
    contact(rt, "ann@example.com")
    client = create_app(rt).test_client()
    deep = "[" * 100_000 + "]" * 100_000
    for data, content_type in [(deep, "application/json"),
                               ('{"email": "ann@example.com", "type": "custom.x", '
                                '"properties": {"n": NaN}}', "application/json"),
                               ("email=ann@example.com", "application/x-www-form-urlencoded"),
                               ('{"a": ' * 40 + "1" + "}" * 40, "application/json")]:
        response = client.post("/api/events", headers=AUTH, data=data,
                               content_type=content_type)
        body = _is_problem(response, 400)
        assert body["type"] == "urn:nurture:problem:unreadable-request"
    huge = client.post("/api/events", headers=AUTH, data=json.dumps({"x": "y" * 2_000_000}),
                       content_type="application/json")
    _is_problem(huge, 413)
    assert _events(rt) == 0


def test_a_number_too_large_to_be_finite_is_a_422(rt):
    contact(rt, "ann@example.com")
    client = create_app(rt).test_client()
    response = client.post("/api/events", headers=AUTH, content_type="application/json",
                           data='{"email": "ann@example.com", "type": "purchase.completed", '
                                '"properties": {"amount": 1e999}}')
    body = _is_problem(response, 422)
    assert body["errors"][0]["field"] == "body.properties.amount"
    assert _events(rt) == 0


def test_scores_with_a_nul_in_the_email_is_a_422_not_a_500(rt):
    client = create_app(rt).test_client()
    _is_problem(client.get("/api/scores?email=%00", headers=AUTH), 422)
    _is_problem(client.get("/api/scores?email=ann@example.com&x=1", headers=AUTH), 422)
    _is_problem(client.get("/api/scores", headers=AUTH), 422)
    _is_problem(client.get("/api/scores?email=nobody@example.com", headers=AUTH), 404)


def test_every_api_error_is_a_problem_document(rt):
    client = create_app(rt).test_client()
    _is_problem(client.get("/api/scores?email=ann@example.com"), 401)
    _is_problem(client.get("/api/nothing-here", headers=AUTH), 404)
    _is_problem(client.get("/api/events", headers=AUTH), 405)
    _is_problem(client.post("/api/trials/99999999999999999999/usage", headers=AUTH,
                            json={"type": "service_used", "service": "mail"}), 404)


def test_pages_keep_their_own_error_pages(rt):
    client = create_app(rt).test_client()
    missing = client.get("/no-such-page")
    assert missing.status_code == 404 and missing.mimetype == "text/html"


def test_the_openapi_document_declares_every_api_route_with_its_schemas(rt):
    from web.openapi import spec

    app = create_app(rt)
    with app.app_context():
        document = spec.spec
    paths = document["paths"]
    assert {"/api/events", "/api/bounces", "/api/scores", "/api/nps",
            "/api/trials/{trial_id}/usage"} <= paths.keys()
    assert "requestBody" in paths["/api/events"]["post"]
    assert "EventIn" in json.dumps(document) and "Problem" in json.dumps(document)
    assert not [p for p in paths if not p.startswith("/api/")]


def test_a_contact_import_refuses_a_name_longer_than_its_column(rt):
    import pytest

    from nurture.contacts.errors import ContactError

    with pytest.raises(ContactError, match="first name"):
        contact(rt, "ann@example.com", first_name="A" * 500)
    with rt.db.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Contact)) == 0
