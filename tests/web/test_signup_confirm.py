"""A public sign-up with an address we already know: nothing on file changes and nothing goes
to an address the form gave, until the person confirms from a link sent to the address on
file; a customer gets no second trial, and their account owner hears of the request."""

from __future__ import annotations

import time
from datetime import timedelta

from sqlalchemy import select

from journeys.loader import load_file
from journeys.services import publish
from nurture.accounts.models import Account, AccountRole
from nurture.config import PROJECT_ROOT
from nurture.consent.models import ConsentRecord
from nurture.contacts.models import Contact
from nurture.events.models import Event
from nurture.nps.services import NPSConfig
from nurture.sending.models import Send
from nurture.trials import lifecycle
from nurture.trials.models import Trial
from tests.factories import (
    confirm_from_email,
    confirmation_links,
    post_sign_up,
    publish_trial_journey,
)
from tests.helpers import (
    contact,
    count,
    enrollments,
    event,
    get_contact,
    outbox,
    rows,
    run_due,
    tampered,
    web_client,
)

OWNER = "olga@nurture.example"
ON_FILE = {"first_name": "Ann", "last_name": "Lee", "company": "Lee Retail",
           "industry": "retail", "role": "IT manager", "phone": "+44 20 7946 0000",
           "country": "GB", "company_size": 10, "language": "en"}
HOSTILE = {"first_name": "Eve", "last_name": "Mallory", "company": "Evil Corp",
           "industry": "healthcare", "phone": "+1 555 0100", "role": "Owner",
           "company_size": "1000", "country": "US", "ship_country": "US",
           "ship_postal_code": "10001", "tech_name": "Eve", "tech_email": "eve@evil.example"}
IDENTITY = ("first_name", "last_name", "company", "industry", "role", "phone", "country",
            "company_size", "language", "stage")


def _customer(rt, **attributes) -> int:
    cid = contact(rt, "ann@example.com", **ON_FILE,
                  attributes={"technical_contact": "it@lee.example", **attributes})
    event(rt, cid, "purchase.completed", amount=1200, currency="EUR")
    assert get_contact(rt, cid).stage == "onboard"
    return cid


def _identity(rt, cid: int) -> tuple:
    row = get_contact(rt, cid)
    return (*(getattr(row, name) for name in IDENTITY),
            row.attributes.get("technical_contact"), row.attributes.get("account_owner"),
            row.attributes.get("shipping_address"))


def _inbox(rt) -> dict[str, str]:
    """Each message so far by its Message-ID: To, then Subject."""
    return {m["Message-ID"]: (m["To"], m["Subject"]) for m in outbox(rt)}


def _publish(rt, name: str) -> None:
    loaded = load_file(PROJECT_ROOT / "journeys" / "library" / f"{name}.yaml")
    with rt.db.transaction() as session:
        publish(session, loaded)


def test_a_sign_up_with_a_customers_address_changes_nothing_starts_no_trial_and_tells_the_owner(rt):
    publish_trial_journey(rt)
    _publish(rt, "onboarding")
    cid = _customer(rt, account_owner=OWNER)
    before = _identity(rt, cid)
    run_due(rt)
    sent_before = _inbox(rt)
    client = web_client(rt)
    response = post_sign_up(client, email="ANN@example.com", **HOSTILE)
    assert response.status_code == 303
    page = client.get(response.headers["Location"]).text
    assert "We sent a link to confirm to the address we have on file" in page
    assert "log-in instructions" not in page and "eve@evil.example" not in page

    assert _identity(rt, cid) == before, "names, company, stage, owner: all as they were"
    assert count(rt, Trial) == 0 and count(rt, Event, Event.type == "trial.started") == 0
    assert [e.journey_id for e in enrollments(rt, cid)] == ["onboarding"]
    [requested] = rows(rt, Event, Event.type == "trial.requested")
    assert (requested.contact_id, requested.properties["services"],
            requested.properties["seats"]) == (cid, ["analytics", "crm"], 5)
    change = get_contact(rt, cid).pending_change
    assert change["fields"]["company"] == "Evil Corp"
    assert change["attributes"]["technical_contact"] == "eve@evil.example"
    assert change["trial"]["services"] == ["crm", "analytics"] and change["trial"]["seats"] == 5
    assert change["at"] == rt.clock.now().isoformat()
    assert change["source"]["landing_slug"] == "trial"

    run_due(rt)
    new = dict(v for k, v in _inbox(rt).items() if k not in sent_before)
    assert new == {"ann@example.com": "Please confirm your sign-up with Nurture",
                   OWNER: "Trial requested by a customer: Ann Lee at Lee Retail"}
    assert not any("evil" in m["To"] for m in outbox(rt)), "nothing to the form's address"
    alert = next(m for m in outbox(rt) if m["To"] == OWNER)
    assert "asking to try analytics, crm with 5 seats" in alert.get_body(
        ("plain",)).get_content()
    post_sign_up(client, email="ann@example.com", **HOSTILE)
    run_due(rt)
    assert sum(m["To"] == OWNER for m in outbox(rt)) == 1, "one alert a day"


