"""The sales inbox as a rep and a marketer use it: sign in, see hand-offs by priority with
the score and its reasons, accept, send back to nurture with a reason, win a deal."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from nurture.events.bus import NewEvent
from nurture.events.models import Event
from nurture.events.services import record_many
from nurture.users import services
from scoring import services as scoring_services
from scoring.clv import value_customers
from scoring.clv_data import Transaction, periods_per_year, summarize
from scoring.models import Handoff
from tests.helpers import contact, contact_id, csrf, run_due
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


def _same(page: str) -> str:
    """A page as a person reads it: the CSRF token is signed with the second it was made
    in, so two pages a second apart differ only there."""
    return re.sub(r'name="csrf_token" value="[^"]*"', 'name="csrf_token"', page)


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
    assert _same(page.text) == _same(zed.get(f"/sales/handoffs/{missing}").text)
    for action, data in (("accept", {}), ("reject", {"reason": "no-budget"}),
                         ("close", {"outcome": "lost"}),
                         ("close", {"outcome": "won", "amount": "nan"})):
        refused = _post(zed, f"/sales/handoffs/{handoff}/{action}", **data)
        assert refused.status_code == 404, action
        assert _same(refused.text) == _same(
            _post(zed, f"/sales/handoffs/{missing}/{action}", **data).text)
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


# ---- predicted lifetime value ------------------------------------------------------------

def _customers(rt, vertical: str, amount: float, per_year: int, n: int = 8,
               first: int = 0) -> list[Transaction]:
    """`n` customers of a vertical (companies of 5) buying `per_year` times a year for a
    year; the purchases, as the lifetime-value models read them."""
    now = rt.clock.now()
    events, bought = [], []
    for i in range(first, first + n):
        cid = contact(rt, f"{vertical}{i}@customers.example", industry=vertical,
                      company_size=5)
        for k in range(per_year):
            at = now - timedelta(days=360 - k * (360 // per_year) - i)
            events.append(NewEvent(cid, "purchase.completed", {"amount": amount}, at))
            bought.append(Transaction(str(cid), at.date(), amount))
    record_many(rt, events)
    return bought


def _values(rt, bought: list[Transaction]) -> dict[str, float]:
    """Each customer's CLV over a year, by the same public models the inbox uses."""
    report = value_customers(summarize(bought, rt.clock.now().date(), "weeks"), 52, 0.10,
                             periods_per_year("weeks"))
    return {c.customer_id: c.clv for c in report.customers}


def _money(value: float) -> str:
    return f"{value:,.2f}"


def test_among_leads_as_urgent_the_one_worth_more_comes_first(rt, anna):
    retail_bought = _customers(rt, "retail", 400, 12)
    healthcare_bought = _customers(rt, "healthcare", 30, 2, first=8)
    values = _values(rt, retail_bought + healthcare_bought)
    retail = [values[c] for c in {t.customer_id for t in retail_bought}]
    healthcare = [values[c] for c in {t.customer_id for t in healthcare_bought}]
    # Hanna fits better (grade B: a decision maker in a served country), Rita worth more.
    _lead(rt, "hanna@clinic.example", industry="healthcare", company_size=5, role="CTO",
          country="FR", first_name="Hanna")
    _, rita = _lead(rt, "rita@shop.example", industry="retail", company_size=5,
                    first_name="Rita")
    anna_reads = _client(rt, "anna@sales.example")
    page = anna_reads.get("/sales").text
    assert page.index("Rita") < page.index("Hanna"), "the same urgency: the higher value"
    assert _money(sum(retail) / len(retail)) in page
    assert _money(sum(healthcare) / len(healthcare)) in page
    # Urgency comes before value: a lead past its deadline goes first, whatever it is worth.
    with rt.db.transaction() as session:
        session.get(Handoff, rita).escalations = 0
    _, olga = _lead(rt, "olga@clinic.example", industry="healthcare", company_size=5,
                    first_name="Olga")
    with rt.db.transaction() as session:
        session.get(Handoff, olga).due_at = rt.clock.now() - timedelta(minutes=1)
    page = anna_reads.get("/sales").text
    assert page.index("Olga") < page.index("Rita") < page.index("Hanna")


def test_a_hand_off_shows_the_predicted_value_of_the_customer_or_of_its_look_alikes(rt, anna):
    bought = _customers(rt, "retail", 250, 6, n=12)
    values = _values(rt, bought)
    client = _client(rt, "anna@sales.example")
    # A new lead: the average of the customers like it, labelled as such.
    _, rita = _lead(rt, "rita@shop.example", industry="retail", company_size=5)
    detail = client.get(f"/sales/handoffs/{rita}").text
    average = sum(values.values()) / len(values)
    assert f"Predicted lifetime value:</strong> {_money(average)}" in detail
    assert "average predicted CLV of 12 look-alike customers (same vertical, size)" in detail
    # A customer with a history handed to sales for an expansion: their own value.
    own = contact_id(rt, "retail3@customers.example")
    [handoff] = scoring_services.hand_off(rt, rt.settings, own, "Asked for more seats.")
    run_due(rt)
    detail = client.get(f"/sales/handoffs/{handoff}").text
    assert f"{_money(values[str(own)])} <small>(predicted CLV of this customer" in detail
    # Nobody alike: the page says the value is not known yet.
    _, alone = _lead(rt, "pat@govt.example", industry="public-sector", company_size=5)
    assert "not known yet" in client.get(f"/sales/handoffs/{alone}").text
