"""The pure trial rules: retention, what converts when, and what usage fits a trial."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from nurture.trials import rules
from nurture.trials.errors import TrialInvalid
from nurture.trials.rules import TrialFacts

NOW = datetime(2026, 4, 1, 12, 0, tzinfo=UTC)
ACTIVE = TrialFacts(id=7, status="active", ends_at=NOW + timedelta(days=5), seats=2,
                    services=("crm", "email-campaigns"))
EXPIRED = replace(ACTIVE, status="expired", ends_at=NOW - timedelta(days=3),
                  expired_at=NOW - timedelta(days=3),
                  retention_until=NOW + timedelta(days=27))


def test_an_active_trial_is_due_to_expire_once_its_end_has_passed():
    assert not rules.due_to_expire(ACTIVE, NOW)
    assert rules.due_to_expire(ACTIVE, ACTIVE.ends_at)
    assert not rules.due_to_expire(EXPIRED, NOW + timedelta(days=90))


def test_data_is_due_for_deletion_after_retention_for_expired_and_clean_conversions():
    later = NOW + timedelta(days=28)
    assert not rules.due_for_deletion(EXPIRED, NOW)
    assert rules.due_for_deletion(EXPIRED, later)
    clean = replace(EXPIRED, status="converted", choice="new_subscription")
    assert rules.due_for_deletion(clean, later)
    assert not rules.due_for_deletion(replace(clean, deleted_at=later), later)
    kept = replace(EXPIRED, status="converted", choice="keep_data", retention_until=None)
    assert not rules.due_for_deletion(kept, later + timedelta(days=1000))


def test_active_and_retained_expired_trials_may_convert():
    assert rules.conversion_refusal(ACTIVE, NOW) is None
    assert rules.conversion_refusal(EXPIRED, NOW) is None


def test_a_converted_trial_is_refused_with_the_choice_already_made():
    converted = replace(ACTIVE, status="converted", choice="keep_data", converted_at=NOW)
    refusal = rules.conversion_refusal(converted, NOW)
    assert "already converted on 1 April 2026" in refusal
    assert "keep the trial's data and settings" in refusal
    assert refusal.endswith("cannot be changed.")


def test_a_trial_past_retention_or_deleted_cannot_convert():
    past = NOW + timedelta(days=28)
    assert "kept only until 28 April 2026" in rules.conversion_refusal(EXPIRED, past)
    deleted = replace(EXPIRED, status="deleted", deleted_at=past)
    assert "deleted on 29 April 2026" in rules.conversion_refusal(deleted, past)


def test_keeping_data_keeps_it_for_good_and_a_clean_start_keeps_it_until_retention():
    assert rules.retention_after_conversion(ACTIVE, "keep_data", NOW, 30) is None
    assert (rules.retention_after_conversion(ACTIVE, "new_subscription", NOW, 30)
            == NOW + timedelta(days=30))
    # An expired trial keeps the date its end-of-service notice announced.
    assert (rules.retention_after_conversion(EXPIRED, "new_subscription", NOW, 30)
            == EXPIRED.retention_until)


def test_the_form_errors_are_sentences():
    assert rules.choice_error("keep_data") is None
    assert rules.choice_error(None).endswith(".")
    assert rules.choice_error("both").startswith("Please choose")
    assert rules.confirmation_error(True) is None
    assert rules.confirmation_error(False).endswith("final.")


def test_usage_is_only_recorded_for_an_active_trial():
    assert rules.usage_refusal(ACTIVE) is None
    assert rules.usage_refusal(EXPIRED) == (
        "Trial 7 is expired, not active, so its usage can no longer be recorded.")


def test_a_service_matches_the_trials_own_ids_whatever_the_spelling():
    assert rules.matching_service(ACTIVE, "CRM") == "crm"
    assert rules.matching_service(ACTIVE, "Email campaigns") == "email-campaigns"
    with pytest.raises(TrialInvalid, match="not part of trial 7"):
        rules.matching_service(ACTIVE, "Billing")


def test_usage_values_are_checked():
    assert rules.clean_value("seat_activated", "  ann@example.com ") == "ann@example.com"
    for kind, value in (("seat_activated", ""), ("service_used", None), ("login", "x"),
                        (["seat_activated"], "x"), ("seat_activated", "x" * 321)):
        with pytest.raises(TrialInvalid):
            rules.clean_value(kind, value)


def test_the_same_seat_in_another_spelling_has_the_same_dedupe_key():
    key = rules.seat_dedupe_key(7, "Ann@Example.com ")
    assert key == rules.seat_dedupe_key(7, "ann@example.com")
    assert key != rules.seat_dedupe_key(8, "ann@example.com")
    assert key.startswith(rules.seat_key_prefix(7)) and len(key) <= 200


def test_no_seat_beyond_the_trials_seats():
    assert rules.seat_refusal(ACTIVE, 1) is None
    assert rules.seat_refusal(ACTIVE, 2) == (
        "All 2 seats of trial 7 are already activated; no more seats can be activated "
        "during the trial.")


@pytest.mark.parametrize("stage", rules.CUSTOMER_STAGES)
def test_a_customer_may_not_start_a_trial_but_asks_the_account_owner(stage):
    assert rules.eligibility(stage, [], NOW).verdict == "customer"


def test_anyone_whose_trial_converted_counts_as_a_customer_whatever_the_stage():
    converted = replace(ACTIVE, status="converted", converted_at=NOW - timedelta(days=90))
    assert rules.eligibility("learn", [converted], NOW).verdict == "customer"


def test_a_running_trial_is_named_and_an_expired_one_allows_a_new_start():
    assert rules.eligibility("try", [EXPIRED, ACTIVE], NOW) == rules.Eligibility(
        "running", ACTIVE)
    assert rules.eligibility("learn", [EXPIRED], NOW).verdict == "start"
    past_end = replace(ACTIVE, ends_at=NOW - timedelta(minutes=1))  # not yet expired by job
    assert rules.eligibility("try", [past_end], NOW).verdict == "start"
    assert rules.eligibility("churned", [], NOW).verdict == "start"
