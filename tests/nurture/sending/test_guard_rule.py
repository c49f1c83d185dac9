"""The guard's rule: rates judged only past the minimum of sends, complaints before bounces."""

from __future__ import annotations

from nurture.sending.guard import BOUNCES, COMPLAINTS, Counts, Thresholds, judge

LIMITS = Thresholds(complaint_rate=0.001, bounce_rate=0.02, min_sends=1000)


def test_too_few_sends_are_not_judged_however_bad():
    assert judge(Counts(sent=999, complaints=500, bounces=500), LIMITS) is None


def test_a_rate_at_the_limit_passes_and_one_past_it_pauses():
    assert judge(Counts(sent=1000, complaints=1), LIMITS) is None
    assert judge(Counts(sent=1000, complaints=2), LIMITS) == COMPLAINTS
    assert judge(Counts(sent=1000, bounces=20), LIMITS) is None
    assert judge(Counts(sent=1000, bounces=21), LIMITS) == BOUNCES


def test_complaints_are_named_first_when_both_are_past():
    assert judge(Counts(sent=2000, complaints=10, bounces=100), LIMITS) == COMPLAINTS
