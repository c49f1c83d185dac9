"""POST /api/v1/events: one event or a batch of up to 1,000, all or nothing; a client's own
event id makes a retry record nothing and answer the same id."""

from __future__ import annotations

from sqlalchemy import func, select

from nurture.apitokens import services
from nurture.events.models import Event
from nurture.users import services as users
from tests.helpers import PASSWORD, contact, enrollments, publish_text
from web import create_app


def _token(rt, scope: str = "write", role: str = "marketer") -> dict[str, str]:
    with rt.db.transaction() as session:
        user = users.create_user(session, f"{role}-{scope}@example.com", "API", role,
                                 PASSWORD, now=rt.clock.now())
        secret = services.create_token(session, user.id, "CRM", scope,
                                       now=rt.clock.now()).secret
    return {"Authorization": f"Bearer {secret}"}


def _stored(rt) -> int:
    with rt.db.sessions() as session:
        return session.scalar(select(func.count()).select_from(Event))


def _problem(response, status: int) -> dict:
    assert response.status_code == status, response.text
    assert response.mimetype == "application/problem+json"
    assert response.json["detail"].endswith((".", ".)"))
    return response.json


def test_one_event_alone_is_recorded_and_moves_a_journey(rt):
    publish_text(rt, """
        id: t
        name: T
        entry: {event: trial.started}
        steps:
          - {id: hi, send: trial-welcome, class: transactional}
    """)
    ann = contact(rt, "ann@example.com")
    client = create_app(rt).test_client()
    answer = client.post("/api/v1/events", headers=_token(rt),
                         json={"email": "Ann@Example.com", "type": "trial.started"})
    assert answer.status_code == 201, answer.text
    [taken] = answer.json["events"]
    assert taken["duplicate"] is False and taken["client_id"] is None
    assert [e.contact_id for e in enrollments(rt)] == [ann]
    with rt.db.sessions() as session:
        assert session.get(Event, taken["id"]).type == "trial.started"


def test_a_batch_is_recorded_in_order_by_email_or_contact_id(rt):
    ann, bob = contact(rt, "ann@example.com"), contact(rt, "bob@example.com")
    client = create_app(rt).test_client()
    batch = [{"email": "ann@example.com", "type": "email.opened", "id": "crm-1"},
             {"contact_id": bob, "type": "page.visited", "properties": {"path": "/pricing"},
              "occurred_at": "2026-03-02T09:00:00Z"},
             {"email": "bob@example.com", "type": "custom.app_login", "id": "crm-3"}]
    answer = client.post("/api/v1/events", headers=_token(rt), json={"events": batch})
    assert answer.status_code == 201, answer.text
    taken = answer.json["events"]
    assert [t["client_id"] for t in taken] == ["crm-1", None, "crm-3"]
    with rt.db.sessions() as session:
        stored = [session.get(Event, t["id"]) for t in taken]
    assert [(e.contact_id, e.type) for e in stored] == [
        (ann, "email.opened"), (bob, "page.visited"), (bob, "custom.app_login")]
    assert stored[1].occurred_at.hour == 9 and stored[0].client_id == "crm-1"


def test_a_retried_client_id_records_nothing_and_answers_the_same_id(rt):
    contact(rt, "ann@example.com")
    client, token = create_app(rt).test_client(), _token(rt)
    batch = {"events": [{"email": "ann@example.com", "type": "email.clicked", "id": "x-1"},
                        {"email": "ann@example.com", "type": "email.opened", "id": "x-2"}]}
    first = client.post("/api/v1/events", headers=token, json=batch)
    again = client.post("/api/v1/events", headers=token, json=batch)
    assert (first.status_code, again.status_code) == (201, 200)
    assert [t["id"] for t in again.json["events"]] == [t["id"] for t in first.json["events"]]
    assert all(t["duplicate"] for t in again.json["events"]) and _stored(rt) == 2
    # A batch holding one new event and one retried: 201, only the new one recorded.
    mixed = {"events": [batch["events"][0],
                        {"email": "ann@example.com", "type": "email.opened", "id": "x-3"}]}
    third = client.post("/api/v1/events", headers=_token(rt, role="admin"), json=mixed)
    assert third.status_code == 201
    assert [t["duplicate"] for t in third.json["events"]] == [True, False]
    assert _stored(rt) == 3


