"""The pure rules of a departure: what may still reach a departed customer, when its data
is due for deletion, and who can be deprovisioned."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from nurture.accounts.departure import deletion_due, refusal, retention_until, send_refusal

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def test_a_departed_contact_gets_only_the_notices_the_win_back_and_what_it_asks_for():
    for template in ("account-end-of-service", "account-deletion-warning", "account-winback",
                     "consent-confirm", "signup-confirm"):
        assert send_refusal("deprovisioned", template) is None
    for template in ("renewal-quote", "onboarding-welcome", "nps-survey", "referral-ask"):
        assert send_refusal("deprovisioned", template) == "departed"


def test_the_rule_holds_only_departed_contacts_and_never_mail_to_our_own_people():
    assert send_refusal("adopt", "renewal-quote") is None
    assert send_refusal(None, "renewal-quote") is None
    assert send_refusal("deprovisioned", "sales-handoff", "sales_rep") is None
    assert send_refusal("deprovisioned", "nps-detractor-alert", "account_owner") is None
    assert send_refusal("deprovisioned", "trial-welcome", "technical_contact") == "departed"


def test_the_data_is_due_for_deletion_on_its_retention_date_and_not_before():
    until = retention_until(NOW, 30)
    assert until == NOW + timedelta(days=30)
    assert not deletion_due("deprovisioned", until, until - timedelta(seconds=1))
    assert deletion_due("deprovisioned", until, until)
    assert not deletion_due("deleted", until, until + timedelta(days=1))
    assert not deletion_due("customer", None, NOW)


def test_only_a_served_customer_can_be_deprovisioned_and_only_once():
    assert refusal("customer") is None
    assert refusal("deprovisioned") == ("This customer's service has already ended; it "
                                        "cannot be ended twice.")
    assert refusal("deleted") == ("This customer's data has already been deleted after its "
                                  "retention period.")
    assert refusal("trial") == "Only a customer's service can be ended, and this company is " \
                               "a trial."
