"""The NPS page's charts in a real browser: each drawn as an image named by its title, with
its figures in a table, nothing refused by the Content-Security-Policy, and axe-core finds
nothing to fault."""

from __future__ import annotations

from datetime import timedelta

from playwright.sync_api import Page, expect

from nurture.nps.models import NPSResponse
from nurture.nps.stats import category
from tests.helpers import (
    PASSWORD,
    Site,
    axe_report,
    axe_violations,
    contact,
    marketer_and_four_contacts,
)


def answers(site: Site) -> None:
    """40 answers this month and 3 last month, in two verticals, two with a reason."""
    rt = site.rt
    now = rt.clock.now()
    scores = [10] * 20 + [9] * 4 + [8] * 6 + [7] * 2 + [5] * 5 + [2] * 3
    with rt.db.transaction() as session:
        for i, score in enumerate([*scores, 10, 3, 6]):
            cid = contact(rt, f"n{i}@example.com")
            at = now - timedelta(days=2 if i < len(scores) else 35)
            session.add(NPSResponse(
                contact_id=cid, survey="1", score=score, category=category(score),
                reason={0: "Setting up took minutes.", 41: "Exports time out."}.get(i, ""),
                vertical="retail" if i % 3 else "healthcare", stage="adopt",
                answered_at=at, updated_at=at))


def sign_in(page: Page, site: Site) -> None:
    page.goto(f"{site.url}/login")
    page.get_by_label("Email address").fill("mia@nurture.example")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("navigation", name="Console")).to_be_visible()


def test_the_nps_page_draws_its_charts_within_the_policy(site: Site, page: Page,
                                                          axe_page: Page):
    marketer_and_four_contacts(site)
    answers(site)
    refused: list[str] = []
    page.on("console", lambda m: refused.append(m.text)
            if "Content Security Policy" in m.text else None)
    sign_in(page, site)
    page.get_by_role("navigation", name="Console").get_by_role("link", name="NPS").click()
    expect(page.get_by_role("heading", name="Net Promoter Score")).to_be_visible()
    trend = page.get_by_role("img", name="NPS per month")
    expect(trend).to_be_visible()
    assert trend.bounding_box()["height"] > 100
    for title in ("Answers by score", "NPS per vertical", "NPS per stage"):
        expect(page.get_by_role("img", name=title)).to_be_visible()
    expect(page.locator("#nps-summary")).to_contain_text("from 43 answers")
    # The figures behind the chart, one click away for anyone who would rather read.
    page.get_by_text("Answers by score: the figures", exact=True).first.click()
    table = page.get_by_role("table", name="Answers by score: the figures")
    expect(table.get_by_role("row", name="10 21")).to_be_visible()
    assert refused == []  # pygal's inline script is gone, so nothing is blocked

    sign_in(axe_page, site)
    axe_page.goto(f"{site.url}/insights/nps")
    results = {"nps": axe_violations(axe_page)}
    assert not any(results.values()), axe_report(results)
