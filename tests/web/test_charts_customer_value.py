"""Customer value as charts: the spread of predicted CLV, the five best customers, and the
chance each is still active against their value."""

from __future__ import annotations

import random
import re
from datetime import timedelta

from nurture.events.bus import NewEvent
from nurture.events.services import record_many
from tests.helpers import chart_rows, contact, signed_in


def test_the_value_charts_match_the_report(rt):
    rng = random.Random(5)
    now = rt.clock.now()
    events = []
    for n in range(40):
        cid = contact(rt, f"buyer{n}@example.com")
        rate = 1 + n % 6
        day = rng.randint(200, 500)
        while day > 0:
            events.append(NewEvent(cid, "purchase.completed",
                                   {"amount": 100 + 20 * (n % 5), "currency": "EUR"},
                                   now - timedelta(days=day)))
            day -= int(365 / rate) + rng.randint(0, 20)
    record_many(rt, events)
    page = signed_in(rt, "marketer").get("/insights/customer-value").text
    spread = chart_rows(page, "clv-spread")
    assert len(spread) == 8 and sum(int(v[0]) for v in spread.values()) == 40
    best = chart_rows(page, "clv-best")
    table = re.findall(r"<tr><td>(buyer\d+@example\.com)</td><td class=\"num\">([\d,.]+)</td>",
                       page)
    assert list(best) == [email for email, _ in table]  # the same five, in the same order
    assert [v[0] for v in best.values()] == [clv for _, clv in table]
    alive = chart_rows(page, "clv-alive")
    assert len(alive) == 40
    assert all(0 <= float(p.replace(",", "")) <= 100 for _, p in alive.values())
    assert "Average" in page.split('id="chart-clv-spread"')[1].split("</figcaption>")[0]


def test_no_purchases_no_charts(rt):
    page = signed_in(rt, "marketer").get("/insights/customer-value").text
    assert "Not enough purchase history" in page and "<figure" not in page
