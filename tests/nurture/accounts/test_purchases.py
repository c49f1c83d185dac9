"""Buy and activate (seed 003): a purchase makes the company a customer with a subscription
whose renewal date the renewal journey keys on, and the activation email goes to the
activation contact, else an administrator, else the notices contact, once."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from nurture.accounts.models import Account, AccountRole, Subscription
from nurture.contacts.models import Contact
from nurture.moments import as_datetime
from nurture.trials import lifecycle
from nurture.trials.models import Trial
from tests.factories import post_sign_up, publish_trial_journey
from tests.helpers import (
    START,
    contact,
    contact_id,
    event,
    get_contact,
    invoke_cli,
    mail_to,
    rows,
    run_due,
    signed_in,
    web_client,
)
from web import create_app

AUTH = {"Authorization": "Bearer test-api-key"}


def _roles(rt) -> set[tuple[str, str]]:
    with rt.db.sessions() as session:
        held = session.execute(select(AccountRole.role, Contact.email).join(
            Contact, Contact.id == AccountRole.contact_id)).all()
    return {(role, email) for role, email in held}


def _activation(rt, address: str) -> list:
    return [m for m in mail_to(rt, address) if "subscription" in m["Subject"]]


def test_a_purchase_records_a_customer_account_and_a_12_month_subscription(rt):
    cid = contact(rt, "ann@lee-retail.example", first_name="Ann", company="Lee Retail")
    event(rt, cid, "purchase.completed", amount=1200, currency="EUR",
          services=["crm", "analytics"], seats=8)

    [account] = rows(rt, Account)
    assert (account.name, account.domain, account.status) == (
        "Lee Retail", "lee-retail.example", "customer")
    [sub] = rows(rt, Subscription)
    assert (sub.account_id, sub.services, sub.seats, sub.seat_limit, sub.commitment_months,
            sub.status, sub.currency) == (account.id, ["crm", "analytics"], 8, 8, 12,
                                          "active", "EUR")
    assert sub.started_at == START
    assert sub.renews_at == datetime(2027, 3, 2, 10, 0, tzinfo=UTC)  # 12 months on
    ann = get_contact(rt, cid)
    assert ann.account_id == account.id and ann.stage == "onboard"
    assert ann.attributes["commitment"]["ends_at"] == sub.renews_at.isoformat()
    # Nobody held a role: the buyer administers, is billed and gets the notices.
    assert _roles(rt) == {("administrator", "ann@lee-retail.example"),
                          ("billing", "ann@lee-retail.example"),
                          ("notices", "ann@lee-retail.example")}


def test_the_commitment_can_be_given_by_the_purchase_and_a_colleague_joins_by_domain(rt):
    ann = contact(rt, "ann@lee-retail.example", company="Lee Retail")
    event(rt, ann, "purchase.completed", services=["crm"], commitment_months=24)
    bo = contact(rt, "bo@lee-retail.example", company="")
    event(rt, bo, "purchase.completed", services=["support-desk"], seats=3, seat_limit=10)

    first, second = rows(rt, Subscription)
    assert first.renews_at == datetime(2028, 3, 2, 10, 0, tzinfo=UTC)
    assert (second.services, second.seats, second.seat_limit) == (["support-desk"], 3, 10)
    assert first.account_id == second.account_id == get_contact(rt, bo).account_id


def test_a_converted_trial_sends_the_activation_email_to_its_technical_contact_once(rt):
    publish_trial_journey(rt)
    post_sign_up(web_client(rt))
    run_due(rt)
    assert _roles(rt) == {("administrator", "Ann@Example.com"),
                          ("billing", "Ann@Example.com"), ("notices", "Ann@Example.com"),
                          ("technical", "tom@example.com"), ("activation", "tom@example.com")}
    [trial] = rows(rt, Trial)
    lifecycle.convert(rt, rt.settings, trial.id, "keep_data")
    run_due(rt)

    [account] = rows(rt, Account)
    [sub] = rows(rt, Subscription)
    assert (account.name, account.status) == ("Lee Retail", "customer")
    assert (sub.trial_id, sub.services, sub.seats) == (trial.id, ["crm", "analytics"], 5)
    ann = get_contact(rt, contact_id(rt, "ann@example.com"))
    assert ann.attributes["commitment"]["ends_at"] == sub.renews_at.isoformat()

    [activation] = _activation(rt, "tom@example.com")
    assert _activation(rt, "Ann@Example.com") == []
    assert activation["Subject"] == "Your Nurture subscription is active, Tom"
    text = activation.get_body(("plain",)).get_content()
    assert "Hi Tom," in text and "Lee Retail" in text
    assert "- CRM: https://crm.nurture.example/sign-in" in text
    assert "- Analytics: https://analytics.nurture.example/sign-in" in text
    assert "renewing on 2 March 2027" in text
    assert "unsubscribe" not in text.lower()

    # Billing reports the same conversion: the subscription is the trial's, not a second
    # one, and its activation email is not sent twice.
    event(rt, ann.id, "purchase.completed", trial_id=trial.id, currency="EUR")
    run_due(rt)
    assert len(rows(rt, Subscription)) == 1
    assert len(_activation(rt, "tom@example.com")) == 1


def test_without_an_activation_contact_it_goes_to_an_administrator_then_notices(rt):
    client = create_app(rt).test_client()
    ann = contact(rt, "ann@lee-retail.example", first_name="Ann", company="Lee Retail")
    nina = contact(rt, "nina@lee-retail.example", first_name="Nina")
    for email, roles in (("ann@lee-retail.example", ["billing"]),
                         ("nina@lee-retail.example", ["notices"])):
        response = client.post("/api/events", headers=AUTH, json={
            "email": email, "type": "contact.updated",
            "properties": {"account": "Lee Retail", "roles": roles}})
        assert response.status_code == 201, response.text
    run_due(rt)
    event(rt, ann, "purchase.completed", services=["crm"])
    assert [m["To"] for m in _activation(rt, "lee-retail.example")] == [
        "nina@lee-retail.example"]  # nobody activates or administers: the notices contact

    client.post("/api/events", headers=AUTH, json={
        "email": "ann@lee-retail.example", "type": "contact.updated",
        "properties": {"roles": ["administrator", "billing"]}})
    run_due(rt)
    event(rt, ann, "purchase.completed", services=["analytics"])
    assert _activation(rt, "ann@lee-retail.example")[0]["Subject"].endswith("Ann")
    assert get_contact(rt, nina).account_id == get_contact(rt, ann).account_id


def test_a_role_outside_the_list_is_a_422_sentence_and_changes_nothing(rt):
    contact(rt, "ann@lee-retail.example")
    response = create_app(rt).test_client().post("/api/events", headers=AUTH, json={
        "email": "ann@lee-retail.example", "type": "contact.updated",
        "properties": {"roles": ["boss"]}})
    assert response.status_code == 422
    assert response.json["errors"][0]["field"] == "properties.roles[0]"
    assert _roles(rt) == set() and rows(rt, Account) == []


def test_the_contact_page_shows_the_account_its_roles_and_subscription(rt):
    publish_trial_journey(rt)
    post_sign_up(web_client(rt), timezone="America/Chicago")
    [trial] = rows(rt, Trial)
    lifecycle.convert(rt, rt.settings, trial.id, "keep_data")
    run_due(rt)
    page = signed_in(rt, "marketer").get("/contacts?email=tom@example.com").text
    assert "Lee Retail (example.com) · customer · their roles: activation, technical." in page
    assert "administrator: Ann Lee &lt;Ann@Example.com&gt;" in page
    assert "activation: Tom Tech &lt;tom@example.com&gt;" in page
    assert ("Subscription: CRM, Analytics · 5 of 5 seats · 12-month commitment from "
            "2026-03-02, renews 2027-03-02.") in page
    assert "time zone Europe/London" in page  # the company's country's: not Ann's browser


def test_a_renewal_moves_the_subscription_and_the_commitment_date_together(rt):
    ann = contact(rt, "ann@lee-retail.example", company="Lee Retail")
    event(rt, ann, "purchase.completed", services=["crm"])
    event(rt, ann, "subscription.renewed", commitment_ends_at="2028-03-02T10:00:00+00:00")
    [sub] = rows(rt, Subscription)
    assert sub.renews_at == datetime(2028, 3, 2, 10, 0, tzinfo=UTC)
    assert as_datetime(get_contact(rt, ann).attributes["commitment"]["ends_at"]) == sub.renews_at


def test_the_event_catalogue_documents_roles_accounts_and_purchase_terms(tmp_path):
    result = invoke_cli(["events", "types"], tmp_path)
    assert result.exit_code == 0, result.output
    updated = next(line for line in result.output.splitlines()
                   if line.startswith("contact.updated"))
    purchase = next(line for line in result.output.splitlines()
                    if line.startswith("purchase.completed"))
    assert "roles" in updated and "activation, administrator" in updated
    assert "account" in updated and "timezone" in updated
    assert all(word in purchase for word in ("services", "seats", "seat_limit",
                                             "commitment_months", "NURTURE_COMMITMENT_MONTHS"))