def test_a_customer_who_confirms_keeps_their_stage_and_gets_no_trial(rt):
    publish_trial_journey(rt)
    cid = _customer(rt)
    client = web_client(rt)
    post_sign_up(client, email="ann@example.com", phone="+44 20 7946 1111")
    page = confirm_from_email(rt, client)
    assert "Your account manager will be in touch about CRM, Analytics" in page
    row = get_contact(rt, cid)
    assert (row.stage, row.phone, row.pending_change) == ("onboard", "+44 20 7946 1111", None)
    assert count(rt, Trial) == 0 and enrollments(rt, cid) == []


def test_a_contact_whose_trial_converted_signs_up_again_and_gets_no_second_trial(rt):
    publish_trial_journey(rt)
    client = web_client(rt)
    assert post_sign_up(client).status_code == 303
    [first] = rows(rt, Trial)
    lifecycle.convert(rt, rt.settings, first.id, "keep_data")
    event(rt, first.contact_id, "onboarding.completed")
    assert get_contact(rt, first.contact_id).stage == "adopt"
    run_due(rt)
    sent_before = _inbox(rt)

    again = post_sign_up(client, company="Other Name Ltd", services=["support-desk"])
    page = client.get(again.headers["Location"]).text
    assert "log-in instructions" not in page, "no welcome was queued, so none is claimed"
    row = get_contact(rt, first.contact_id)
    assert (row.stage, row.company) == ("adopt", "Lee Retail")
    assert count(rt, Trial) == 1 and count(rt, Event, Event.type == "trial.started") == 1
    assert rows(rt, Event, Event.type == "trial.requested")[0].properties["services"] == [
        "support-desk"]
    run_due(rt)
    cs = NPSConfig.from_settings(rt.settings).cs_email
    assert {to for k, (to, _) in _inbox(rt).items() if k not in sent_before} == {
        "Ann@Example.com", cs}


def test_a_known_prospect_confirms_from_the_link_and_only_then_the_trial_starts(rt):
    publish_trial_journey(rt)
    cid = contact(rt, "ann@example.com", **ON_FILE, attributes={"account_owner": OWNER})
    before = _identity(rt, cid)
    client = web_client(rt)
    client.get("/l/trial?utm_source=nurture&utm_medium=email&utm_campaign=spring")
    assert post_sign_up(client, company="Lee Retail Group", utm_source="nurture",
                        utm_medium="email", utm_campaign="spring").status_code == 303
    assert _identity(rt, cid) == before and count(rt, Trial) == 0
    [link] = confirmation_links(rt)
    assert [m["To"] for m in outbox(rt)] == ["ann@example.com"], "nothing to tom yet"

    page = client.get(link)
    assert page.status_code == 200
    assert "<th scope=\"row\">Company name</th><td>Lee Retail</td><td>Lee Retail Group</td>" \
        in page.text
    assert "Technical contact</th><td>(none)</td><td>tom@example.com" in page.text
    assert "Your 30-day trial of CRM, Analytics with 5" in page.text
    assert get_contact(rt, cid).pending_change is not None, "opening the page confirms nothing"

    done = confirm_from_email(rt, client, link)
    assert "We sent your log-in instructions to <strong>ann@example.com</strong>" in done
    row = get_contact(rt, cid)
    assert (row.company, row.stage, row.pending_change) == ("Lee Retail Group", "try", None)
    assert row.attributes["account_owner"] == OWNER, "the form never sets the owner"
    assert row.attributes["technical_contact"] == "tom@example.com"
    [trial] = rows(rt, Trial)
    assert trial.utm == {"utm_source": "nurture", "utm_medium": "email",
                         "utm_campaign": "spring"}
    assert (trial.seats, trial.technical_email) == (5, "tom@example.com")
    run_due(rt)
    welcomes = {m["To"] for m in outbox(rt) if "trial is ready" in m["Subject"]}
    assert welcomes == {"ann@example.com", "tom@example.com"}
    again = client.get(link)
    assert again.status_code == 400 and "already used" in again.text


