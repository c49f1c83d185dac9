"""Customer lifetime value in the web app: marketers and sales see the five best customers
and the average CLV from Nurture's own purchase events."""

from __future__ import annotations

import random
import re
from datetime import timedelta

from nurture.events.bus import NewEvent
from nurture.events.services import record_many
from tests.helpers import contact, signed_in


def test_without_purchases_the_page_says_so(rt):
    page = signed_in(rt, "sales").get("/insights/customer-value")
    assert page.status_code == 200
    assert "Not enough purchase history" in page.text


def test_the_five_best_customers_and_the_average_clv(rt):
    rng = random.Random(5)
    now = rt.clock.now()
    events = []
    for n in range(40):
        cid = contact(rt, f"buyer{n}@example.com")
        rate = 1 + n % 6  # purchases a year, so some customers are clearly worth more
        day = rng.randint(200, 500)
        while day > 0:
            events.append(NewEvent(cid, "purchase.completed",
                                   {"amount": 100 + 20 * (n % 5), "currency": "EUR"},
                                   now - timedelta(days=day)))
            day -= int(365 / rate) + rng.randint(0, 20)
    record_many(rt, events)
    page = signed_in(rt, "marketer").get("/insights/customer-value")
    assert page.status_code == 200
    assert re.search(r"Average CLV: [\d,]+\.\d\d", page.text)
    best = re.findall(r"<tr><td>(buyer\d+@example\.com)</td>", page.text)
    assert len(best) == 5
    yearly = sorted(range(40), key=lambda n: -(1 + n % 6) * (100 + 20 * (n % 5)))
    biggest = {f"buyer{n}@example.com" for n in yearly[:10]}
    assert set(best) <= biggest, "the best are among those who spend most a year"
