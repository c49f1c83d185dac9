"""Deprovisioning (seed 001): a customer who leaves has service and billing stopped
together, is told the end of service, the retention date and how to export the data, is
warned before the deletion, and gets nothing else but a win-back with marketing consent.
After the retention period only a hash of each address remains."""

from __future__ import annotations

from datetime import timedelta

from click.testing import CliRunner

from nurture.accounts.models import Account, Subscription
from nurture.accounts.services import run_account_jobs
from nurture.app.cli import main
from nurture.config import DepartureSettings
from nurture.consent.models import Suppression
from nurture.consent.records import erased_key
from nurture.contacts.models import Contact
from nurture.events.models import Event
from tests.factories import (
    colleague,
    confirm_from_email,
    paying_customer,
    post_sign_up,
    publish_library,
    publish_trial_journey,
)
from tests.helpers import (
    advance_clock,
    contact,
    count,
    event,
    get_contact,
    journey_mail_to,
    journey_sends,
    publish_text,
    rows,
    run_due,
    running,
    web_client,
)

ANN = "ann@lee-retail.example"
DEPARTURE = ("account-departure", "account-winback")


def _text(message) -> str:
    return message.get_body(("plain",)).get_content()


def _deprovision(rt, email: str = ANN, *extra: str):
    return CliRunner().invoke(main, ["accounts", "deprovision", email, *extra], obj=rt)


def test_the_cli_stops_service_and_billing_together_and_sends_the_notice(rt):
    publish_library(rt, *DEPARTURE)
    ann = paying_customer(rt)
    tom = colleague(rt, ann, "tom@lee-retail.example", first_name="Tom")
    result = _deprovision(rt, ANN, "--reason", "Moved to another provider")
    assert result.exit_code == 0, result.output
    assert result.output == ("Service and billing ended on 2026-03-02 for account 1; its data "
                             "is kept until 2026-04-01, then deleted.\n")
    run_due(rt)
    [account] = rows(rt, Account)
    assert account.status == "deprovisioned"
    assert account.retention_until == rt.clock.now() + timedelta(days=30)
    [subscription] = rows(rt, Subscription)
    assert (subscription.status, subscription.ended_at) == ("ended", rt.clock.now())
    assert get_contact(rt, ann).stage == get_contact(rt, tom).stage == "deprovisioned"
    for address in (ANN, "tom@lee-retail.example"):
        [notice] = journey_mail_to(rt, address)
        assert notice["Subject"] == "Your Nurture service has ended: your data and how to " \
                                    "export it"
        body = _text(notice)
        assert "stopped together on\n2026-03-02" in body
        assert "until 2026-04-01" in body
        assert "Reply to this email before 2026-04-01" in body  # no export address set


def test_the_notice_gives_the_export_address_and_the_retention_setting(settings, clock):
    departure = DepartureSettings(retention_days=45,
                                             export_url="https://app.example.com/export")
    with running(settings.with_(departure=departure), clock) as rt:
        publish_library(rt, *DEPARTURE)
        paying_customer(rt)
        assert _deprovision(rt).exit_code == 0
        run_due(rt)
        body = _text(journey_mail_to(rt, ANN)[0])
        assert "until 2026-04-16" in body
        assert "Export your data: https://app.example.com/export" in body


def test_billing_can_record_the_departure_as_an_event(rt):
    publish_library(rt, *DEPARTURE)
    ann = paying_customer(rt)
    event(rt, ann, "account.deprovisioned", reason="contract ended")
    assert rows(rt, Account)[0].status == "deprovisioned"
    assert [s.template for s in journey_sends(rt, ann)] == ["account-end-of-service"]


def test_a_second_deprovisioning_or_an_unknown_address_is_refused_with_a_sentence(rt):
    paying_customer(rt)
    contact(rt, "bob@example.com")  # a prospect
    assert _deprovision(rt).exit_code == 0
    again = _deprovision(rt)
    assert again.exit_code == 1
    assert again.output == "Error: This customer's service has already ended; it cannot be " \
                           "ended twice.\n"
    nobody = _deprovision(rt, "cy@example.com")
    assert nobody.output == "Error: There is no contact with the address cy@example.com.\n"
    prospect = _deprovision(rt, "bob@example.com")
    assert prospect.output == "Error: Only a customer's service can be ended, and this " \
                              "company is a prospect.\n"
    assert count(rt, Event, Event.type == "account.deprovisioned") == 1


