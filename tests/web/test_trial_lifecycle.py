"""A trial's end, as a customer, an operator and the provisioning system see it: the one-time
conversion choice, expiry with the retention notice, deletion after retention, and usage."""

from __future__ import annotations

import email
import email.policy
import html
import re
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import itsdangerous
from click.testing import CliRunner

from journeys.loader import load_file
from journeys.services import publish
from nurture.app.cli import main as cli
from nurture.config import PROJECT_ROOT
from nurture.contacts.services import upsert_contacts
from nurture.sending.compose import Links
from nurture.trials import lifecycle
from nurture.trials.models import Trial
from tests.helpers import (
    START,
    advance_clock,
    contact,
    enrollments,
    event,
    events,
    get_contact,
    outbox,
    run_due,
)
from web import create_app

AUTH = {"Authorization": "Bearer test-api-key"}


def _publish_trial_journey(rt) -> None:
    loaded = load_file(PROJECT_ROOT / "journeys" / "library" / "trial-nurture.yaml")
    assert not loaded.violations, loaded.violations
    with rt.db.transaction() as session:
        publish(session, loaded)


def _trial(rt, email_address: str = "ann@example.com", seats: int = 3,
           services: tuple[str, ...] = ("crm", "analytics"), days: int = 30) -> tuple[int, int]:
    cid = contact(rt, email_address, first_name="Ann")
    now = rt.clock.now()
    with rt.db.transaction() as session:
        row = Trial(contact_id=cid, company="Acme", services=list(services), seats=seats,
                    status="active", started_at=now, ends_at=now + timedelta(days=days))
        session.add(row)
        session.flush()
        trial_id = row.id
    event(rt, cid, "trial.started", seats=seats, services=list(services), days=days,
          trial_id=trial_id)
    return cid, trial_id


def _row(rt, trial_id: int) -> Trial:
    with rt.db.sessions() as session:
        return session.get(Trial, trial_id)


def _path(rt, cid: int, email_address: str = "ann@example.com") -> str:
    url = Links(rt.tokens, rt.settings.base_url, cid, email_address).convert
    return url.removeprefix(rt.settings.base_url)


def _page(response) -> str:
    return " ".join(html.unescape(response.data.decode()).split())


def _csrf(page) -> str:
    return re.search(rb'name="csrf_token" value="([^"]+)"', page.data).group(1).decode()


def _choose(client, path: str, **form: str):
    return client.post(path, data={"csrf_token": _csrf(client.get(path)), **form})


def _text(subject_part: str, rt) -> str:
    [message] = [m for m in outbox(rt) if subject_part in m["Subject"]]
    return message.get_body(("plain",)).get_content()


# Conversion -----------------------------------------------------------------------------------

def test_keeping_the_data_converts_the_trial_records_the_event_and_ends_the_journey(rt):
    _publish_trial_journey(rt)
    cid, trial_id = _trial(rt)
    client = create_app(rt).test_client()
    page = client.get(_path(rt, cid))
    assert page.status_code == 200
    assert "cannot be changed" in _page(page) and "Keep the trial's data" in _page(page)
    done = _choose(client, _path(rt, cid), choice="keep_data", confirmed="yes")
    assert done.status_code == 200, done.data
    assert "You chose to keep the trial's data and settings." in _page(done)
    row = _row(rt, trial_id)
    assert (row.status, row.choice, row.converted_at) == ("converted", "keep_data", START)
    assert row.retention_until is None
    [converted] = events(rt, "trial.converted")
    assert converted.properties | {} == {
        "trial_id": trial_id, "choice": "keep_data", "keep_data": True, "seats": 3,
        "services": ["crm", "analytics"], "from_status": "active", "retention_until": None}
    run_due(rt)
    assert enrollments(rt, cid)[0].exit_reason == "goal:trial.converted"
    assert get_contact(rt, cid).stage == "onboard"


def test_a_second_conversion_is_refused_with_409_and_the_first_choice_stands(rt):
    cid, trial_id = _trial(rt)
    client = create_app(rt).test_client()
    path = _path(rt, cid)
    token = _csrf(client.get(path))
    assert client.post(path, data={"csrf_token": token, "choice": "new_subscription",
                                   "confirmed": "yes"}).status_code == 200
    again = client.post(path, data={"csrf_token": token, "choice": "keep_data",
                                     "confirmed": "yes"})
    assert again.status_code == 409
    assert b"already converted on 2 March 2026" in again.data
    assert b"Start a new subscription with a clean account" in again.data
    assert b"1 April 2026" in again.data, "the date the trial's data is kept until"
    assert client.get(path).status_code == 409
    row = _row(rt, trial_id)
    assert (row.choice, row.retention_until) == ("new_subscription", START + timedelta(days=30))
    assert len(events(rt, "trial.converted")) == 1