def test_a_tampered_expired_or_replaced_link_is_a_400_page_and_changes_nothing(
        rt, monkeypatch):
    cid = contact(rt, "ann@example.com", **ON_FILE)
    client = web_client(rt)
    with monkeypatch.context() as patch:
        # The link is signed as its email is written, which the in-process worker may do
        # before the sign-up's response is back: its signer's clock is turned back from the
        # start (itsdangerous checks age on the wall clock).
        old = int(time.time()) - 8 * 86400
        patch.setattr(rt.tokens._signers["signup"], "get_timestamp", lambda: old)
        post_sign_up(client, company="First Try Ltd")
        [stale] = confirmation_links(rt)
    expired = client.get(stale)
    assert expired.status_code == 400 and "This link has expired." in expired.text
    post_sign_up(client, company="Second Try Ltd")
    post_sign_up(client, company="Third Try Ltd")
    older, newest = confirmation_links(rt)[1:]
    replaced = client.get(older)
    assert replaced.status_code == 400 and "replaced by a newer sign-up" in replaced.text
    bad = client.get(tampered(newest))
    assert bad.status_code == 400 and "This link is not valid." in bad.text
    assert 'class="card"' in bad.text, "a styled page"
    token = client.get(newest).text.split('name="csrf_token" value="')[1].split('"')[0]
    assert client.post(older, data={"csrf_token": token}).status_code == 400
    assert client.post(newest, data={}).status_code == 400, "no CSRF token, no change"
    assert get_contact(rt, cid).company == "Lee Retail" and count(rt, Trial) == 0
    confirm_from_email(rt, client, newest)
    assert get_contact(rt, cid).company == "Third Try Ltd"


def test_confirmation_links_stop_at_three_a_day_and_the_page_says_none_was_sent(rt):
    contact(rt, "ann@example.com", **ON_FILE)
    client = web_client(rt)
    for _ in range(3):
        post_sign_up(client)
    fourth = post_sign_up(client, company="Fourth Ltd")
    page = client.get(fourth.headers["Location"]).text
    assert "We did not send another link" in page
    assert len(confirmation_links(rt)) == 3
    with rt.db.sessions() as session:
        kept = session.scalar(select(Contact.pending_change))
    assert kept["fields"]["company"] == "Lee Retail", "the fourth replaced nothing"
    rt.clock.advance(timedelta(days=1, minutes=1))
    post_sign_up(client, company="Next Day Ltd")
    assert len(confirmation_links(rt)) == 4


def test_a_new_address_without_a_journey_that_welcomes_is_not_told_it_was_welcomed(rt):
    client = web_client(rt)
    response = post_sign_up(client)
    page = client.get(response.headers["Location"]).text
    assert "Your trial has started" in page
    assert "We have not emailed log-in instructions" in page
    assert "We sent your log-in instructions" not in page


def test_marketing_consent_ticked_for_a_known_address_is_given_only_by_confirming(rt):
    cid = contact(rt, "ann@example.com", **ON_FILE)
    client = web_client(rt)
    post_sign_up(client, marketing_consent="y")
    assert [s.template for s in rows(rt, Send)] == ["signup-confirm"], "one email: the link"
    assert get_contact(rt, cid).consent_marketing is False
    page = client.get(confirmation_links(rt)[-1]).text
    assert "You also asked for our news, guides and offers by email" in page
    confirm_from_email(rt, client)
    assert get_contact(rt, cid).consent_marketing is True
    [record] = rows(rt, ConsentRecord)
    assert (record.action, record.method, record.ip) == (
        "confirmed", "signup-confirmation", "203.0.113.9")


def test_a_known_prospect_who_confirms_gets_the_trials_account_and_its_roles(rt):
    publish_trial_journey(rt)
    cid = contact(rt, "ann@example.com", first_name="Ann", company="Lee Retail")
    client = web_client(rt)
    post_sign_up(client, email="ann@example.com", tech_email="tom@lee-retail.example",
                 tech_name="Tom Tech")
    assert get_contact(rt, cid).account_id is None, "nothing changes before confirmation"
    confirm_from_email(rt, client)
    ann = get_contact(rt, cid)
    [account] = rows(rt, Account)
    assert (ann.account_id, account.name, account.status) == (account.id, "Lee Retail",
                                                              "trial")
    with rt.db.sessions() as session:
        held = set(session.execute(select(AccountRole.role, Contact.email).join(
            Contact, Contact.id == AccountRole.contact_id)))
    assert held == {("administrator", "ann@example.com"), ("billing", "ann@example.com"),
                    ("notices", "ann@example.com"), ("technical", "tom@lee-retail.example"),
                    ("activation", "tom@lee-retail.example")}
