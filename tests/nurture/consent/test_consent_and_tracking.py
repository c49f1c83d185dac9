"""Consent at send time, one-click unsubscribe, double opt-in, suppression, and tracking:
what a subscriber and a marketer would see, through the real worker and web app."""

from __future__ import annotations

import re

from sqlalchemy import select

from nurture.consent.models import ConsentRecord, Suppression
from nurture.consent.services import request_opt_in
from nurture.events.models import Event
from tests import helpers
from tests.helpers import (
    advance_clock,
    contact,
    event,
    get_contact,
    html_of,
    outbox,
    publish_text,
    run_due,
    sends,
)
from web import create_app

MARKETING = """
    id: news
    name: News
    entry: {event: custom.joined}
    steps:
      - {id: tips, send: prospect-case-study}
      - {id: pause, wait: 2d}
      - {id: more, send: quarterly-needs-assessment}
      - {id: hello, send: trial-welcome, class: transactional}
"""


def _events(rt, type_: str) -> list[Event]:
    with rt.db.sessions() as session:
        return list(session.scalars(select(Event).where(Event.type == type_)))


def _start(rt, consent: bool = True) -> int:
    publish_text(rt, MARKETING)
    cid = contact(rt, "ann@example.com", first_name="Ann", consent_marketing=consent)
    event(rt, cid, "custom.joined")
    return cid


def test_marketing_email_needs_consent_and_carries_unsubscribe_headers(rt):
    blocked = contact(rt, "bob@example.com")  # no consent
    cid = _start(rt)
    event(rt, blocked, "custom.joined")
    run_due(rt)
    by_contact = {s.contact_id: s for s in sends(rt) if s.step_id == "tips"}
    assert by_contact[cid].status == "sent", by_contact[cid].reason
    assert (by_contact[blocked].status, by_contact[blocked].reason) == ("skipped", "no_consent")
    [message] = outbox(rt)
    assert message["To"] == "ann@example.com"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    # Nothing reads unsubscribe@ in these settings, so no mailto is promised (see
    # tests/nurture/inbound for the mailto with an inbound path).
    https = message["List-Unsubscribe"].strip(" <>")
    assert https.startswith("http://localhost:5000/u/") and "mailto:" not in https
    assert message["List-Id"] and message["Message-ID"].startswith("<")
    html = html_of(message)
    assert https in html, "the visible unsubscribe link is the same one-click link"
    assert rt.settings.postal_address in html


def test_one_click_unsubscribe_stops_queued_marketing_at_once_but_not_service_email(rt):
    cid = _start(rt)
    [message] = outbox(rt)
    url = message["List-Unsubscribe"].split(",")[0].strip(" <>")
    client = create_app(rt).test_client()
    # RFC 8058: the mail provider posts without cookies or CSRF token.
    response = client.post(url.removeprefix("http://localhost:5000"),
                           data={"List-Unsubscribe": "One-Click"},
                           environ_base={"REMOTE_ADDR": "203.0.113.9"})
    assert response.status_code == 200
    assert get_contact(rt, cid).consent_marketing is False
    from datetime import timedelta

    advance_clock(rt, timedelta(days=3), step=timedelta(hours=6))
    statuses = {s.step_id: (s.status, s.reason) for s in sends(rt, cid)}
    assert statuses["more"] == ("skipped", "suppressed:unsubscribed")
    assert statuses["hello"][0] == "sent", "transactional email still arrives"
    assert [e.contact_id for e in _events(rt, "email.unsubscribed")] == [cid]
    with rt.db.sessions() as session:
        record = session.scalar(select(ConsentRecord).where(ConsentRecord.action == "withdrawn"))
        assert (record.method, record.ip) == ("one-click", "203.0.113.9")


def test_unsubscribe_page_asks_then_confirms_in_one_click(rt):
    _start(rt)
    url = outbox(rt)[0]["List-Unsubscribe"].split(",")[0].strip(" <>")
    path = url.removeprefix("http://localhost:5000")
    client = create_app(rt).test_client()
    page = client.get(path)
    assert page.status_code == 200 and b"Unsubscribe ann@example.com?" in page.data
    token = re.search(rb'name="csrf_token" value="([^"]+)"', page.data).group(1).decode()
    done = client.post(path, data={"csrf_token": token})
    assert done.status_code == 200 and b"You are unsubscribed" in done.data


