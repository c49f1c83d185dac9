"""NPS from the email to the report: a click records the score at once, the reason page
keeps or changes it, answers move the shipped journeys (detractor → follow-up, owner alert
and recovery; promoter → referral ask), the survey throttle, and the reports."""

from __future__ import annotations

import email
import email.policy
import json
import re
import time
from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner
from itsdangerous import TimestampSigner
from sqlalchemy import select

from journeys.loader import load_file
from journeys.services import backfill, publish
from nurture.app.cli import main
from nurture.config import PROJECT_ROOT, Settings
from nurture.contacts.models import Contact
from nurture.events.models import Event
from nurture.nps.models import NPSResponse
from nurture.nps.services import NPSConfig, recently_surveyed, surveyed_recently
from nurture.sending.models import Send
from tests.helpers import (
    advance_clock,
    contact,
    enrollments,
    get_contact,
    outbox,
    run_due,
    sends,
    tampered,
)
from web import create_app

HUMAN = {"User-Agent": "Mozilla/5.0 (Macintosh; Intel Mac OS X 14.4) Firefox/124.0"}
AUTH = {"Authorization": "Bearer test-api-key"}
BASE = "http://localhost:5000"
LIBRARY = PROJECT_ROOT / "journeys" / "library"


def _to(rt, address: str) -> list[email.message.EmailMessage]:
    return [m for m in outbox(rt) if m["To"] == address]


def _events(rt, type_: str = "nps.answered") -> list[Event]:
    with rt.db.sessions() as session:
        return list(session.scalars(select(Event).where(Event.type == type_)
                                    .order_by(Event.id)))


def _answers(rt) -> list[NPSResponse]:
    with rt.db.sessions() as session:
        return list(session.scalars(select(NPSResponse)))


def _csrf(page: bytes) -> str:
    return re.search(rb'name="csrf_token" value="([^"]+)"', page).group(1).decode()


def _journeys(rt, cid: int) -> dict[str, tuple[str, str | None]]:
    return {e.journey_id: (e.status, e.exit_reason) for e in enrollments(rt, cid)}


@pytest.fixture
def survey(rt):
    """The shipped NPS and recovery journeys, and a customer who just got the survey email.
    Returns (contact id, the eleven answer paths in score order, a test client)."""
    cid = contact(rt, "ann@example.com", first_name="Ann", last_name="Lee",
                  company="Harbour Outdoor", industry="retail", stage="adopt",
                  consent_marketing=True, attributes={"account_owner": "olga@partner.example"})
    for name in ("nps-survey", "customer-recovery"):
        loaded = load_file(LIBRARY / f"{name}.yaml")
        assert not loaded.violations, loaded.violations
        with rt.db.transaction() as session:
            publish(session, loaded)
            backfill(session, rt.versions, loaded.journey.id, rt.clock.now())
    run_due(rt)
    [message] = _to(rt, "ann@example.com")
    html = message.get_body(("html",)).get_content()
    links = re.findall(r'href="(http://localhost:5000/nps/[^"]+)"', html)
    assert len(links) == 11, "one link per score, 0 to 10"
    rt.clock.advance(timedelta(minutes=5))  # a reader, not a scanner at delivery time
    return cid, [link.removeprefix(BASE) for link in links], create_app(rt).test_client()


def test_a_click_records_the_score_at_once_and_the_event_once(rt, survey):
    cid, links, client = survey
    [sent] = [s for s in sends(rt, cid) if s.template == "nps-survey"]
    for _ in range(2):  # a reload or a second click on the same score changes nothing
        page = client.get(links[3], headers=HUMAN)
        assert page.status_code == 200
    [answer] = _answers(rt)
    assert (answer.contact_id, answer.survey, answer.score, answer.category) == (
        cid, str(sent.id), 3, "detractor")
    assert (answer.vertical, answer.stage, answer.reason) == ("retail", "adopt", "")
    [event] = _events(rt)
    assert event.properties == {"score": 3, "category": "detractor", "survey": str(sent.id),
                                "reason": ""}
    assert get_contact(rt, cid).attributes["nps"]["score"] == 3


def test_the_reason_page_asks_why_with_the_clicked_score_selected(rt, survey):
    _cid, links, client = survey
    page = client.get(links[7], headers=HUMAN).get_data(as_text=True)
    assert "What is the main reason for your score?" in page
    assert "We recorded 7 out of 10." in page
    assert re.findall(r'value="(\d+)" checked', page) == ["7"]
    assert len(re.findall(r'type="radio" name="score"', page)) == 11
    assert '<textarea id="reason" name="reason"' in page


