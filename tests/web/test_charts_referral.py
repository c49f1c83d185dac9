"""Referrals as charts: the funnel (clicks, sign-ups, conversions, rewards) and the
leaderboard of customers brought in."""

from __future__ import annotations

from nurture.trials import lifecycle
from tests.factories import customer, sign_up, visit
from tests.helpers import chart_rows, referrals, rewards, run_due, signed_in, web_client


def test_the_funnel_and_the_leaderboard_as_charts(rt):
    code = customer(rt)
    friend = web_client(rt)
    sign_up(friend, visit(friend, code), email="bob@bob-bikes.example")
    lifecycle.convert(rt, rt.settings, referrals(rt)[-1].trial_id, "keep_data")
    run_due(rt)
    visit(web_client(rt), code, REMOTE_ADDR="203.0.113.77")  # a second click, no sign-up
    page = signed_in(rt, "marketer").get("/referrals").text
    granted = len([r for r in rewards(rt) if r.status != "voided"])
    assert granted >= 2  # at least the referrer's credit and the friend's welcome credit
    assert chart_rows(page, "referral-funnel") == {
        "Clicks": ["2"], "Sign-ups": ["1"], "Conversions": ["1"], "Rewards": [str(granted)]}
    [(leader, customers)] = chart_rows(page, "referral-leaders").items()
    assert leader.startswith("Ann") and customers == ["1"]
