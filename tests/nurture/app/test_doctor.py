"""`nurture doctor` tells a broken installation from a working one, one line per check,
with what to do about each failure."""

from __future__ import annotations

import socket
from datetime import UTC, datetime, timedelta

from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Sink

from nurture.app.doctor import FAIL, OK, WARN, examine, readiness
from nurture.app.heartbeats import Heartbeat, beat
from nurture.db import Database
from nurture.sending.models import Send
from tests.helpers import contact
from web import create_app


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _findings(settings):
    return list(examine(lambda: settings))


def _of(findings, check):
    return [f for f in findings if f.check == check]


def test_a_working_installation_passes_every_check(rt, settings):
    port = _free_port()
    sink = Controller(Sink(), hostname="127.0.0.1", port=port)
    sink.start()
    try:
        found = _findings(settings.with_(smtp_url=f"smtp://127.0.0.1:{port}"))
    finally:
        sink.stop()
    assert [f for f in found if f.status == FAIL and f.check != "processes"] == [], found
    assert _of(found, "migrations")[0].status == OK
    assert "answered" in _of(found, "smtp")[0].detail
    for finding in found:
        assert finding.line().startswith(finding.status)


def test_a_refused_relay_and_a_bad_setting_fail_with_what_to_do(rt, settings):
    found = _findings(settings.with_(smtp_url=f"smtp://127.0.0.1:{_free_port()}"))
    smtp = _of(found, "smtp")[0]
    assert smtp.status == FAIL and "SMTP_URL" in smtp.line()

    def broken():
        raise ValueError("NURTURE_TIMEZONE must be an IANA name such as Europe/Paris.")
    only = list(examine(broken))
    assert [f.status for f in only] == [FAIL] and "IANA" in only[0].line()


def test_a_process_whose_clock_is_off_is_named(rt, settings):
    beat(rt.db, "worker", datetime.now(UTC))
    with rt.db.transaction() as session:
        session.add(Heartbeat(name="other-host:42:scheduler", role="scheduler", host="other",
                              pid=42, started_at=datetime.now(UTC),
                              seen_at=datetime.now(UTC), skew_seconds=7.5))
    clocks = _of(_findings(settings), "clock")
    assert clocks[0].status == OK  # this machine against the database
    off = [f for f in clocks if "other-host" in f.detail]
    assert off and off[0].status == FAIL and "+7.5 s" in off[0].detail


def test_work_left_unclaimed_for_long_is_a_warning(rt, settings):
    cid = contact(rt, "late@example.com")
    with rt.db.transaction() as session:
        session.add(Send(contact_id=cid, send_key="late-1", template="welcome",
                         to_email="late@example.com",
                         status="queued", due_at=datetime.now(UTC) - timedelta(hours=1),
                         created_at=datetime.now(UTC) - timedelta(hours=1)))
    backlog = _of(_findings(settings), "backlog")
    assert backlog and backlog[0].status == WARN and "oldest due" in backlog[0].detail


def test_readyz_says_ready_and_503_with_a_sentence_when_the_database_is_gone(rt, settings):
    assert create_app(rt).test_client().get("/readyz").get_json()["database"] == "ok"
    gone = settings.with_(database_url="postgresql://postgres@127.0.0.1:1/none",
                          redis_url="redis://127.0.0.1:1/0")
    found = readiness(Database(gone.database_url), gone.redis_url)
    assert found["database"].startswith("The database cannot be reached")
    assert found["redis"].startswith("Redis cannot be reached")
