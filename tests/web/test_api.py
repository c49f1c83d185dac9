"""POST /api/events: good events move journeys; bad input gets a 4xx sentence, stores nothing."""

from __future__ import annotations

from sqlalchemy import func, select

from nurture.events.models import Event
from tests.helpers import contact, enrollments, publish_text, run_due
from web import create_app

AUTH = {"Authorization": "Bearer test-api-key"}


def _events(rt) -> int:
    with rt.db.sessions() as session:
        return session.scalar(select(func.count()).select_from(Event))


def test_recorded_event_enters_the_journey(rt):
    publish_text(rt, """
        id: t
        name: T
        entry: {event: trial.started}
        steps:
          - {id: hi, send: trial-welcome, transactional: true}
    """)
    contact(rt, "Ann@Example.com")
    client = create_app(rt).test_client()
    response = client.post("/api/events", headers=AUTH,
                           json={"email": "ann@example.com", "type": "trial.started",
                                 "properties": {"seats": 4}})
    assert response.status_code == 201
    run_due(rt)
    assert enrollments(rt)[0].exit_reason == "completed"


def test_bad_input_is_refused_with_a_sentence_and_nothing_is_stored(rt):
    contact(rt, "ann@example.com")
    client = create_app(rt).test_client()
    cases = [
        ({}, {"email": "ann@example.com", "type": "trial.started"}, 401),
        (AUTH, None, 400),
        (AUTH, {"email": "ann@example.com"}, 400),
        (AUTH, {"email": "ann@example.com", "type": "trial.startd"}, 422),
        (AUTH, {"email": "nobody@example.com", "type": "trial.started"}, 422),
        (AUTH, {"email": "ann@example.com", "type": "trial.started", "properties": [1]}, 400),
    ]
    for headers, body, status in cases:
        if body is None:
            response = client.post("/api/events", headers=headers, data="not json",
                                   content_type="application/json")
        else:
            response = client.post("/api/events", headers=headers, json=body)
        assert response.status_code == status, (body, response.json)
        assert response.json["error"].endswith(".")
    assert _events(rt) == 0