def test_a_missing_confirmation_is_a_sentence_beside_the_box_and_nothing_is_stored(rt):
    cid, trial_id = _trial(rt)
    client = create_app(rt).test_client()
    page = _choose(client, _path(rt, cid), choice="new_subscription")
    assert page.status_code == 400
    text = _page(page)
    assert ('<p class="error" id="confirmed-error">Please tick the box to confirm that you '
            "understand this choice is final.</p>") in text
    assert re.search(r'value="new_subscription"[^>]*\s+checked>', text), "the choice is kept"
    no_choice = _page(_choose(client, _path(rt, cid), confirmed="yes"))
    assert 'id="choice-error">Please choose whether' in no_choice
    assert re.search(r'name="confirmed" value="yes"[^>]*\s+checked>', no_choice)
    assert _row(rt, trial_id).status == "active"
    assert events(rt, "trial.converted") == []


def test_a_bad_expired_or_foreign_link_gets_a_clear_400_page(rt, monkeypatch):
    cid, _trial_id = _trial(rt)
    client = create_app(rt).test_client()
    bad = client.get("/trial/not-a-token/convert")
    assert bad.status_code == 400 and b"This link is not valid." in bad.data
    unsubscribe = rt.tokens.sign("subscription", [cid, "ann@example.com", None])
    assert client.get(f"/trial/{unsubscribe}/convert").status_code == 400
    with monkeypatch.context() as patch:
        old = int(START.timestamp()) - 61 * 86400
        patch.setattr(itsdangerous.timed.TimestampSigner, "get_timestamp", lambda self: old)
        stale = _path(rt, cid)
    expired = client.get(stale)
    assert expired.status_code == 400 and b"This link has expired." in expired.data
    assert client.post(stale, data={"choice": "keep_data"}).status_code == 400
    assert events(rt, "trial.converted") == []


def test_a_link_for_a_contact_without_a_trial_is_a_404_page(rt):
    cid = contact(rt, "bob@example.com")
    page = create_app(rt).test_client().get(_path(rt, cid, "bob@example.com"))
    assert page.status_code == 404 and b"could not find a trial" in page.data


# Expiry and deletion -------------------------------------------------------------------------

def test_the_trial_ends_expires_and_the_notice_states_the_retention_date(rt):
    _publish_trial_journey(rt)
    cid, trial_id = _trial(rt)
    advance_clock(rt, timedelta(days=30), step=timedelta(days=1))
    ending = _text("ends in 5 days", rt)
    link = re.search(r"Choose how to continue: (\S+)", ending).group(1)
    client = create_app(rt).test_client()
    assert client.get(link.removeprefix(rt.settings.base_url)).status_code == 200

    rt.clock.advance(timedelta(days=1))
    assert lifecycle.run_trial_jobs(rt, rt.settings) == {"expired": 1, "deleted": 0}
    expired_at = START + timedelta(days=31)
    row = _row(rt, trial_id)
    assert (row.status, row.expired_at) == ("expired", expired_at)
    assert row.retention_until == expired_at + timedelta(days=30)
    run_due(rt)
    notice = _text("has ended", rt)
    assert "viewable until 2 May 2026." in notice
    assert get_contact(rt, cid).attributes["trial"]["retention_until"] == (
        row.retention_until.isoformat())

    advance_clock(rt, timedelta(days=23), step=timedelta(days=1))
    warning = _text("will be deleted in 7 days", rt)
    assert "deleted permanently on 2 May 2026" in warning
    rt.clock.advance(timedelta(days=7))
    assert lifecycle.run_trial_jobs(rt, rt.settings) == {"expired": 0, "deleted": 1}
    assert (_row(rt, trial_id).status, _row(rt, trial_id).deleted_at) == (
        "deleted", rt.clock.now())
    assert [e.properties["trial_id"] for e in events(rt, "trial.data_deleted")] == [trial_id]
    refused = client.get(link.removeprefix(rt.settings.base_url))
    assert refused.status_code == 409 and b"data was deleted on 2 May 2026" in refused.data


def test_the_jobs_change_each_trial_once_in_batches_however_often_they_run(rt):
    rt.settings = rt.settings.with_(trials=replace(rt.settings.trials, retention_days=10))
    trials = [_trial(rt, f"p{i}@example.com", days=1 + (i == 0) * 5)[1] for i in range(7)]
    rt.clock.advance(timedelta(days=2))
    now = rt.clock.now()
    assert lifecycle.expire_due(rt, rt.settings, now, batch=3) == 6, \
        "the trial ending later stays active"
    assert lifecycle.expire_due(rt, rt.settings, now, batch=3) == 0
    assert lifecycle.delete_due(rt, now) == 0, "retention has not passed"
    assert _row(rt, trials[0]).status == "active"
    assert {_row(rt, t).retention_until for t in trials[1:]} == {now + timedelta(days=10)}
    later = now + timedelta(days=10)
    assert lifecycle.delete_due(rt, later, batch=4) == 6
    assert lifecycle.delete_due(rt, later, batch=4) == 0
    assert lifecycle.expire_due(rt, rt.settings, later) == 1
    assert len(events(rt, "trial.expired")) == 7
    assert len(events(rt, "trial.data_deleted")) == 6


