"""`/api/v1/bounces` and `/api/v1/inbound` do what their deprecated forms do, without the
deprecation headers: a provider's bounce suppresses the address, a forwarded complaint
withdraws consent."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from nurture.config import InboundSettings
from nurture.consent.models import Suppression
from tests.helpers import ApiClient, contact, get_contact, problem_of, running
from tests.nurture.inbound.mail import DSN


@pytest.fixture
def rt(settings, clock):
    with running(settings.with_(inbound=InboundSettings(webhook=True)), clock) as runtime:
        yield runtime


def _suppressed(rt) -> dict[str, str]:
    with rt.db.sessions() as session:
        return dict(session.execute(select(Suppression.email_key, Suppression.reason)).all())


def test_bounces_suppress_and_a_complaint_withdraws_consent(rt):
    dan = contact(rt, "dan@example.com", consent_marketing=True)
    api = ApiClient(rt, role="marketer", scope="write")
    problem_of(api.post("/api/v1/bounces", json={"type": "bounce"}), 422)
    made = api.post("/api/v1/bounces", json={"events": [
        {"type": "bounce", "email": "ann@example.com", "status": "5.1.1"},
        {"type": "complaint", "email": "DAN@example.com"}]})
    assert made.status_code == 202 and made.json["recorded"] == 2
    assert "Deprecation" not in made.headers
    assert _suppressed(rt) == {"ann@example.com": "bounced", "dan@example.com": "complained"}
    assert get_contact(rt, dan).consent_marketing is False


def test_a_forwarded_bounce_goes_through_the_intake_and_bad_bodies_are_refused(rt):
    api = ApiClient(rt, role="marketer", scope="write")
    answer = api.post("/api/v1/inbound", data=(DSN / "postfix_hard_bounce.eml").read_bytes(),
                      content_type="message/rfc822")
    assert answer.status_code == 200 and answer.json["handled"] == "bounce"
    assert _suppressed(rt) == {"nobody@example.com": "bounced"}
    problem_of(api.post("/api/v1/inbound", data=b"x", content_type="text/plain"), 415)
    problem_of(api.post("/api/v1/inbound", data=b"  ", content_type="message/rfc822"), 400)
    reader = ApiClient(rt, role="marketer", scope="read", email="reader@example.com")
    problem_of(reader.post("/api/v1/bounces", json={"type": "bounce", "email": "a@b.co"}), 403)