def test_sending_the_reason_keeps_the_score_and_shows_it_as_text(rt, survey):
    _cid, links, client = survey
    page = client.get(links[8], headers=HUMAN)
    reason = "<script>alert('x')</script> Setup took too long"
    done = client.post(links[8], data={"csrf_token": _csrf(page.data), "score": "8",
                                       "reason": reason})
    assert done.status_code == 200
    text = done.get_data(as_text=True)
    assert "Your score: 8 out of 10." in text
    assert "<script>alert" not in text
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; Setup took too long" in text
    [answer] = _answers(rt)
    assert (answer.score, answer.reason) == (8, reason)
    assert len(_events(rt)) == 1, "the same category raises no second event"


def test_changing_the_category_records_a_new_event_cancels_the_alert_and_ends_recovery(
        rt, survey):
    cid, links, client = survey
    page = client.get(links[3], headers=HUMAN)
    run_due(rt)
    assert _journeys(rt, cid)["customer-recovery"] == ("active", None)
    client.post(links[3], data={"csrf_token": _csrf(page.data), "score": "9",
                                "reason": "Clicked the wrong number"})
    run_due(rt)
    first, second = _events(rt)
    assert (first.properties["category"], second.properties["category"]) == (
        "detractor", "promoter")
    assert second.properties["previous_category"] == "detractor"
    assert second.properties["reason"] == "Clicked the wrong number"
    [answer] = _answers(rt)
    assert (answer.score, answer.category) == (9, "promoter")
    [alert] = [s for s in sends(rt, cid) if s.template == "nps-detractor-alert"]
    assert (alert.status, alert.reason) == ("skipped", "nps:no_longer_detractor")
    assert _journeys(rt, cid)["customer-recovery"] == ("exited", "goal:nps.answered")
    # The survey journey had already branched on the first answer; that is not undone.
    assert "nps-detractor-followup" in [s.template for s in sends(rt, cid)]


def test_a_later_click_on_another_score_changes_the_answer(rt, survey):
    _cid, links, client = survey
    client.get(links[6], headers=HUMAN)
    client.get(links[10], headers=HUMAN)
    [answer] = _answers(rt)
    assert (answer.score, answer.category) == (10, "promoter")
    assert [e.properties["category"] for e in _events(rt)] == ["detractor", "promoter"]


def test_scanner_hits_are_not_answers_until_a_person_sends_the_page(rt, survey):
    _cid, links, client = survey
    scanner = {"User-Agent": "Mozilla/5.0 (compatible; Barracuda Sentinel)"}
    pages = [client.get(link, headers=scanner) for link in links]
    assert all(p.status_code == 200 for p in pages)
    assert _answers(rt) == [] and _events(rt) == []
    assert b"Please check your score and send it to us." in pages[4].data
    client.post(links[4], data={"csrf_token": _csrf(pages[4].data), "score": "4"})
    [answer] = _answers(rt)
    assert answer.score == 4 and len(_events(rt)) == 1


def test_a_click_within_seconds_of_delivery_is_taken_for_a_scanner(rt):
    cid = contact(rt, "bo@example.com", stage="adopt", consent_marketing=True)
    with rt.db.transaction() as session:
        session.add(Send(send_key="t:1", contact_id=cid, to_email="bo@example.com",
                         template="nps-survey", status="sent", sent_at=rt.clock.now()))
    with rt.db.sessions() as session:
        send_id = session.scalar(select(Send.id))
    token = rt.tokens.sign("nps", [cid, send_id, 0])
    client = create_app(rt).test_client()
    assert client.get(f"/nps/{token}", headers=HUMAN).status_code == 200
    assert _answers(rt) == []
    rt.clock.advance(timedelta(seconds=30))
    client.get(f"/nps/{token}", headers=HUMAN)
    assert [a.score for a in _answers(rt)] == [0]


def test_the_form_needs_its_csrf_token_and_a_score(rt, survey):
    _cid, links, client = survey
    page = client.get(links[5], headers=HUMAN)
    refused = client.post(links[5], data={"score": "9", "reason": "forged"})
    assert refused.status_code == 400
    assert [(a.score, a.reason) for a in _answers(rt)] == [(5, "")]
    bad = client.post(links[5], data={"csrf_token": _csrf(page.data), "score": "11"})
    assert bad.status_code == 400 and b"Please choose a score from 0 to 10." in bad.data
    long = client.post(links[5], data={"csrf_token": _csrf(page.data), "score": "5",
                                       "reason": "x" * 2001})
    assert long.status_code == 400 and b"under 2,000 characters" in long.data
    assert [(a.score, a.reason) for a in _answers(rt)] == [(5, "")]