def test_schedulers_running_the_jobs_at_once_expire_each_trial_once(rt):
    with rt.db.transaction() as session:
        ids = upsert_contacts(session, [{"email": f"p{i}@example.com"} for i in range(60)])
        session.add_all([Trial(contact_id=cid, seats=1, status="active", started_at=START,
                               ends_at=START + timedelta(days=30)) for cid in ids.values()])
    now = START + timedelta(days=31)
    with ThreadPoolExecutor(4) as pool:
        counts = list(pool.map(lambda _: lifecycle.expire_due(rt, rt.settings, now, batch=7),
                               range(4)))
    assert sum(counts) == 60
    assert len(events(rt, "trial.expired")) == 60


def test_an_expired_trial_converts_within_retention_and_a_clean_start_is_deleted_later(rt):
    cid, trial_id = _trial(rt, days=1)
    other_cid, kept_id = _trial(rt, "bob@example.com", days=1)
    rt.clock.advance(timedelta(days=2))
    lifecycle.run_trial_jobs(rt, rt.settings)
    announced = _row(rt, trial_id).retention_until
    client = create_app(rt).test_client()
    assert "ended on 4 March 2026" in _page(client.get(_path(rt, cid)))
    assert _choose(client, _path(rt, cid), choice="new_subscription",
                   confirmed="yes").status_code == 200
    assert _choose(client, _path(rt, other_cid, "bob@example.com"), choice="keep_data",
                   confirmed="yes").status_code == 200
    row = _row(rt, trial_id)
    assert (row.status, row.retention_until) == ("converted", announced)
    assert events(rt, "trial.converted")[0].properties["from_status"] == "expired"
    rt.clock.set(announced)
    assert lifecycle.run_trial_jobs(rt, rt.settings) == {"expired": 0, "deleted": 1}
    row = _row(rt, trial_id)
    assert (row.status, row.choice, row.deleted_at) == ("converted", "new_subscription",
                                                        announced)
    kept = _row(rt, kept_id)
    assert (kept.status, kept.deleted_at, kept.retention_until) == ("converted", None, None)


# Usage --------------------------------------------------------------------------------------

def test_seat_activations_count_each_seat_once_and_stop_at_the_trials_seats(rt):
    _, trial_id = _trial(rt, seats=2)
    client = create_app(rt).test_client()
    url = f"/api/trials/{trial_id}/usage"
    first = client.post(url, headers=AUTH, json={"type": "seat_activated",
                                                 "seat": "ann@example.com"})
    assert first.status_code == 201 and first.json["seats_activated"] == 1
    again = client.post(url, headers=AUTH, json={"type": "seat_activated",
                                                 "seat": " Ann@Example.com"})
    assert again.status_code == 200
    assert again.json == {"recorded": False, "event_id": None, "seats_activated": 1}
    assert client.post(url, headers=AUTH, json={"type": "seat_activated",
                                                "seat": "bob"}).status_code == 201
    full = client.post(url, headers=AUTH, json={"type": "seat_activated", "seat": "cy"})
    assert full.status_code == 422
    assert full.json["detail"] == (f"All 2 seats of trial {trial_id} are already activated; "
                                  "no more seats can be activated during the trial.")
    assert [e.properties["seat"] for e in events(rt, "trial.seat_activated")] == [
        "ann@example.com", "bob"]


def test_usage_reports_that_do_not_fit_get_a_status_and_a_sentence(rt):
    _, trial_id = _trial(rt, services=("crm", "email-campaigns"))
    _, ended_id = _trial(rt, "bob@example.com", days=1)
    rt.clock.advance(timedelta(days=1))
    lifecycle.run_trial_jobs(rt, rt.settings)
    client = create_app(rt).test_client()
    url = f"/api/trials/{trial_id}/usage"
    used = client.post(url, headers=AUTH, json={"type": "service_used", "service": "CRM"})
    assert used.status_code == 201
    cases = [
        ({}, url, {"type": "service_used", "service": "crm"}, 401),
        (AUTH, url, None, 400),
        (AUTH, "/api/trials/999999/usage", {"type": "service_used", "service": "crm"}, 404),
        (AUTH, "/api/trials/abc/usage", {"type": "service_used", "service": "crm"}, 404),
        (AUTH, "/api/trials/99999999999999999999999/usage", {"type": "seat_activated"}, 404),
        (AUTH, f"/api/trials/{ended_id}/usage", {"type": "service_used", "service": "crm"},
         409),
        (AUTH, url, {"type": "service_used", "service": "Billing"}, 422),
        (AUTH, url, {"type": "service_used"}, 422),
        (AUTH, url, {"type": "seat_activated", "seat": ["x"]}, 422),
        (AUTH, url, {"type": ["seat_activated"], "seat": "x"}, 422),
        (AUTH, url, {"type": "logged_in", "seat": "x"}, 422),
    ]
    for headers, path, body, status in cases:
        if body is None:
            response = client.post(path, headers=headers, data="[",
                                   content_type="application/json")
        else:
            response = client.post(path, headers=headers, json=body)
        assert response.status_code == status, (path, body, response.json)
        assert response.json["detail"].endswith("."), response.json
    [service] = events(rt, "trial.service_used")
    assert service.properties == {"trial_id": trial_id, "service": "crm"}
    assert events(rt, "trial.seat_activated") == []


