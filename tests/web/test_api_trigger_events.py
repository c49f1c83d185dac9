"""POST /api/events for the customer trigger events and touches: each documented in the
catalogue, and a payload without what the catalogue requires is a 422 naming the field."""

from __future__ import annotations

from click.testing import CliRunner

from nurture.app.cli import main
from nurture.events.models import Event
from tests.helpers import contact, count
from web import create_app

AUTH = {"Authorization": "Bearer test-api-key"}
TRIGGERS = {
    "usage.dropped": {"metric": "logins", "drop_percent": 45, "period_days": 14},
    "usage.grew": {"metric": "storage", "growth_percent": 60},
    "usage.seats": {"seats": 17, "limit": 20},
    "support.ticket_opened": {"ticket_id": "T-100", "subject": "Cannot sync"},
    "support.ticket_closed": {"ticket_id": "T-100", "resolution": "fixed"},
    "touch.recorded": {"kind": "billing", "note": "Invoice question"},
    "account.deprovisioned": {"reason": "moved to another provider"},
}


def test_every_trigger_event_is_in_the_catalogue_with_its_properties():
    shown = CliRunner().invoke(main, ["events", "types"],
                               env={"SECRET_KEY": "x", "NURTURE_VAR_DIR": "/tmp"}).output
    for name, properties in TRIGGERS.items():
        line = next(line for line in shown.splitlines() if line.startswith(name + " "))
        assert all(key in line for key in properties if key not in ("subject", "note")), line


def test_good_trigger_events_are_recorded(rt):
    contact(rt, "ann@example.com")
    client = create_app(rt).test_client()
    for type_, properties in TRIGGERS.items():
        response = client.post("/api/events", headers=AUTH, json={
            "email": "ann@example.com", "type": type_, "properties": properties})
        assert response.status_code == 201, (type_, response.text)
    assert count(rt, Event) == len(TRIGGERS)


def test_a_trigger_event_without_its_required_properties_is_a_422_naming_the_field(rt):
    contact(rt, "ann@example.com")
    client = create_app(rt).test_client()
    cases = [("usage.seats", {"seats": 17}, "properties.limit"),
             ("usage.seats", {"seats": "17", "limit": 20}, "properties.seats"),
             ("usage.dropped", {"metric": "logins", "drop_percent": 140},
              "properties.drop_percent"),
             ("support.ticket_closed", {}, "properties.ticket_id"),
             ("touch.recorded", {"kind": "lunch"}, "properties.kind")]
    for type_, properties, field in cases:
        response = client.post("/api/events", headers=AUTH, json={
            "email": "ann@example.com", "type": type_, "properties": properties})
        assert response.status_code == 422, response.text
        assert [e["field"] for e in response.json["errors"]] == [field]
        assert response.json["detail"].endswith(".")
    assert count(rt, Event) == 0