def test_the_same_client_id_twice_in_a_batch_is_recorded_once(rt):
    contact(rt, "ann@example.com")
    one = {"email": "ann@example.com", "type": "email.opened", "id": "dup"}
    answer = create_app(rt).test_client().post("/api/v1/events", headers=_token(rt),
                                               json={"events": [one, one]})
    assert answer.status_code == 201
    first, second = answer.json["events"]
    assert first["id"] == second["id"] and (first["duplicate"], second["duplicate"]) == (
        False, True)
    assert _stored(rt) == 1


def test_a_client_id_given_to_another_contact_is_refused_not_swallowed(rt):
    contact(rt, "ann@example.com"), contact(rt, "bob@example.com")
    client, token = create_app(rt).test_client(), _token(rt)
    client.post("/api/v1/events", headers=token,
                json={"email": "ann@example.com", "type": "email.opened", "id": "42"})
    body = _problem(client.post("/api/v1/events", headers=token, json={
        "email": "bob@example.com", "type": "email.opened", "id": "42"}), 422)
    assert body["errors"][0]["field"] == "events[0].id" and "unique" in body["errors"][0]["detail"]
    assert _stored(rt) == 1


def test_one_bad_item_refuses_the_whole_batch_and_stores_nothing(rt):
    contact(rt, "ann@example.com")
    client = create_app(rt).test_client()
    good = {"email": "ann@example.com", "type": "email.opened"}
    bad_type = {"events": [good, good, good, {**good, "type": "opened"}, good]}
    body = _problem(client.post("/api/v1/events", headers=_token(rt), json=bad_type), 422)
    assert [e["field"] for e in body["errors"]] == ["events[3].type"]
    unknown = {"events": [good, {**good, "email": "nobody@example.com"},
                          {"type": "email.opened"}, {**good, "extra": 1}]}
    body = _problem(client.post("/api/v1/events", headers=_token(rt, "admin", "admin"),
                                json=unknown), 422)
    assert [e["field"] for e in body["errors"]] == ["events[3].extra"]  # the schema first
    del unknown["events"][3]
    body = _problem(client.post("/api/v1/events", headers=_token(rt, "write", "admin"),
                                json=unknown), 422)
    assert [e["field"] for e in body["errors"]] == ["events[1].email", "events[2].email"]
    assert "nobody@example.com" in body["detail"]
    assert _stored(rt) == 0


def test_a_batch_of_1001_is_refused_with_a_sentence(rt):
    contact(rt, "ann@example.com")
    batch = {"events": [{"email": "ann@example.com", "type": "email.opened"}] * 1001}
    body = _problem(create_app(rt).test_client().post("/api/v1/events", headers=_token(rt),
                                                      json=batch), 422)
    assert body["errors"] == [{"field": "events",
                               "detail": "This has more than 1000 items."}]
    assert _stored(rt) == 0


def test_a_batch_of_1000_is_recorded_even_past_a_megabyte(rt):
    contact(rt, "ann@example.com")
    page = {"path": "/pricing", "title": "Pricing " * 150}
    batch = {"events": [{"email": "ann@example.com", "type": "page.visited", "id": f"p{i}",
                         "properties": page} for i in range(1000)]}
    answer = create_app(rt).test_client().post("/api/v1/events", headers=_token(rt),
                                               json=batch)
    assert answer.status_code == 201 and len(answer.json["events"]) == 1000
    assert _stored(rt) == 1000


def test_a_read_token_cannot_record_events(rt):
    contact(rt, "ann@example.com")
    body = _problem(create_app(rt).test_client().post(
        "/api/v1/events", headers=_token(rt, "read"),
        json={"email": "ann@example.com", "type": "email.opened"}), 403)
    assert "read scope" in body["detail"] and _stored(rt) == 0
