"""A service's refusal is answered once (`web/errors.py`): under /api/ as a problem document
with the error's status and sentence, elsewhere as the styled page of the view's area with
the sentence and a way back. Each member of the family, through real routes."""

from __future__ import annotations

import re
from datetime import timedelta

from nurture.contacts.models import Contact
from nurture.errors import Forbidden
from nurture.trials.models import Trial
from scoring.errors import ScoringPaused
from tests.helpers import contact, signed_in, tampered
from web import create_app

AUTH = {"Authorization": "Bearer test-api-key"}
INVALID = "urn:nurture:problem:invalid-request"
BUSY = "urn:nurture:problem:busy"


def _problem(response, status: int) -> dict:
    assert response.status_code == status, response.text
    assert response.mimetype == "application/problem+json"
    return response.json


def _trial(rt, status: str = "active") -> int:
    cid = contact(rt, "ann@example.com")
    now = rt.clock.now()
    with rt.db.transaction() as session:
        row = Trial(contact_id=cid, company="Acme", services=["crm"], seats=1, status=status,
                    started_at=now - timedelta(days=30), ends_at=now + timedelta(days=1))
        session.add(row)
        session.flush()
        return row.id


def _csrf(client, path: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).text).group(1)


# Under /api/: a problem document ------------------------------------------------------------

def test_a_missing_thing_is_a_404_problem_with_its_sentence(rt):
    client = create_app(rt).test_client()
    body = _problem(client.post("/api/trials/424242/usage", headers=AUTH,
                                json={"type": "service_used", "service": "crm"}), 404)
    assert body == {"type": "about:blank", "title": "Not Found", "status": 404,
                    "detail": "There is no trial with id 424242.", "errors": []}


def test_a_refused_input_is_a_422_problem_naming_each_field_or_the_body(rt):
    contact(rt, "ann@example.com")
    client = create_app(rt).test_client()
    unknown = _problem(client.post("/api/events", headers=AUTH, json={
        "email": "bob@example.com", "type": "custom.x"}), 422)
    sentence = "There is no contact with the email address bob@example.com."
    assert unknown == {"type": INVALID, "title": "The request is not valid", "status": 422,
                       "detail": sentence, "errors": [{"field": "(body)", "detail": sentence}]}
    fields = _problem(client.post("/api/events", headers=AUTH, json={
        "email": "ann@example.com", "type": "contact.updated",
        "properties": {"company_size": "abc"}}), 422)
    assert fields["type"] == INVALID
    assert [e["field"] for e in fields["errors"]] == ["properties.company_size"]


def test_a_state_that_forbids_it_is_a_409_problem(rt):
    trial_id = _trial(rt, status="converted")
    client = create_app(rt).test_client()
    body = _problem(client.post(f"/api/trials/{trial_id}/usage", headers=AUTH,
                                json={"type": "service_used", "service": "crm"}), 409)
    assert (body["type"], body["title"]) == ("about:blank", "Conflict")
    assert body["detail"].endswith(".") and body["errors"] == []


def test_a_forbidden_or_busy_refusal_keeps_its_status_and_sentence(rt, monkeypatch):
    contact(rt, "ann@example.com")
    client = create_app(rt).test_client()
    event = {"email": "ann@example.com", "type": "custom.x"}

    def refuse(error):
        def record(*_args, **_kwargs):
            raise error
        monkeypatch.setattr("web.api.record_for_email", record)

    refuse(Forbidden("This API key may not record events."))
    forbidden = _problem(client.post("/api/events", headers=AUTH, json=event), 403)
    assert (forbidden["title"], forbidden["detail"]) == (
        "Forbidden", "This API key may not record events.")
    refuse(ScoringPaused("The scoring rules file is not valid; run `nurture scoring "
                         "validate` to see why."))
    busy = client.post("/api/events", headers=AUTH, json=event)
    body = _problem(busy, 503)
    assert (body["type"], body["title"]) == (BUSY, "Please try again")
    assert body["detail"].startswith("The scoring rules file is not valid")
    assert busy.headers["Retry-After"] == "5"


# Pages: the area's styled page, with the sentence -----------------------------------------

def test_a_page_refusal_is_the_areas_styled_page_with_a_way_back(rt):
    admin = signed_in(rt, "admin")
    missing = admin.post("/users/424242/sign-out",
                         data={"csrf_token": _csrf(admin, "/users")})
    assert missing.status_code == 404
    assert missing.mimetype == "text/html"
    assert "There is no such user." in missing.text
    assert 'href="/users"' in missing.text


def test_a_page_refusal_uses_the_title_the_view_gives_it(rt):
    marketer = signed_in(rt, "marketer")
    token = _csrf(marketer, "/referrals/rewards")
    missing = marketer.post("/referrals/rewards/424242", data={"csrf_token": token,
                                                               "to": "approved"})
    assert missing.status_code == 404
    assert "The reward was not changed" in missing.text
    assert "There is no reward with id 424242." in missing.text
    assert "Back to referrals" in missing.text


def test_a_bad_trial_link_is_the_trial_page_with_a_400(rt):
    cid = contact(rt, "ann@example.com")
    page = create_app(rt).test_client().get(
        f"/trial/{tampered(rt.tokens.sign('trial', [cid, 'key']))}/convert")
    assert page.status_code == 400 and page.mimetype == "text/html"
    assert "We could not open this link" in page.text
    assert "This link is not valid." in page.text


def test_a_link_without_a_trial_is_the_trial_page_with_a_404(rt):
    cid = contact(rt, "ann@example.com")
    with rt.db.sessions() as session:
        key = session.get(Contact, cid).email_key
    page = create_app(rt).test_client().get(
        f"/trial/{rt.tokens.sign('trial', [cid, key])}/convert")
    assert page.status_code == 404 and page.mimetype == "text/html"
    assert "We could not open this link" in page.text
    assert "We could not find a trial for this link." in page.text


def test_a_busy_page_says_to_try_again_and_when(rt, monkeypatch):
    marketer = signed_in(rt, "marketer")
    token = _csrf(marketer, "/referrals/rewards")

    def paused(*_args, **_kwargs):
        raise ScoringPaused("The scoring rules file is not valid; run `nurture scoring "
                            "validate` to see why.")

    monkeypatch.setattr("referral.services.move_reward", paused)
    busy = marketer.post("/referrals/rewards/1", data={"csrf_token": token, "to": "paid"})
    assert busy.status_code == 503 and busy.headers["Retry-After"] == "5"
    assert "The scoring rules file is not valid" in busy.text