def test_nothing_further_is_sent_after_deprovisioning_but_the_notices(rt):
    publish_library(rt, "account-departure", "onboarding")
    publish_text(rt, """
        id: news
        name: News
        entry: {event: custom.news}
        steps:
          - {id: news, send: renewal-quote, transactional: true}
          - {id: more, send: referral-ask}
    """)
    ann = paying_customer(rt, consent=True)
    assert [(s.template, s.status) for s in journey_sends(rt, ann)] == [
        ("onboarding-welcome", "sent")]
    assert _deprovision(rt).exit_code == 0
    event(rt, ann, "custom.news")
    advance_clock(rt, timedelta(days=24), step=timedelta(hours=12))
    outcome = {s.template: (s.status, s.reason) for s in journey_sends(rt, ann)}
    assert outcome["account-end-of-service"] == ("sent", None)
    assert outcome["account-deletion-warning"] == ("sent", None)
    assert outcome["renewal-quote"] == ("skipped", "departed")
    assert outcome["referral-ask"] == ("skipped", "departed")
    assert "onboarding-administration" not in outcome  # the onboarding journey ended
    assert sorted(m["Subject"] for m in journey_mail_to(rt, ANN)) == [
        "Welcome to Nurture: your first 14 days",
        "Your Nurture data will be deleted in 7 days",
        "Your Nurture service has ended: your data and how to export it"]


def test_the_win_back_comes_after_the_delay_only_with_marketing_consent(rt):
    publish_library(rt, *DEPARTURE)
    ann = paying_customer(rt, consent=True)
    bob = paying_customer(rt, "bob@bob-bikes.example", first_name="Bob", company="Bob Bikes")
    for address in (ANN, "bob@bob-bikes.example"):
        assert _deprovision(rt, address).exit_code == 0
    advance_clock(rt, timedelta(days=13), step=timedelta(hours=12))
    assert "account-winback" not in [s.template for s in journey_sends(rt)]
    advance_clock(rt, timedelta(days=2), step=timedelta(hours=6))
    [winback] = [s for s in journey_sends(rt, ann) if s.template == "account-winback"]
    assert winback.status == "sent"
    [message] = [m for m in journey_mail_to(rt, ANN)
                 if m["Subject"].startswith("Your Nurture data is")]
    assert "until 2026-04-01" in _text(message)
    assert [(s.status, s.reason) for s in journey_sends(rt, bob)
            if s.template == "account-winback"] == [("skipped", "no_consent")]


def test_after_retention_the_data_is_deleted_and_only_a_suppression_hash_remains(rt):
    publish_library(rt, *DEPARTURE)
    ann = paying_customer(rt, consent=True)
    colleague(rt, ann, "tom@lee-retail.example")
    assert _deprovision(rt).exit_code == 0
    advance_clock(rt, timedelta(days=29), step=timedelta(days=1))
    assert run_account_jobs(rt) == {"deleted": 0}
    advance_clock(rt, timedelta(days=1), step=timedelta(hours=6))
    jobs = CliRunner().invoke(main, ["accounts", "jobs"], obj=rt)
    assert jobs.output == "Deleted the data of 1 account(s).\n"
    assert run_account_jobs(rt) == {"deleted": 0}
    assert count(rt, Contact) == 0 and count(rt, Event) == 0 and count(rt, Subscription) == 0
    [account] = rows(rt, Account)
    assert (account.status, account.name, account.deleted_at) == ("deleted", "",
                                                                   rt.clock.now())
    suppressed = {(s.email_key, s.reason) for s in rows(rt, Suppression)}
    assert suppressed == {(erased_key(ANN), "erased"),
                          (erased_key("Tom@Lee-Retail.example "), "erased")}
    assert all(ANN not in s.email_key for s in rows(rt, Suppression))


def test_data_deleted_before_the_win_back_is_due_means_no_win_back(settings, clock):
    departure = DepartureSettings(retention_days=10)
    with running(settings.with_(departure=departure), clock) as rt:
        publish_library(rt, *DEPARTURE)
        paying_customer(rt, consent=True)
        assert _deprovision(rt).exit_code == 0
        for _ in range(20):
            advance_clock(rt, timedelta(days=1), step=timedelta(hours=12))
            run_account_jobs(rt)
        subjects = sorted(m["Subject"] for m in journey_mail_to(rt, ANN))
        assert subjects == ["Your Nurture data will be deleted in 7 days",
                            "Your Nurture service has ended: your data and how to export it"]
        assert count(rt, Contact) == 0
        # The address comes back in an import: marketing still may not reach it.
        again = contact(rt, ANN, consent_marketing=True)
        publish_text(rt, """
            id: hello
            name: Hello
            entry: {event: custom.hello}
            steps:
              - {id: hello, send: referral-ask}
        """)
        event(rt, again, "custom.hello")
        assert [(s.status, s.reason) for s in journey_sends(rt, again)] == [
            ("skipped", "suppressed:erased")]


def test_a_departed_customer_who_signs_up_again_gets_the_confirmation_and_the_welcome(rt):
    publish_trial_journey(rt)
    paying_customer(rt, "Ann@Example.com")
    assert _deprovision(rt, "ann@example.com").exit_code == 0
    response = post_sign_up(web_client(rt))
    assert response.status_code in (200, 303), response.text
    confirm_from_email(rt, web_client(rt))
    run_due(rt)
    subjects = [m["Subject"] for m in journey_mail_to(rt, "Ann@Example.com")]
    assert any(s.startswith("Your Nurture trial is ready") for s in subjects), subjects
