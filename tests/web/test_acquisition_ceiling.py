"""The acquisition-cost ceiling (average predicted CLV x gross margin) per acquisition
source, vertical and referral source, on the insights page and from `nurture insights
acquisition-ceiling`. The expected numbers are worked out here from the purchases the test
records, with the same public models the report uses."""

from __future__ import annotations

import random
import re
from datetime import timedelta

from click.testing import CliRunner

from nurture.app.cli import main
from nurture.events.bus import NewEvent
from nurture.events.services import record_many
from referral import services as referral_services
from scoring.clv import value_customers
from scoring.clv_data import Transaction, periods_per_year, summarize
from tests.factories import sign_up, visit
from tests.helpers import contact, contact_id, running, signed_in, table_rows, web_client

MARGIN = 0.6
# (source, vertical, how many customers)
GROUPS = (("google", "retail", 8), ("google", "healthcare", 4), ("event", "retail", 6))


def _history(rt, rng, cid: int, n: int, purchases: list[Transaction]) -> list[NewEvent]:
    now = rt.clock.now()
    out = []
    day = rng.randint(150, 420)
    while day > 0:
        amount = 60 + 25 * (n % 5)
        at = now - timedelta(days=day)
        out.append(NewEvent(cid, "purchase.completed", {"amount": amount}, at))
        purchases.append(Transaction(str(cid), at.date(), float(amount)))
        day -= int(365 / (1 + n % 4)) + rng.randint(0, 15)
    return out


def _customers(rt) -> tuple[dict[int, tuple[str, str, str]], list[Transaction]]:
    """Customers of known source, vertical and referral source, with their purchases."""
    rng = random.Random(11)
    who: dict[int, tuple[str, str, str]] = {}
    purchases: list[Transaction] = []
    events: list[NewEvent] = []
    n = 0
    for source, vertical, size in GROUPS:
        for _ in range(size):
            cid = contact(rt, f"c{n}@{vertical}.example", industry=vertical,
                          attributes={"source": source})
            who[cid] = (source, vertical, "(not referred)")
            events += _history(rt, rng, cid, n, purchases)
            n += 1
    _, code = referral_services.create_source(rt, "partner", "Pat Partner")
    for i in range(3):  # three friends Pat referred, through the share link
        web, ip = web_client(rt), {"REMOTE_ADDR": f"203.0.113.{70 + i}"}
        sign_up(web, visit(web, code, **ip), environ=ip, email=f"f{i}@friend{i}.example",
                agent=f"Browser/{i}", industry="retail")
        cid = contact_id(rt, f"f{i}@friend{i}.example")
        who[cid] = ("referral", "retail", "Pat Partner (partner)")
        events += _history(rt, rng, cid, n, purchases)
        n += 1
    record_many(rt, events)
    return who, purchases


def _expected(rt, who, purchases) -> dict[tuple[str, str], tuple[int, float]]:
    """(dimension, group) -> (customers, ceiling), from the models on the same purchases."""
    summaries = summarize(purchases, rt.clock.now().date(), "weeks")
    report = value_customers(summaries, 52, 0.10, periods_per_year("weeks"))
    values = {int(c.customer_id): c.clv for c in report.customers}
    groups: dict[tuple[str, str], list[float]] = {}
    for cid, (source, vertical, referrer) in who.items():
        for key in (("all", "every customer"), ("source", source), ("vertical", vertical),
                    ("referral source", referrer)):
            groups.setdefault(key, []).append(values[cid])
    return {key: (len(found), sum(found) / len(found) * MARGIN)
            for key, found in groups.items()}


def test_the_ceiling_per_source_vertical_and_referral_source_on_the_page_and_the_cli(
        settings, clock):
    margined = settings.with_(scoring=settings.scoring.__class__(gross_margin=MARGIN))
    with running(margined, clock) as rt:
        who, purchases = _customers(rt)
        expected = _expected(rt, who, purchases)
        assert expected[("source", "referral")][0] == 3  # the friends came by their link

        page = signed_in(rt, "marketer").get("/insights/acquisition-ceiling")
        assert page.status_code == 200
        assert "gross margin of 60%" in page.text
        tables = re.findall(r"<caption>([^<]+)</caption>(.*?</tbody>)", page.text, re.S)
        assert [caption for caption, _ in tables] == [
            "All customers", "By acquisition source", "By vertical", "By referral source"]
        shown: dict[tuple[str, str], tuple[int, float]] = {}
        for dimension, (_, table) in zip(("all", "source", "vertical", "referral source"),
                                         tables, strict=True):
            for cells in table_rows(table):
                shown[(dimension, cells[0])] = (int(cells[1]),
                                                float(cells[3].replace(",", "")))
        assert set(shown) == set(expected)
        for key, (customers, ceiling) in expected.items():
            assert shown[key][0] == customers, key
            assert abs(shown[key][1] - ceiling) < 0.01, key

        printed = CliRunner().invoke(main, ["insights", "acquisition-ceiling"], obj=rt)
        assert printed.exit_code == 0, printed.output
        lines = printed.output.splitlines()
        assert "x gross margin 60%" in lines[0]
        for (dimension, group), (customers, ceiling) in expected.items():
            [line] = [item for item in lines if item.startswith(f"{dimension:<16} {group} ")]
            *_, count, _average, shown_ceiling = line.split()
            assert (count, shown_ceiling) == (str(customers), f"{ceiling:,.2f}")


def test_without_purchases_the_page_and_the_cli_say_so(rt):
    page = signed_in(rt, "sales").get("/insights/acquisition-ceiling")
    assert page.status_code == 200 and "Not enough purchase history" in page.text
    printed = CliRunner().invoke(main, ["insights", "acquisition-ceiling"], obj=rt)
    assert printed.exit_code == 0 and "Not enough purchase history" in printed.output


def test_the_insights_pages_link_to_the_ceiling(rt):
    web = signed_in(rt, "marketer")
    for path in ("/insights/customer-value", "/insights/email"):
        assert 'href="/insights/acquisition-ceiling"' in web.get(path).text