def test_bad_or_foreign_tokens_get_a_clear_4xx_page(rt):
    _start(rt)
    url = outbox(rt)[0]["List-Unsubscribe"].split(",")[0].strip(" <>")
    token = url.rsplit("/", 1)[-1]
    client = create_app(rt).test_client()
    tampered = client.get(f"/u/{helpers.tampered(token)}")
    assert tampered.status_code == 400 and b"This link is not valid." in tampered.data
    # A subscription token is not a confirmation or tracking token (one salt per purpose).
    assert client.get(f"/confirm/{token}").status_code == 400
    assert client.get(f"/t/{token}/0").status_code == 404
    assert client.get("/u/").status_code == 404


def test_double_opt_in_stores_proof_and_only_then_allows_marketing(rt):
    cid = contact(rt, "cy@example.com", first_name="Cy")
    assert request_opt_in(rt, cid, _proof())
    run_due(rt)
    [message] = outbox(rt)
    assert "confirm" in message["Subject"].lower()
    assert message["X-Nurture-Category"] == "transactional"
    link = re.search(r'href="(http://localhost:5000/confirm/[^"]+)"', html_of(message)).group(1)
    client = create_app(rt).test_client()
    path = link.removeprefix("http://localhost:5000")
    page = client.get(path)
    assert get_contact(rt, cid).consent_marketing is False, "a GET (mail scanner) confirms nothing"
    token = re.search(rb'name="csrf_token" value="([^"]+)"', page.data).group(1).decode()
    assert client.post(path).status_code == 400, "the form is CSRF-protected"
    done = client.post(path, data={"csrf_token": token}, headers={"User-Agent": "Firefox"},
                       environ_base={"REMOTE_ADDR": "198.51.100.4"})
    assert done.status_code == 200 and b"you are subscribed" in done.data
    person = get_contact(rt, cid)
    assert person.consent_marketing and person.consent_at == rt.clock.now()
    with rt.db.sessions() as session:
        proofs = [(r.action, r.method, r.ip, r.user_agent) for r in session.scalars(
            select(ConsentRecord).where(ConsentRecord.contact_id == cid)
            .order_by(ConsentRecord.id))]
    assert proofs == [("requested", "signup-form", "192.0.2.1", "pytest"),
                      ("confirmed", "double-opt-in", "198.51.100.4", "Firefox")]
    assert [e.contact_id for e in _events(rt, "consent.given")] == [cid]


def _proof():
    from nurture.consent.records import Proof

    return Proof(method="signup-form", page="/l/trial", ip="192.0.2.1", user_agent="pytest")


def test_preference_center_unsubscribes_and_resubscribes(rt):
    cid = _start(rt)
    html = html_of(outbox(rt)[0])
    link = re.search(r'href="(http://localhost:5000/p/[^"]+)"', html).group(1)
    path = link.removeprefix("http://localhost:5000")
    client = create_app(rt).test_client()
    page = client.get(path)
    token = re.search(rb'name="csrf_token" value="([^"]+)"', page.data).group(1).decode()
    bad = client.post(path, data={"csrf_token": token, "marketing": "maybe"})
    assert bad.status_code == 400 and b"Please choose" in bad.data
    assert get_contact(rt, cid).consent_marketing is True, "bad input changes nothing"
    client.post(path, data={"csrf_token": token, "marketing": "no"})
    assert get_contact(rt, cid).consent_marketing is False
    none = client.post(path, data={"csrf_token": token, "marketing": "yes"})
    assert none.status_code == 400 and b"at least one topic" in none.data
    saved = client.post(path, data={"csrf_token": token, "marketing": "yes",
                                    "topics": ["guides", "events"], "frequency": "monthly"})
    assert b"Your preferences are saved." in saved.data
    person = get_contact(rt, cid)
    assert person.consent_marketing is True
    assert (person.email_topics, person.email_frequency) == (["events", "guides"], "monthly")
    with rt.db.sessions() as session:
        assert session.scalar(select(Suppression)) is None, "resubscribing lifts the unsubscribe"


