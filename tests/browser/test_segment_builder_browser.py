"""A marketer in a real browser types a segment's condition and watches the builder answer:
the syntax error with its line and column, then the live count and a sample; saves it and
finds it listed with its count. And axe-core's verdict on the two pages."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.helpers import (
    Site,
    axe_report,
    axe_violations,
    marketer_and_four_contacts,
    sign_in_at,
)


def test_a_segment_typed_shows_its_error_then_a_live_count_and_is_saved(site: Site,
                                                                        page: Page):
    marketer_and_four_contacts(site)
    sign_in_at(page, site, "/segments/new")
    expect(page.get_by_role("heading", name="New segment")).to_be_visible()
    page.get_by_label("Name").fill("Retail trialists")
    condition = page.get_by_label("Condition")
    condition.press_sequentially("stage == 'try' and\nvertical ==", delay=5)
    live = page.locator("#live")
    expect(live).to_contain_text("Line 2, column 12")
    condition.press_sequentially(" 'retail'", delay=5)
    expect(live).to_have_text("2 contacts match now.")
    sample = page.locator("#sample tbody tr")
    expect(sample).to_have_count(2)
    expect(sample.first).to_contain_text("ann@example.com")
    expect(sample.last).to_contain_text("dee@example.com")
    page.get_by_role("button", name="Save segment").click()
    expect(page.get_by_role("status").first).to_have_text(
        "The segment 'Retail trialists' was saved.")
    page.get_by_role("link", name="All segments").click()
    row = page.get_by_role("row", name="Retail trialists")
    expect(row.get_by_role("cell").nth(1)).to_have_text("2")


def test_segment_pages_pass_axe_core(site: Site, axe_page: Page):
    marketer_and_four_contacts(site)
    page, results = axe_page, {}
    sign_in_at(page, site, "/segments/new")
    page.get_by_label("Name").fill("Trialists")
    page.get_by_label("Condition").press_sequentially("stage == 'try'", delay=5)
    expect(page.locator("#live")).to_have_text("3 contacts match now.")
    results["builder with a live count"] = axe_violations(page)
    page.get_by_label("Condition").press_sequentially(" and", delay=5)
    expect(page.locator("#live")).to_contain_text("Line 1, column")
    results["builder with an error"] = axe_violations(page)
    page.get_by_label("Condition").fill("stage == 'try'")
    page.get_by_role("button", name="Save segment").click()
    page.get_by_role("link", name="All segments").click()
    results["segment list"] = axe_violations(page)
    assert not any(results.values()), "axe-core violations:\n" + axe_report(results)
