"""The pure core of referrals: attribution windows and models with an injected clock, the
reward rules and their file, and every fraud rule."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from referral import fraud, rules
from referral.attribution import Touch, add_touch, choose
from referral.fraud import Device, Friend, Referrer, Velocity
from referral.loader import DEFAULT_FILE, load_rewards_file, load_rewards_text
from referral.rules import FraudLimits, Milestone, RewardRule, Rules, When

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
WINDOW = timedelta(days=90)


# ---- attribution ------------------------------------------------------------------------

def test_last_touch_credits_the_latest_visit_inside_the_window():
    touches = (Touch("AAA", NOW - timedelta(days=30)), Touch("BBB", NOW - timedelta(days=2)))
    decision = choose(touches, "last", WINDOW, NOW)
    assert (decision.touch.code, decision.reason) == ("BBB", "attributed")


def test_first_touch_credits_the_earliest_visit_inside_the_window():
    touches = (Touch("AAA", NOW - timedelta(days=30)), Touch("BBB", NOW - timedelta(days=2)))
    assert choose(touches, "first", WINDOW, NOW).touch.code == "AAA"


def test_a_visit_older_than_the_window_no_longer_counts():
    old = Touch("AAA", NOW - timedelta(days=91))
    assert choose((old,), "last", WINDOW, NOW).reason == "expired"
    assert choose((old,), "first", WINDOW, NOW).touch is None
    # First touch skips the expired visit and credits the earliest one still inside.
    recent = Touch("BBB", NOW - timedelta(days=89, hours=23))
    assert choose((old, recent), "first", WINDOW, NOW).touch.code == "BBB"


def test_the_window_boundary_is_inclusive_and_is_configurable():
    touch = Touch("AAA", NOW - timedelta(days=90))
    assert choose((touch,), "last", WINDOW, NOW).touch == touch
    assert choose((touch,), "last", timedelta(days=30), NOW).reason == "expired"


def test_no_touches_means_no_attribution_and_an_unknown_model_is_refused():
    assert choose((), "last", WINDOW, NOW).reason == "no-touch"
    with pytest.raises(ValueError, match="first, last"):
        choose((), "linear", WINDOW, NOW)


def test_many_visits_keep_the_first_touch_and_the_latest_ones():
    touches: tuple[Touch, ...] = ()
    for day in range(15):
        touches = add_touch(touches, f"C{day:02d}", NOW + timedelta(days=day), keep=5)
    assert [t.code for t in touches] == ["C00", "C11", "C12", "C13", "C14"]


# ---- reward rules -----------------------------------------------------------------------

RULES = Rules(
    currency="EUR",
    rewards=(RewardRule("referrer-credit", "referrer", "credit", amount_cents=5000),
             RewardRule("friend-credit", "friend", "credit", amount_cents=2500),
             RewardRule("partner-share", "referrer", "share", percent=10, cap_cents=15000,
                        sources=("partner",))),
    milestones=(Milestone("third", 3, 10000), Milestone("tenth", 10, 50000)),
)


def test_a_conversion_is_double_sided_with_one_key_per_referral_beneficiary_and_rule():
    grants = rules.on_conversion(RULES, 7, "customer")
    assert [(g.to, g.amount_cents, g.key) for g in grants] == [
        ("referrer", 5000, "7:referrer:referrer-credit"),
        ("friend", 2500, "7:friend:friend-credit")]
    assert rules.on_conversion(RULES, 7, "customer") == grants  # same keys on a retry


def test_the_share_is_a_percentage_of_first_year_revenue_up_to_its_cap():
    first = rules.on_revenue(RULES, 7, "partner", "event-1", 100000, "EUR", 0, {})
    assert [(g.amount_cents, g.key) for g in first] == [
        (10000, "7:referrer:partner-share:event-1")]
    capped = rules.on_revenue(RULES, 7, "partner", "event-2", 100000, "EUR", 200,
                              {"partner-share": 10000})
    assert [g.amount_cents for g in capped] == [5000]
    assert rules.on_revenue(RULES, 7, "partner", "event-3", 100000, "EUR", 200,
                            {"partner-share": 15000}) == []
    assert rules.on_revenue(RULES, 7, "partner", "event-4", 100000, "EUR", 366, {}) == []
    assert rules.on_revenue(RULES, 7, "customer", "event-5", 100000, "EUR", 0, {}) == []


def test_a_reward_limited_to_some_sources_is_earned_only_through_them():
    partner_only = Rules(rewards=(RewardRule("partner-bonus", "referrer", "credit",
                                             amount_cents=9000, sources=("partner",)),))
    assert [g.amount_cents for g in rules.on_conversion(partner_only, 7, "partner")] == [9000]
    assert rules.on_conversion(partner_only, 7, "customer") == []


def test_a_share_is_paid_in_the_payments_currency_and_a_refund_earns_nothing():
    usd = rules.on_revenue(RULES, 7, "partner", "event-1", 20000, "USD", 10, {})
    assert [(g.amount_cents, g.currency) for g in usd] == [(2000, "USD")]
    assert rules.on_revenue(RULES, 7, "partner", "event-2", -20000, "EUR", 10, {}) == []


def test_milestones_are_keyed_per_source_so_they_are_granted_once():
    assert rules.milestones_reached(RULES, 4, 2) == []
    at_three = rules.milestones_reached(RULES, 4, 3)
    assert [(g.key, g.amount_cents) for g in at_three] == [("source-4:milestone:3", 10000)]
    assert [g.key for g in rules.milestones_reached(RULES, 4, 10)] == [
        "source-4:milestone:3", "source-4:milestone:10"]


def test_the_shipped_rewards_file_is_valid():
    loaded = load_rewards_file(DEFAULT_FILE)
    assert loaded.violations == []
    assert loaded.rules.currency == "EUR" and [m.at for m in loaded.rules.milestones] == [3, 10]


def test_every_problem_in_a_rewards_file_is_reported_with_its_line():
    loaded = load_rewards_text(
        "currency: euro\n"
        "rewards:\n"
        "  - {id: a, to: referrer, credit: 50}\n"
        "  - {id: a, to: boss, credit: -1}\n"
        "  - {id: b, to: friend, share: 200%}\n"
        "  - {id: c, to: friend, credit: 5, share: 5%}\n"
        "milestones:\n"
        "  - {id: m, at: 0, bonus: 10}\n"
        "colour: blue\n", "rewards.yaml")
    assert loaded.rules is None
    found = {(v.line, v.message) for v in loaded.violations}
    assert (1, "The currency must be a three-letter ISO code, like EUR.") in found
    assert (4, "The id 'a' is used twice; ids must be unique.") in found
    assert (4, "A reward goes 'to' the referrer or the friend.") in found
    assert (4, "The credit must be an amount of zero or more, like 50 or 12.5.") in found
    assert (5, "A share must be a percentage from 0% to 100%, like 10%.") in found
    assert any(line == 6 and "exactly one thing" in message for line, message in found)
    assert (8, "The milestone's 'at' must be a whole number of 1 or more.") in found
    assert any(line == 9 and "unknown key 'colour'" in message for line, message in found)
    assert all(str(v).startswith("rewards.yaml:") for v in loaded.violations)


TIERED = Rules(rewards=(
    RewardRule("thank-you", "referrer", "thanks", detail="Thank you"),
    RewardRule("silver", "referrer", "gift", amount_cents=2000, detail="A mug",
               when=When(clv_at_least_cents=100000)),
    RewardRule("gold", "referrer", "credit", amount_cents=25000,
               when=When(clv_at_least_cents=500000)),
))


@pytest.mark.parametrize(("clv_cents", "earned"), [
    (None, ["thank-you"]),  # no value can be told: the tiers are not earned
    (99999, ["thank-you"]),
    (100000, ["thank-you", "silver"]),  # the boundary counts
    (500000, ["thank-you", "silver", "gold"]),
])
def test_tiers_keyed_on_the_referred_customers_lifetime_value(clv_cents, earned):
    grants = rules.on_conversion(TIERED, 7, "customer", clv_cents)
    assert [g.rule for g in grants] == earned
    assert [g.kind for g in grants] == ["thanks", "gift", "credit"][:len(earned)]
    assert rules.needs_clv(TIERED) and not rules.needs_clv(RULES)


@pytest.mark.parametrize(("kind", "status", "review", "refusal"), [
    ("feature", "pending", "", None),
    ("refer-back", "approved", "", None),
    ("gift", "pending", "", "A gift is sent once the hold period is over and the reward "
                            "is approved."),
    ("gift", "approved", "", None),
    ("gift", "approved", "flagged", "This referral is waiting for a fraud review; approve "
                                    "the referral first."),
    ("credit", "approved", "", "A credit is paid, not fulfilled."),
    ("thanks", "voided", "", "A voided reward cannot be fulfilled."),
])
def test_who_may_fulfil_what_and_when(kind, status, review, refusal):
    assert rules.fulfil_refusal(kind, status, review) == refusal


def test_each_fulfilled_kind_is_read_from_the_file_with_its_errors_on_their_lines():
    loaded = load_rewards_text(
        "rewards:\n"
        "  - {id: t, to: referrer, thanks: Thank you}\n"
        "  - {id: r, to: referrer, refer_back: A lead, sources: [partner]}\n"
        "  - {id: f, to: referrer, feature: spotlight}\n"
        "  - {id: g, to: referrer, gift: A hamper, value: 40, when: {clv_at_least: 5000}}\n")
    assert loaded.violations == []
    assert [(r.id, r.kind, r.detail, r.amount_cents, r.when.clv_at_least_cents)
            for r in loaded.rules.rewards] == [
        ("t", "thanks", "Thank you", 0, None), ("r", "refer-back", "A lead", 0, None),
        ("f", "feature", "spotlight", 0, None), ("g", "gift", "A hamper", 4000, 500000)]
    bad = load_rewards_text(
        "rewards:\n"
        "  - {id: t, to: referrer, thanks: ''}\n"
        "  - {id: f, to: referrer, feature: billboard}\n"
        "  - {id: g, to: referrer, gift: A hamper}\n"
        "  - {id: h, to: referrer, gift: A mug, value: 5, when: {clv_above: 1}}\n"
        "  - {id: c, to: referrer, credit: 5, value: 5}\n", "rewards.yaml")
    assert bad.rules is None
    found = {(v.line, v.message) for v in bad.violations}
    assert (2, "A thank-you needs its words, like 'thanks: A note from the founder'.") in found
    assert (3, "A feature is a 'case-study' or a 'spotlight'.") in found
    assert (4, "A gift needs its 'value', the amount it costs, like 40.") in found
    assert any(line == 5 and "unknown key 'clv_above'" in message for line, message in found)
    assert (6, "Only a gift has a value; a credit is its amount.") in found


def test_amounts_read_as_money():
    assert rules.format_money(123456, "EUR") == "€1,234.56"
    assert rules.format_money(500, "CHF") == "5.00 CHF"


# ---- fraud ------------------------------------------------------------------------------

REFERRER = Referrer(("ann.lee@gmail.com", "ann@lee-retail.example"),
                    (Device("visitor-ann", "198.51.100.7", fraud.agent_hash("Firefox/125")),))
CALM = Velocity(0, 0)
LIMITS = FraudLimits(per_source_per_day=10, per_ip_per_day=3)


BOB = Device("visitor-bob", "203.0.113.9", fraud.agent_hash("Safari/17"))


def _check(email="bob@bob-bikes.example", device=BOB, velocity=CALM, was_customer=False):
    return fraud.check(Friend(email, device, was_customer), REFERRER, velocity, LIMITS,
                       domains={"mailinator.com"})


def test_an_ordinary_referral_passes():
    assert _check() == ()


def test_the_referrers_own_address_is_a_self_referral():
    assert _check(email="Ann@Lee-Retail.example") == ("same-email",)


def test_the_same_mailbox_under_another_spelling_is_the_same_person():
    assert _check(email="annlee+promo@googlemail.com") == ("same-person",)
    assert _check(email="a.n.n.l.e.e@gmail.com") == ("same-person",)
    assert _check(email="ann+2@lee-retail.example") == ("same-person",)


def test_a_browser_the_referrer_signed_up_from_is_a_self_referral():
    assert _check(device=Device("visitor-ann", "203.0.113.9", "x")) == ("same-cookie",)


def test_the_referrers_ip_address_and_user_agent_together_are_a_self_referral():
    same = Device("", "198.51.100.7", fraud.agent_hash("Firefox/125"))
    assert _check(device=same) == ("same-device",)
    # The same office IP with another browser is not enough on its own.
    assert _check(device=Device("", "198.51.100.7", fraud.agent_hash("Safari/17"))) == ()


def test_disposable_domains_and_their_subdomains_are_flagged():
    assert _check(email="x@mailinator.com") == ("disposable-email",)
    assert _check(email="x@eu.mailinator.com") == ("disposable-email",)


def test_the_maintained_disposable_list_is_used_by_default():
    assert fraud.is_disposable("someone@mailinator.com")
    assert not fraud.is_disposable("someone@example.com")


def test_velocity_limits_per_source_and_per_ip_address():
    assert _check(velocity=Velocity(10, 0)) == ("velocity-source",)
    assert _check(velocity=Velocity(9, 3)) == ("velocity-ip",)
    assert _check(velocity=Velocity(9, 2)) == ()


def test_a_friend_who_was_already_a_customer_is_flagged():
    assert _check(was_customer=True) == ("existing-customer",)


def test_reasons_read_as_sentences():
    assert fraud.explain(["same-cookie"]) == [
        "The friend signed up from a browser the referrer used."]