# Command line -------------------------------------------------------------------------------

class _Kept:
    """The test's runtime, which the command must not close."""

    def __init__(self, rt):
        self._rt = rt

    def __getattr__(self, name):
        return getattr(self._rt, name)

    def close(self) -> None:
        pass


def test_operators_record_usage_list_show_and_expire_from_the_command_line(rt, monkeypatch):
    _, trial_id = _trial(rt, seats=1)
    # `nurture.app.cli.trials` names the click group too; patch the module itself.
    monkeypatch.setattr(sys.modules["nurture.app.cli.trials"], "open_runtime",
                        lambda **_: _Kept(rt))
    runner = CliRunner()
    seat = runner.invoke(cli, ["trials", "usage", str(trial_id), "seat", "ann@example.com"])
    assert seat.exit_code == 0 and "Seats activated: 1." in seat.output
    assert "already activated" in runner.invoke(
        cli, ["trials", "usage", str(trial_id), "seat", "ANN@example.com"]).output
    full = runner.invoke(cli, ["trials", "usage", str(trial_id), "seat", "bob"])
    assert full.exit_code == 1 and "All 1 seats" in full.output
    shown = runner.invoke(cli, ["trials", "show", str(trial_id)]).output
    assert "seats activated  1 of 1" in shown and "/convert" in shown
    link = re.search(r"conversion link\s+(\S+)", shown).group(1)
    page = create_app(rt).test_client().get(link.removeprefix(rt.settings.base_url))
    assert page.status_code == 200
    assert "active" in runner.invoke(cli, ["trials", "list", "--status", "active"]).output
    rt.clock.advance(timedelta(days=31))
    expired = runner.invoke(cli, ["trials", "expire"])
    assert expired.output.strip() == '{"expired": 1, "deleted": 0}'
    assert runner.invoke(cli, ["trials", "list", "--status", "active"]).output == "No trials.\n"


def test_a_clean_start_warns_a_week_before_the_old_trial_data_is_deleted(rt):
    with rt.db.transaction() as session:
        publish(session, load_file(PROJECT_ROOT / "journeys" / "library"
                                   / "trial-data-deletion.yaml"))
    cid, trial_id = _trial(rt)
    rt.clock.advance(timedelta(days=10))
    lifecycle.convert(rt, rt.settings, trial_id, "new_subscription")
    run_due(rt)
    retention = _row(rt, trial_id).retention_until
    assert retention == rt.clock.now() + timedelta(days=30)
    # The purchase's activation email went at once; the warning waits.
    assert _outbox_subjects(rt) == ["Your Nurture subscription is active, Ann"]
    activation = set(Path(rt.settings.outbox_dir).glob("*.eml"))
    advance_clock(rt, timedelta(days=22), step=timedelta(hours=12))
    assert len(_outbox_subjects(rt)) == 1, "not before a week ahead of the deletion"
    advance_clock(rt, timedelta(days=2), step=timedelta(hours=12))
    [subject] = [s for s in _outbox_subjects(rt) if "subscription is active" not in s]
    assert "deleted in 7 days" in subject
    [message] = [p for p in Path(rt.settings.outbox_dir).glob("*.eml") if p not in activation]
    body = email.message_from_bytes(message.read_bytes(), policy=email.policy.default)
    assert f"{retention.day} April 2026" in body.get_body(("plain",)).get_content()
    advance_clock(rt, timedelta(days=7), step=timedelta(hours=12))
    lifecycle.run_trial_jobs(rt, rt.settings)
    run_due(rt)
    assert _row(rt, trial_id).deleted_at is not None
    assert [e.status for e in enrollments(rt, cid) if e.journey_id == "trial-data-deletion"] \
        == ["completed"]


def _outbox_subjects(rt) -> list[str]:
    return [email.message_from_bytes(p.read_bytes(), policy=email.policy.default)["Subject"]
            for p in Path(rt.settings.outbox_dir).glob("*.eml")]