def test_bad_expired_or_foreign_tokens_get_a_clear_400_page(rt, monkeypatch):
    cid = contact(rt, "cy@example.com")
    client = create_app(rt).test_client()
    good = rt.tokens.sign("nps", [cid, 7, 9])
    with monkeypatch.context() as m:
        m.setattr(TimestampSigner, "get_timestamp", lambda self: int(time.time()) - 91 * 86400)
        expired = rt.tokens.sign("nps", [cid, 7, 9])
    cases = {
        f"/nps/{tampered(good)}": b"This link is not valid.",
        f"/nps/{expired}": b"This link has expired.",
        f"/nps/{rt.tokens.sign('subscription', [cid, 'cy@example.com', 7])}":
            b"This link is not valid.",
        f"/nps/{rt.tokens.sign('nps', [cid, 7, 11])}": b"This link is not valid.",
        f"/nps/{rt.tokens.sign('nps', 'hello')}": b"This link is not valid.",
    }
    for path, message in cases.items():
        response = client.get(path, headers=HUMAN)
        assert response.status_code == 400, path
        assert message in response.data, path
    assert client.post(f"/nps/{tampered(good)}", data={"score": "1"}).status_code == 400
    assert client.get(f"/nps/{rt.tokens.sign('nps', [cid + 99, 7, 9])}",
                      headers=HUMAN).status_code == 404
    assert _answers(rt) == []


def test_a_detractor_gets_the_follow_up_the_owner_an_alert_and_recovery_starts(rt, survey):
    cid, links, client = survey
    page = client.get(links[3], headers=HUMAN)
    run_due(rt)
    templates = [s.template for s in sends(rt, cid) if s.status == "sent"]
    assert templates == ["nps-survey", "nps-detractor-followup"]
    assert _journeys(rt, cid) == {"nps-survey": ("exited", "answered"),
                                  "customer-recovery": ("active", None)}
    assert [e.properties["reason"] for e in _events(rt, "sales.handoff")] == [
        "Detractor: follow up on the root cause"]
    # The owner's alert waits a few minutes for the reason; sending the page sends it.
    [alert] = [s for s in sends(rt, cid) if s.template == "nps-detractor-alert"]
    assert (alert.status, alert.to_email, alert.message_class) == (
        "queued", "olga@partner.example", "transactional")
    client.post(links[3], data={"csrf_token": _csrf(page.data), "score": "3",
                                "reason": "Support takes a week to answer"})
    run_due(rt)
    [message] = _to(rt, "olga@partner.example")
    assert message["Subject"] == "NPS detractor: Ann Lee at Harbour Outdoor"
    assert message["X-Nurture-Category"] == "transactional"
    body = message.get_body(("plain",)).get_content()
    assert "gave a score of 3 out of 10" in body
    assert "Support takes a week to answer" in body
    # Three days later the recovery journey writes to the customer and asks for a plan.
    advance_clock(rt, timedelta(days=3, hours=1), step=timedelta(hours=6))
    assert "customer-recovery" in [s.template for s in sends(rt, cid) if s.status == "sent"]
    assert "Detractor recovery: agree a written plan" in \
        _events(rt, "sales.handoff")[-1].properties["reason"]


def test_without_a_reason_the_alert_goes_after_a_delay_to_customer_success(rt, survey):
    cid, links, client = survey
    with rt.db.transaction() as session:
        session.get(Contact, cid).attributes = {}  # no account owner
    client.get(links[0], headers=HUMAN)
    run_due(rt)
    assert _to(rt, "customer-success@nurture.localhost") == []
    advance_clock(rt, timedelta(minutes=15), step=timedelta(minutes=5))
    [message] = _to(rt, "customer-success@nurture.localhost")
    body = message.get_body(("plain",)).get_content()
    assert "gave a score of 0 out of 10" in body
    assert "They did not give a reason" in body


def test_a_promoter_is_asked_to_refer_and_no_one_is_alerted(rt, survey):
    cid, links, client = survey
    client.get(links[10], headers=HUMAN)
    run_due(rt)
    templates = [s.template for s in sends(rt, cid)]
    assert templates == ["nps-survey", "referral-ask"]
    assert "customer-recovery" not in _journeys(rt, cid)


