"""The contact page for a customer: the touches counted before the hand-off (the domain
cites about seven before a purchase), the same count shown to the rep, and the button that
ends service and billing for a customer who leaves (staff only, CSRF, confirmed)."""

from __future__ import annotations

from datetime import timedelta
from html import unescape

from nurture.accounts.models import Account
from nurture.events.models import Event
from tests.factories import paying_customer, publish_library, rep
from tests.helpers import (
    advance_clock,
    contact,
    count,
    csrf,
    event,
    get_contact,
    html_of,
    journey_mail_to,
    publish_text,
    rows,
    signed_in,
    table_rows,
    web_client,
)

ANN = "ann@lee-retail.example"


def _page(client, email: str = ANN):
    page = client.get(f"/contacts?email={email}")
    assert page.status_code == 200, page.text
    return unescape(page.text)


def test_staff_end_service_and_billing_from_the_contact_page_once_confirmed(rt):
    publish_library(rt, "account-departure")
    ann = paying_customer(rt)
    staff = signed_in(rt, "marketer")
    page = _page(staff)
    assert "End service and billing" in page and "(30 days from now)" in page
    token = csrf(page)
    unconfirmed = staff.post("/contacts/deprovision", data={"csrf_token": token, "email": ANN})
    assert unconfirmed.status_code == 422
    assert "Tick the box to confirm that service and billing stop now." in \
        unescape(unconfirmed.text)
    assert count(rt, Event, Event.type == "account.deprovisioned") == 0
    forged = staff.post("/contacts/deprovision", data={"email": ANN, "confirmed": "yes"})
    assert forged.status_code == 400
    done = staff.post("/contacts/deprovision", data={
        "csrf_token": token, "email": ANN, "confirmed": "yes", "reason": "Closed the shop"})
    assert done.status_code == 200
    assert ("Service and billing ended on 2026-03-02. The account's data is kept until "
            "2026-04-01, then deleted") in unescape(done.text)
    assert "End service and billing</legend>" not in done.text
    assert "data kept until 2026-04-01" in done.text
    assert rows(rt, Account)[0].status == "deprovisioned"
    assert get_contact(rt, ann).stage == "deprovisioned"
    again = staff.post("/contacts/deprovision", data={
        "csrf_token": token, "email": ANN, "confirmed": "yes"})
    assert again.status_code == 409
    assert "This customer's service has already ended" in unescape(again.text)
    advance_clock(rt, timedelta(hours=1))
    assert [m["Subject"] for m in journey_mail_to(rt, ANN)] == [
        "Your Nurture service has ended: your data and how to export it"]


def test_only_staff_who_may_see_contacts_can_end_a_service(rt):
    paying_customer(rt)
    anonymous = web_client(rt)
    assert anonymous.post("/contacts/deprovision", data={"email": ANN}).status_code in (
        302, 303, 400)
    sales = signed_in(rt, "sales")
    page = sales.get("/sales").text
    refused = sales.post("/contacts/deprovision", data={
        "csrf_token": csrf(page), "email": ANN, "confirmed": "yes"})
    assert refused.status_code == 403
    assert count(rt, Event, Event.type == "account.deprovisioned") == 0


def test_a_prospect_has_no_button_and_cannot_be_deprovisioned(rt):
    contact(rt, "bob@example.com", first_name="Bob")
    staff = signed_in(rt, "marketer")
    page = _page(staff, "bob@example.com")
    assert "End service and billing" not in page
    refused = staff.post("/contacts/deprovision", data={
        "csrf_token": csrf(page), "email": "bob@example.com", "confirmed": "yes"})
    assert refused.status_code == 409
    assert "Only a customer's service can be ended, and this company is a prospect." in \
        unescape(refused.text)


def test_touches_before_the_hand_off_are_counted_on_the_contact_page_and_for_the_rep(rt):
    rep(rt, "rita@sales.example", verticals=["retail"])
    publish_text(rt, """
        id: expand
        name: Expand
        entry: {event: custom.expand}
        steps:
          - {id: to-sales, handoff: "Seats near the limit."}
    """)
    ann = paying_customer(rt, industry="retail")
    for kind in ("service", "support", "billing", "service"):
        event(rt, ann, "touch.recorded", kind=kind, note="Call")
    rt.clock.advance(timedelta(hours=1))
    event(rt, ann, "custom.expand")
    rt.clock.advance(timedelta(hours=1))
    event(rt, ann, "touch.recorded", kind="sales", note="After the hand-off")
    staff = signed_in(rt, "marketer")
    page = _page(staff)
    assert "5 touches on the timeline (2 service, 1 support, 1 billing, 1 sales)" in page
    assert "4 came before the hand-off to sales on 2026-03-02" in page
    assert "A purchase takes about 7" in page
    assert "touch.recorded (billing touch)" in page
    inbox = staff.get("/sales?show=all").text
    [row] = [r for r in table_rows(inbox) if "Seats near the limit." in r]
    assert "4 of ~7" in row
    link = inbox.split('href="/sales/handoffs/', 1)[1].split('"', 1)[0]
    detail = staff.get(f"/sales/handoffs/{link}").text
    assert ("Touches before this hand-off:</strong> 4 (2 service, 1 support, 1 billing)"
            in detail)
    [notice] = journey_mail_to(rt, "rita@sales.example")
    assert "Touches so far: 4 (a purchase takes about 7)." in \
        notice.get_body(("plain",)).get_content()
    assert "Touches so far: <strong>4</strong>" in html_of(notice)
