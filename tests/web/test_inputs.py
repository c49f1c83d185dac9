"""Text no database can store, ids past BIGINT and dates out of range: each is a 4xx with a
sentence, never a 500, and stores nothing (these were 500s, some only on PostgreSQL)."""

from __future__ import annotations

from sqlalchemy import func, select

from nurture.nps.models import NPSResponse
from referral.models import ReferralSource
from scoring.models import Handoff
from tests.helpers import contact, signed_in
from web import create_app


def _count(rt, model) -> int:
    with rt.db.sessions() as session:
        return session.scalar(select(func.count()).select_from(model))


def _csrf(client, path: str) -> str:
    import re

    return re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).text).group(1)


def test_a_nul_in_the_sign_in_email_is_a_422_page_with_a_sentence(rt):
    client = create_app(rt).test_client()
    response = client.post("/login", data={"csrf_token": _csrf(client, "/login"),
                                           "email": "ann\x00@example.com", "password": "x"})
    assert response.status_code == 422 and response.mimetype == "text/html"
    assert "cannot be stored" in response.text and "email" in response.text


def test_a_nul_in_an_nps_reason_is_a_422_and_records_no_answer(rt):
    cid = contact(rt, "ann@example.com")
    client = create_app(rt).test_client()
    token = rt.tokens.sign("nps", [cid, 7, 9])
    response = client.post(f"/nps/{token}", data={"csrf_token": _csrf(client, f"/nps/{token}"),
                                                  "score": "9", "reason": "Good\x00"})
    assert response.status_code == 422 and "cannot be stored" in response.text
    assert _count(rt, NPSResponse) == 1  # the click's answer; the reason was not kept
    with rt.db.sessions() as session:
        assert session.scalar(select(NPSResponse.reason)) in ("", None)


def test_a_nul_in_a_rejections_detail_is_a_422_and_the_lead_stays_open(rt):
    cid = contact(rt, "ann@example.com")
    with rt.db.transaction() as session:
        handoff = Handoff(contact_id=cid, trigger="manual", reason="test", status="open")
        session.add(handoff)
        session.flush()
        handoff_id = handoff.id
    client = signed_in(rt, "marketer")
    page = f"/sales/handoffs/{handoff_id}"
    response = client.post(f"{page}/reject", data={"csrf_token": _csrf(client, page),
                                                   "reason": "no_budget", "detail": "a\x00b"})
    assert response.status_code == 422 and "cannot be stored" in response.text
    with rt.db.sessions() as session:
        assert session.get(Handoff, handoff_id).status == "open"


def test_ids_past_bigint_are_a_404_on_every_console_route(rt):
    client = signed_in(rt, "marketer")
    token = _csrf(client, "/referrals/sources")
    huge = "9" * 20
    for path in (f"/sales/handoffs/{huge}", f"/sales/handoffs/{2**63}"):
        assert client.get(path).status_code == 404
    for path in (f"/sales/handoffs/{huge}/accept", f"/referrals/sources/{huge}/status",
                 f"/referrals/{huge}/review", f"/referrals/rewards/{huge}"):
        assert client.post(path, data={"csrf_token": token}).status_code == 404, path
    assert client.get(f"/sales/handoffs/{2**63 - 1}").status_code == 404  # in range: none


def test_a_referral_source_expiring_in_9999_or_named_with_a_nul_is_refused(rt):
    client = signed_in(rt, "marketer")
    token = _csrf(client, "/referrals/sources")
    form = {"csrf_token": token, "type": "partner", "name": "Pat", "email": "pat@example.com"}
    far = client.post("/referrals/sources", data={**form, "expires_on": "9999-12-31"})
    assert far.status_code == 422 and "between today and 10 years" in far.text
    past = client.post("/referrals/sources", data={**form, "expires_on": "2001-01-01"})
    assert past.status_code == 422
    nul = client.post("/referrals/sources", data={**form, "name": "P\x00t"})
    assert nul.status_code == 422 and "cannot be stored" in nul.text
    assert _count(rt, ReferralSource) == 0
    fine = client.post("/referrals/sources", data={**form, "expires_on": "2026-12-31"})
    assert fine.status_code == 303 and _count(rt, ReferralSource) == 1


def test_a_nul_in_a_path_segment_is_a_404(rt):
    client = create_app(rt).test_client()
    assert client.get("/r/%00").status_code == 404
    assert client.get("/l/tr%00ial").status_code == 404
