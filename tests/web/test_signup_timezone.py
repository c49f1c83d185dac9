"""Each person at their own hour: the sign-up keeps the browser's time zone (or the
country's main one), a `contact.updated` event changes it, and morning sends follow it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from nurture.contacts.models import Contact
from tests.factories import post_sign_up, publish_trial_journey
from tests.helpers import (
    advance_clock,
    contact,
    event,
    get_contact,
    mail_to,
    publish_text,
    rows,
    run_due,
    web_client,
)
from web import create_app

AUTH = {"Authorization": "Bearer test-api-key"}


def _zone_of(rt, email: str) -> str:
    [person] = [c for c in rows(rt, Contact) if c.email_key == email.lower()]
    return person.timezone


def test_the_landing_form_carries_a_hidden_time_zone_its_script_fills(rt):
    page = web_client(rt).get("/l/trial").text
    assert '<input type="hidden" name="timezone" id="timezone" value="">' in page
    script = web_client(rt).get("/static/landing/landing.js").text
    assert "Intl.DateTimeFormat().resolvedOptions().timeZone" in script


def test_the_browser_zone_is_kept_at_sign_up(rt):
    publish_trial_journey(rt)
    response = post_sign_up(web_client(rt), timezone="Europe/Berlin", country="GB")
    assert response.status_code == 303
    assert _zone_of(rt, "ann@example.com") == "Europe/Berlin"


def test_without_a_usable_browser_zone_the_country_main_zone_is_taken(rt):
    publish_trial_journey(rt)
    post_sign_up(web_client(rt), timezone="Mars/Olympus_Mons", country="DE")
    post_sign_up(web_client(rt), email="bo@example.com", tech_email="tia@example.com",
                 timezone=None, country="US")
    assert _zone_of(rt, "ann@example.com") == "Europe/Berlin"
    assert _zone_of(rt, "bo@example.com") == "America/New_York"


def test_a_contact_updated_event_changes_the_zone_and_a_bad_zone_is_a_422_sentence(rt):
    cid = contact(rt, "ann@example.com", timezone="Europe/Berlin")
    client = create_app(rt).test_client()
    ok = client.post("/api/events", headers=AUTH, json={
        "email": "ann@example.com", "type": "contact.updated",
        "properties": {"timezone": "America/Chicago"}})
    assert ok.status_code == 201, ok.text
    assert get_contact(rt, cid).timezone == "America/Chicago"
    bad = client.post("/api/events", headers=AUTH, json={
        "email": "ann@example.com", "type": "contact.updated",
        "properties": {"timezone": "Berlin"}})
    assert bad.status_code == 422
    assert bad.mimetype == "application/problem+json"
    [error] = bad.json["errors"]
    assert error["field"] == "properties.timezone"
    assert error["detail"] == "Give the time zone as an IANA name, like Europe/Paris."
    assert get_contact(rt, cid).timezone == "America/Chicago"


def test_an_onboarding_email_at_night_waits_for_the_contacts_own_morning(rt):
    publish_text(rt, (rt.settings.journeys_dir / "onboarding.yaml").read_text())
    # 23:00 UTC on a Monday in March: midnight in Berlin (UTC+1), quiet hours everywhere.
    rt.clock.set(datetime(2026, 3, 2, 23, 0, tzinfo=UTC))
    berlin = contact(rt, "anna@example.de", first_name="Anna", timezone="Europe/Berlin",
                     consent_marketing=True)
    london = contact(rt, "lee@example.co.uk", first_name="Lee", timezone="",
                     consent_marketing=True)
    for cid in (berlin, london):
        event(rt, cid, "purchase.completed", amount=1200, currency="EUR")
    # The activation email (how to sign in) goes at once; onboarding waits for morning.
    assert _onboarding(rt, "anna@example.de") == _onboarding(rt, "lee@example.co.uk") == []

    advance_clock(rt, timedelta(hours=8), step=timedelta(minutes=30))  # to 07:00 UTC
    run_due(rt)
    assert len(_onboarding(rt, "anna@example.de")) == 1  # 08:00 in Berlin
    assert _onboarding(rt, "lee@example.co.uk") == []  # on UTC: 07:00 is still night
    advance_clock(rt, timedelta(hours=1), step=timedelta(minutes=30))
    assert len(_onboarding(rt, "lee@example.co.uk")) == 1


def _onboarding(rt, address: str) -> list:
    return [m for m in mail_to(rt, address) if "subscription is active" not in m["Subject"]]
