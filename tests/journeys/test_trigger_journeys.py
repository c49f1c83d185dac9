"""The shipped journeys for customer trigger events (seed 002: an offer or an action for
each), through recorded events, the outbox and the hand-offs sales sees. The customers here
never ticked the marketing box: these are service messages about their own account."""

from __future__ import annotations

from datetime import datetime, timedelta

from tests.factories import paying_customer, publish_library
from tests.helpers import (
    advance_clock,
    event,
    get_contact,
    handoffs,
    journey_mail_to,
    journey_sends,
)


def _subjects(rt, address: str) -> list[str]:
    return [m["Subject"] for m in journey_mail_to(rt, address)]


def test_a_usage_drop_tells_the_owner_and_starts_re_engagement_with_adoption_content(rt):
    publish_library(rt, "usage-dropped")
    ann = paying_customer(rt)
    event(rt, ann, "usage.dropped", metric="logins", drop_percent=45, period_days=14)
    [handoff] = handoffs(rt, ann)
    assert handoff.reason.startswith("Usage dropped by 30% or more")
    assert _subjects(rt, "ann@lee-retail.example") == [
        "A hand with Nurture: getting your team back up to speed"]
    advance_clock(rt, timedelta(days=5), step=timedelta(hours=12))
    assert _subjects(rt, "ann@lee-retail.example")[-1] == \
        "Five habits of teams that get the most from Nurture"
    assert [s.status for s in journey_sends(rt, ann)] == ["sent", "sent"]


def test_a_small_usage_drop_starts_nothing_and_growth_ends_the_sequence(rt):
    publish_library(rt, "usage-dropped")
    ann = paying_customer(rt)
    event(rt, ann, "usage.dropped", metric="logins", drop_percent=10)
    assert journey_sends(rt, ann) == [] and handoffs(rt, ann) == []
    event(rt, ann, "usage.dropped", metric="logins", drop_percent=50)
    event(rt, ann, "usage.grew", metric="logins", growth_percent=20)
    advance_clock(rt, timedelta(days=6), step=timedelta(hours=12))
    assert [s.template for s in journey_sends(rt, ann)] == ["usage-reengagement"]


def test_a_closed_support_ticket_gets_a_check_in_two_days_later(rt):
    publish_library(rt, "support-check-in")
    ann = paying_customer(rt)
    event(rt, ann, "support.ticket_opened", ticket_id="T-7", subject="Sync fails")
    advance_clock(rt, timedelta(days=3), step=timedelta(hours=12))
    assert journey_sends(rt, ann) == []
    event(rt, ann, "support.ticket_closed", ticket_id="T-7", resolution="fixed")
    advance_clock(rt, timedelta(days=1), step=timedelta(hours=12))
    assert journey_sends(rt, ann) == []
    advance_clock(rt, timedelta(days=1), step=timedelta(hours=12))
    assert _subjects(rt, "ann@lee-retail.example") == [
        "Your support request is closed: is everything working?"]


def test_a_ticket_open_for_a_month_goes_to_the_account_owner(rt):
    publish_library(rt, "support-check-in")
    ann = paying_customer(rt)
    event(rt, ann, "support.ticket_opened", ticket_id="T-8")
    advance_clock(rt, timedelta(days=31), step=timedelta(days=1))
    [handoff] = handoffs(rt, ann)
    assert "open for 30 days" in handoff.reason
    assert all(s.role == "sales_rep" for s in journey_sends(rt, ann))


def test_seats_near_the_limit_are_an_expansion_offer_handed_to_sales_with_the_reason(rt):
    publish_library(rt, "expansion-seats")
    ann = paying_customer(rt, seats=10, seat_limit=20)
    event(rt, ann, "usage.seats", seats=15, limit=20)
    assert handoffs(rt, ann) == []
    event(rt, ann, "usage.seats", seats=16, limit=20)
    [handoff] = handoffs(rt, ann)
    assert handoff.trigger == "journey"
    assert handoff.reason.startswith("Expansion: the customer uses 80% or more of its seats")
    event(rt, ann, "usage.seats", seats=18, limit=20)  # once a quarter, not once a report
    assert len(handoffs(rt, ann)) == 1


def test_usage_growth_is_an_expansion_offer_too(rt):
    publish_library(rt, "expansion-growth")
    ann = paying_customer(rt)
    event(rt, ann, "usage.grew", metric="storage", growth_percent=20)
    assert handoffs(rt, ann) == []
    event(rt, ann, "usage.grew", metric="storage", growth_percent=80)
    [handoff] = handoffs(rt, ann)
    assert handoff.reason.startswith("Expansion: the customer's usage grew by 50% or more")


def test_renewal_reminders_go_at_60_30_and_7_days_with_the_early_renewal_offer(rt):
    publish_library(rt, "renewal")
    ann = paying_customer(rt)  # no marketing consent
    event(rt, ann, "onboarding.completed")
    ends = get_contact(rt, ann).attributes["commitment"]["ends_at"]
    advance_clock(rt, timedelta(days=300), step=timedelta(days=5))
    assert journey_sends(rt, ann) == []
    advance_clock(rt, timedelta(days=62), step=timedelta(hours=6))
    customer_mail = [s for s in journey_sends(rt, ann) if s.role != "sales_rep"]
    assert [(s.template, s.status) for s in customer_mail] == [
        ("renewal-quote", "sent"), ("renewal-reminder", "sent"),
        ("renewal-final-notice", "sent")]
    days_before_end = [(datetime.fromisoformat(ends) - s.sent_at).days for s in customer_mail]
    assert days_before_end == [60, 30, 7]
    quote, reminder, _ = journey_mail_to(rt, "ann@lee-retail.example")
    for message in (quote, reminder):
        assert "Early-renewal offer" in message.get_body(("plain",)).get_content()


def test_two_tickets_at_once_get_one_check_in_and_a_later_ticket_its_own(rt):
    publish_library(rt, "support-check-in")
    ann = paying_customer(rt)
    event(rt, ann, "support.ticket_opened", ticket_id="T-1")
    event(rt, ann, "support.ticket_opened", ticket_id="T-2")
    event(rt, ann, "support.ticket_closed", ticket_id="T-1")
    advance_clock(rt, timedelta(days=3), step=timedelta(hours=12))
    assert [s.template for s in journey_sends(rt, ann)] == ["support-check-in"]
    event(rt, ann, "support.ticket_opened", ticket_id="T-3")
    event(rt, ann, "support.ticket_closed", ticket_id="T-3")
    advance_clock(rt, timedelta(days=3), step=timedelta(hours=12))
    assert [s.template for s in journey_sends(rt, ann)] == ["support-check-in"] * 2
