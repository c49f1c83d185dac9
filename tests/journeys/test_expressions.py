"""The condition language on plain facts: what holds, what does not, and what is refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from journeys.expressions import ExpressionError, compile_expression
from journeys.facts import ContactFacts, EventRecord, Facts
from journeys.loader import load_text

NOW = datetime(2026, 3, 3, 10, 0, tzinfo=UTC)


def holds(source: str, facts: Facts) -> bool:
    return compile_expression(source).evaluate(facts, NOW)


def contact(**fields) -> Facts:
    return Facts(ContactFacts(id=1, email="ada@example.com", **fields))


def test_fields_and_lists_compare_as_a_marketer_writes_them():
    lead = contact(score=60, industry="retail")
    assert holds("score >= 50 and industry in ['retail', 'healthcare']", lead)
    assert not holds("score >= 50 and industry in ['mining']", lead)


def test_event_counts_look_back_only_over_the_window_given():
    clicker = contact()
    clicker.events += [EventRecord("email.clicked", NOW - timedelta(days=d)) for d in (1, 3, 20)]
    assert holds("count('email.clicked', '14d') >= 2", clicker)
    assert not holds("count('email.clicked', '2d') >= 2", clicker)
    assert holds("has('email.clicked') and not has('trial.seat_activated')", clicker)


def test_an_event_recorded_after_now_is_not_seen_yet():
    early = contact()
    early.events.append(EventRecord("demo.requested", NOW + timedelta(minutes=1)))
    assert not holds("has('demo.requested')", early)


def test_a_missing_value_makes_a_comparison_false_instead_of_an_error():
    unknown = contact()
    assert not holds("company_size > 100", unknown)
    assert not holds("attributes.trial.seats > 5", unknown)
    assert holds("not company_size > 100", unknown)


def test_nested_attributes_and_dates_to_come_are_readable():
    trialist = contact(attributes={"trial": {"seats": 8, "ends_at": "2026-03-08T10:00:00Z"}})
    assert holds("attributes.trial.seats > 5 and days_until('trial.ends_at') <= 5", trialist)


def test_the_language_compares_without_its_region():
    assert holds("language == 'fr'", contact(language="fr-CH"))


def test_the_nps_category_is_the_latest_answer():
    answered = contact()
    answered.events += [
        EventRecord("nps.answered", NOW - timedelta(days=9), {"category": "promoter"}),
        EventRecord("nps.answered", NOW - timedelta(days=1), {"category": "detractor"})]
    assert holds("nps.category == 'detractor'", answered)


@pytest.mark.parametrize("source", [
    "__import__('os').system('true')",
    "contact.__class__",
    "open('/etc/passwd')",
    "score >= ",
    "",
])
def test_anything_outside_the_language_is_refused_with_a_sentence(source):
    with pytest.raises(ExpressionError) as refused:
        compile_expression(source)
    message = str(refused.value)
    assert message[0].isupper() and message.endswith(".")


def test_segment_facts_grade_owner_lists_trial_and_referral_read_as_written():
    lead = contact()
    lead.grade, lead.owner, lead.lists = "A", "rita@example.com", frozenset({"VIP"})
    lead.trial, lead.referral = {"status": "active"}, {"status": "converted"}
    assert holds("grade in ['A', 'B'] and owner == 'rita@example.com' and in_list('VIP')", lead)
    assert holds("trial.status == 'active' and referral.status == 'converted'", lead)
    assert not holds("in_list('Churned') or grade == 'D'", lead)


def test_engagement_counts_people_and_leaves_out_machine_opens():
    reader = contact()
    reader.events += [
        EventRecord("email.opened", NOW - timedelta(days=2), {"machine": True}),
        EventRecord("email.opened", NOW - timedelta(days=3), {"machine": False}),
        EventRecord("email.opened", NOW - timedelta(days=40)),
        EventRecord("email.clicked", NOW - timedelta(days=1), {"machine": True}),
    ]
    assert holds("opened('30d') == 1 and opened() == 2", reader)
    assert holds("not clicked('30d')", reader)


def test_a_syntax_error_says_its_line_and_column():
    with pytest.raises(ExpressionError) as refused:
        compile_expression("score > 5 and\n  stage ==")
    assert (refused.value.line, refused.value.column) == (2, 11)
    assert "line 2, column 11" in str(refused.value)
    with pytest.raises(ExpressionError) as unknown:
        compile_expression("score > 5 and\n  colour == 'red'")
    assert (unknown.value.line, unknown.value.column) == (2, 3)


def test_a_journey_condition_naming_what_only_segments_read_is_refused_with_a_sentence():
    loaded = load_text("id: x\nname: X\nentry: {when: \"grade == 'A' or in_list('VIP')\"}\n"
                       "steps:\n  - {id: a, send: trial-welcome}\n", "x.yaml")
    assert len(loaded.violations) == 1
    assert "uses grade, in_list(), which only segments read for now" in str(
        loaded.violations[0])