def test_contacts_surveyed_or_answering_recently_are_throttled(rt):
    now = rt.clock.now()
    ids = {name: contact(rt, f"{name}@example.com") for name in
           ("recent", "old", "answered", "never", "skipped")}
    with rt.db.transaction() as session:
        for name, days, status in (("recent", 30, "sent"), ("old", 100, "sent"),
                                   ("skipped", 5, "skipped")):
            session.add(Send(send_key=f"t:{name}", contact_id=ids[name],
                             to_email=f"{name}@example.com", template="nps-survey",
                             status=status, sent_at=now - timedelta(days=days)))
        session.add(NPSResponse(contact_id=ids["answered"], survey="x", score=9,
                                category="promoter", answered_at=now - timedelta(days=10)))
    with rt.db.sessions() as session:
        assert recently_surveyed(session, ids.values(), now) == {ids["recent"],
                                                                 ids["answered"]}
        assert recently_surveyed(session, ids.values(), now, days=7) == set()
        assert recently_surveyed(session, ids.values(), now, days=0) == set()
        assert recently_surveyed(session, [], now) == set()


def test_surveyed_recently_is_strictly_inside_the_period():
    now = datetime(2026, 6, 1, tzinfo=UTC)
    assert surveyed_recently(now - timedelta(days=89, hours=23), now, 90)
    assert not surveyed_recently(now - timedelta(days=90), now, 90)
    assert not surveyed_recently(None, now, 90)
    assert not surveyed_recently(now, now, 0)


def test_nps_settings_come_from_the_environment_with_defaults(settings):
    default = NPSConfig.from_settings(settings)
    assert (default.throttle_days, default.alert_delay, default.cs_email) == (
        90, timedelta(minutes=10), "customer-success@nurture.localhost")
    custom = NPSConfig.from_settings(settings.with_(nps=Settings.from_env({
        "NURTURE_VAR_DIR": str(settings.var_dir), "SECRET_KEY": "k",
        "NURTURE_NPS_THROTTLE_DAYS": "30", "NURTURE_NPS_ALERT_DELAY_MINUTES": "0",
        "NURTURE_CS_EMAIL": "cs@p.example"}).nps))
    assert (custom.throttle_days, custom.alert_delay, custom.cs_email) == (
        30, timedelta(0), "cs@p.example")


def _answered(rt, survey) -> None:
    _cid, links, client = survey
    client.get(links[9], headers=HUMAN)
    other = contact(rt, "dan@example.com", industry="healthcare", stage="renew")
    with rt.db.transaction() as session:
        session.add(NPSResponse(contact_id=other, survey="1", score=2, category="detractor",
                                vertical="healthcare", stage="renew",
                                answered_at=rt.clock.now() - timedelta(days=40)))


def test_api_reports_nps_by_period_and_segment(rt, survey):
    _answered(rt, survey)
    client = survey[2]
    assert client.get("/api/nps").status_code == 401
    assert client.get("/api/nps", headers={"Authorization": "Bearer nope"}).status_code == 401
    body = client.get("/api/nps?period=month&segment=vertical", headers=AUTH).get_json()
    assert body["segment"] == "vertical"
    assert [(r["period"], r["segment"], r["n"], r["nps"]) for r in body["rows"]] == [
        ("2026-01", "healthcare", 1, -100.0), ("2026-03", "retail", 1, 100.0)]
    assert body["rows"][1]["margin"] == 73.5
    quarter = client.get("/api/nps?period=quarter", headers=AUTH).get_json()
    assert [(r["period"], r["segment"], r["n"], r["nps"]) for r in quarter["rows"]] == [
        ("2026-Q1", "all", 2, 0.0)]
    bad = client.get("/api/nps?period=week", headers=AUTH)
    assert bad.status_code == 422 and "period" in bad.get_json()["detail"]


def test_cli_report_prints_a_table_and_json(rt, survey, tmp_path):
    _answered(rt, survey)
    env = {"DATABASE_URL": rt.settings.database_url, "SECRET_KEY": "test-secret-key",
           "NURTURE_VAR_DIR": str(tmp_path / "var")}
    table = CliRunner().invoke(main, ["nps", "report", "--segment", "stage"], env=env)
    assert table.exit_code == 0, table.output
    # One answer: its count, and no interval that would leave out the score itself.
    assert re.search(r"2026-03\s+adopt\s+1\s+\+100\.0\s+too few to judge \(fewer than 30 "
                     r"answers\)", table.output)
    assert re.search(r"2026-01\s+renew\s+1\s+-100\.0\s+too few to judge", table.output)
    assert "73.5" not in table.output and "adjusted-Wald interval" in table.output
    out = CliRunner().invoke(main, ["nps", "report", "--period", "quarter", "--json"], env=env)
    assert json.loads(out.output)["rows"][0]["n"] == 2
