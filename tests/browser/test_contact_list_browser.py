"""A marketer in a real browser filters the contact list and sorts it by a column, and
axe-core finds nothing to fault on the page."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.helpers import (
    PASSWORD,
    Site,
    axe_report,
    axe_violations,
    marketer_and_four_contacts,
)


def test_the_contact_list_filtered_and_sorted(site: Site, axe_page: Page):
    marketer_and_four_contacts(site)
    page = axe_page
    page.goto(f"{site.url}/contacts")
    page.get_by_label("Email address").fill("mia@nurture.example")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Contacts")).to_be_visible()
    expect(page.get_by_role("status")).to_have_text("4 contacts match.")
    page.get_by_label("Stage").select_option("try")
    page.get_by_label("Vertical").fill("retail")
    page.get_by_role("button", name="Filter").click()
    expect(page.get_by_role("status")).to_have_text("2 contacts match.")
    rows = page.locator("tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.first).to_contain_text("dee@example.com")  # the newest first
    page.get_by_role("link", name="Email", exact=True).click()
    expect(rows.first).to_contain_text("ann@example.com")
    expect(page.get_by_label("Stage")).to_have_value("try")  # the filters are kept
    results = {"contact list, filtered and sorted": axe_violations(page)}
    page.get_by_role("link", name="ann@example.com").click()
    expect(page.get_by_role("heading", name="Ann Lee <ann@example.com>")).to_be_visible()
    assert not any(results.values()), "axe-core violations:\n" + axe_report(results)