def test_topics_and_frequency_chosen_in_the_preference_center_apply_at_send_time(rt):
    from datetime import timedelta

    publish_text(rt, MARKETING.replace("name: News", "name: News\n    topic: product"))
    other_topics = contact(rt, "gus@example.com", consent_marketing=True)
    weekly = contact(rt, "wen@example.com", consent_marketing=True)
    with rt.db.transaction() as session:
        from nurture.contacts.models import Contact

        session.get(Contact, other_topics).email_topics = ["guides"]
        session.get(Contact, weekly).email_frequency = "weekly"
    for cid in (other_topics, weekly):
        event(rt, cid, "custom.joined")
    advance_clock(rt, timedelta(days=3), step=timedelta(hours=6))
    status = {(s.contact_id, s.step_id): (s.status, s.reason) for s in sends(rt)}
    assert status[other_topics, "tips"] == ("skipped", "preference:topic")
    assert status[weekly, "tips"] == ("sent", None)
    assert status[weekly, "more"] == ("skipped", "preference:frequency")
    assert status[other_topics, "hello"][0] == status[weekly, "hello"][0] == "sent"


def test_clicks_redirect_only_to_recorded_links_and_opens_flag_proxies(rt):
    cid = _start(rt)
    html = html_of(outbox(rt)[0])
    clicks = re.findall(r'href="http://localhost:5000(/t/[^"]+)"', html)
    pixel = re.search(r'src="http://localhost:5000(/o/[^"]+)"', html).group(1)
    assert clicks, "links are tracked"
    [send] = [s for s in sends(rt, cid) if s.step_id == "tips"]
    client = create_app(rt).test_client()
    rt.clock.advance(__import__("datetime").timedelta(minutes=5))
    hit = client.get(clicks[0] + "?url=https://evil.example/", headers={"User-Agent": "Firefox"})
    assert hit.status_code == 302 and hit.headers["Location"] == send.links[0] + (
        "?utm_source=nurture&utm_medium=email&utm_campaign=news"
        "&utm_content=prospect-case-study")
    token, _index = clicks[0].split("/")[2:4]
    assert client.get(f"/t/{token}/{len(send.links)}").status_code == 404
    assert client.get(f"/t/{helpers.tampered(token)}/0").status_code == 404
    assert client.get(pixel, headers={"User-Agent": "Firefox"}).mimetype == "image/gif"
    client.get(pixel, headers={"User-Agent": "Mozilla/5.0 (via ggpht.com GoogleImageProxy)"})
    opened = [e.properties for e in _events(rt, "email.opened")]
    assert [o["machine"] for o in opened] == [False, True]
    [clicked] = _events(rt, "email.clicked")
    assert clicked.properties["url"] == send.links[0] and clicked.contact_id == cid


def test_bounce_webhook_suppresses_and_complaint_withdraws_consent(rt):
    cid = _start(rt)
    dan = contact(rt, "dan@example.com", consent_marketing=True)
    client = create_app(rt).test_client()
    auth = {"Authorization": "Bearer test-api-key"}
    bad = client.post("/api/bounces", headers=auth, json={"type": "bounce"})
    assert bad.status_code == 422 and "email" in bad.get_json()["detail"]
    ok = client.post("/api/bounces", headers=auth, json={"events": [
        {"type": "bounce", "email": "ann@example.com", "status": "5.1.1",
         "diagnostic": "550 5.1.1 user unknown"},
        {"type": "complaint", "email": "DAN@example.com"}]})
    assert ok.status_code == 202
    with rt.db.sessions() as session:
        reasons = dict(session.execute(select(Suppression.email_key, Suppression.reason)).all())
    assert reasons == {"ann@example.com": "bounced", "dan@example.com": "complained"}
    assert get_contact(rt, dan).consent_marketing is False
    from datetime import timedelta

    advance_clock(rt, timedelta(days=3), step=timedelta(hours=6))
    statuses = {s.step_id: (s.status, s.reason) for s in sends(rt, cid)}
    assert statuses["hello"] == ("skipped", "suppressed:bounced"), "no email to a dead address"
    assert [e.contact_id for e in _events(rt, "email.bounced")] == [cid]
