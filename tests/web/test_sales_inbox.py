"""The sales inbox as a rep and a marketer use it: sign in, see hand-offs by priority with
the score and its reasons, accept, send back to nurture with a reason, win a deal."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from nurture.events.bus import NewEvent
from nurture.events.models import Event
from nurture.events.services import record_many
from nurture.users import services
from scoring.models import Handoff
from tests.helpers import contact, csrf, run_due
from web import create_app

PASSWORD = "correct horse battery"


def _user(rt, email, role="sales", **fields):
    with rt.db.transaction() as session:
        return services.create_user(session, email, email.split("@")[0].title(), role,
                                    PASSWORD, now=rt.clock.now(), **fields).id


def _client(rt, email):
    client = create_app(rt).test_client()
    page = client.get("/login").text
    response = client.post("/login", data={"csrf_token": csrf(page), "email": email,
                                           "password": PASSWORD})
    assert response.status_code == 303
    return client


def _lead(rt, email, event="demo.requested", **fields):
    cid = contact(rt, email, **fields)
    record_many(rt, [NewEvent(cid, event)])
    run_due(rt)
    with rt.db.sessions() as session:
        return cid, session.scalar(select(Handoff.id).where(Handoff.contact_id == cid))


def _post(client, path, **data):
    page = client.get("/sales").text
    return client.post(path, data={"csrf_token": csrf(page), **data})


@pytest.fixture
def anna(rt):
    return _user(rt, "anna@sales.example", verticals=["retail"])


def test_the_inbox_needs_sign_in_and_lists_hand_offs_by_priority(rt, anna):
    anonymous = create_app(rt).test_client().get("/sales")
    assert anonymous.status_code == 302 and "/login?next=/sales" in anonymous.location
    _lead(rt, "low@example.com", industry="retail", first_name="Low")
    _lead(rt, "high@example.com", industry="retail", first_name="High",
                    company_size=5000, role="CTO", country="FR")
    page = _client(rt, "anna@sales.example").get("/sales")
    assert page.status_code == 200
    text = page.text
    assert text.index("High") < text.index("Low"), "better grade first"
    assert "Raised a hand: demo.requested." in text


def test_a_rep_sees_why_accepts_and_wins_the_deal(rt, anna):
    cid, handoff = _lead(rt, "ann@lee.example", industry="retail", first_name="Ann",
                         last_name="Lee", company="Lee Retail")
    client = _client(rt, "anna@sales.example")
    detail = client.get(f"/sales/handoffs/{handoff}")
    assert "Ann Lee" in detail.text and "Asked for a demo" in detail.text
    assert "Industry is one of our verticals" in detail.text
    early = _post(client, f"/sales/handoffs/{handoff}/close", outcome="won")
    assert early.status_code == 422 and "Accept the lead before" in early.text
    accepted = _post(client, f"/sales/handoffs/{handoff}/accept")
    assert accepted.status_code == 303
    assert "You accepted the lead" in client.get(accepted.location).text
    bad = _post(client, f"/sales/handoffs/{handoff}/close", outcome="won", amount="lots")
    assert bad.status_code == 422 and "must be a number" in bad.text
    won = _post(client, f"/sales/handoffs/{handoff}/close", outcome="won", amount="14,400",
                detail="12 seats")
    assert won.status_code == 303
    with rt.db.sessions() as session:
        props = session.scalar(select(Event.properties).where(
            Event.contact_id == cid, Event.type == "sales.won"))
        assert session.get(Handoff, handoff).status == "won"
    assert props["amount"] == 14400.0


def test_sending_back_needs_a_reason_and_keeps_it(rt, anna):
    _, handoff = _lead(rt, "bo@example.com", industry="retail")
    client = _client(rt, "anna@sales.example")
    missing = _post(client, f"/sales/handoffs/{handoff}/reject", reason="")
    assert missing.status_code == 422 and "Choose a reason" in missing.text
    done = _post(client, f"/sales/handoffs/{handoff}/reject", reason="no-budget",
                 detail="Next fiscal year")
    assert done.status_code == 303
    with rt.db.sessions() as session:
        row = session.get(Handoff, handoff)
    assert (row.status, row.outcome_reason) == ("rejected", "No budget: Next fiscal year")
    again = _post(client, f"/sales/handoffs/{handoff}/accept")
    assert again.status_code == 409 and "already rejected" in again.text


def test_a_rep_opening_or_acting_on_another_reps_lead_gets_the_404_of_a_missing_id(rt, anna):
    _user(rt, "zed@sales.example", verticals=["mining"])
    _user(rt, "mia@marketing.example", role="marketer")
    cid, handoff = _lead(rt, "cy@example.com", industry="retail")
    zed = _client(rt, "zed@sales.example")
    for show in ("mine", "all", "closed"):
        assert "cy@example.com" not in zed.get(f"/sales?show={show}").text
    missing = handoff + 1000
    page = zed.get(f"/sales/handoffs/{handoff}")
    assert page.status_code == 404 and "cy@example.com" not in page.text
    assert page.text == zed.get(f"/sales/handoffs/{missing}").text
    for action, data in (("accept", {}), ("reject", {"reason": "no-budget"}),
                         ("close", {"outcome": "lost"}),
                         ("close", {"outcome": "won", "amount": "nan"})):
        refused = _post(zed, f"/sales/handoffs/{handoff}/{action}", **data)
        assert refused.status_code == 404, action
        assert refused.text == _post(zed, f"/sales/handoffs/{missing}/{action}", **data).text
    with rt.db.sessions() as session:
        row = session.get(Handoff, handoff)
        assert (row.status, row.assigned_to) == ("open", anna)
        assert session.scalar(select(Event.id).where(
            Event.contact_id == cid, Event.type.in_(
                ("sales.accepted", "sales.rejected", "sales.won", "sales.lost")))) is None
    marketer = _client(rt, "mia@marketing.example")
    assert "Anna" in marketer.get("/sales?show=all").text
    assert "cy@example.com" in marketer.get(f"/sales/handoffs/{handoff}").text
    assert marketer.get(f"/sales/handoffs/{missing}").status_code == 404


def test_a_rep_still_opens_and_takes_a_lead_from_the_unassigned_queue(rt, anna):
    _user(rt, "zed@sales.example", verticals=["mining"])
    _, handoff = _lead(rt, "dee@example.com", industry="healthcare")
    with rt.db.sessions() as session:
        assert session.get(Handoff, handoff).assigned_to is None, "nobody covers healthcare"
    zed = _client(rt, "zed@sales.example")
    assert zed.get(f"/sales/handoffs/{handoff}").status_code == 200
    assert _post(zed, f"/sales/handoffs/{handoff}/accept").status_code == 303
    anna_now = _client(rt, "anna@sales.example")
    assert anna_now.get(f"/sales/handoffs/{handoff}").status_code == 404


@pytest.mark.parametrize(("amount", "message"), [
    ("nan", "must be a number"), ("inf", "must be a number"), ("-inf", "must be a number"),
    ("1e999", "must be a number"), ("-5", "cannot be negative"),
    ("1e12", "must be at most 1,000,000,000"), ("abc", "must be a number")])
def test_a_deal_amount_that_is_not_a_sane_number_is_a_sentence_and_stores_nothing(
        rt, anna, amount, message):
    cid, handoff = _lead(rt, "eve@example.com", industry="retail")
    client = _client(rt, "anna@sales.example")
    assert _post(client, f"/sales/handoffs/{handoff}/accept").status_code == 303
    refused = _post(client, f"/sales/handoffs/{handoff}/close", outcome="won", amount=amount)
    assert refused.status_code == 422 and message in refused.text
    with rt.db.sessions() as session:
        assert session.get(Handoff, handoff).status == "accepted"
        assert session.scalar(select(Event.id).where(
            Event.contact_id == cid, Event.type == "sales.won")) is None
    assert _post(client, f"/sales/handoffs/{handoff}/close", outcome="won",
                 amount="1000000000").status_code == 303
