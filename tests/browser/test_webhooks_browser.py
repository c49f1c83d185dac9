"""A marketer in a real browser adds a webhook endpoint, copies its secret, rotates it and
disables the endpoint; axe-core's verdict on the list and the endpoint's page."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.helpers import PASSWORD, Site, axe_report, axe_violations, marketer_and_four_contacts


def test_an_endpoint_is_added_rotated_and_disabled_with_pages_that_pass_axe(
        site: Site, axe_page: Page):
    marketer_and_four_contacts(site)
    page, results = axe_page, {}
    page.goto(f"{site.url}/webhooks")
    page.get_by_label("Email address").fill("mia@nurture.example")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Webhooks", exact=True)).to_be_visible()
    results["the list"] = axe_violations(page)
    page.get_by_label("URL", exact=True).fill("https://crm.example.com/hooks")
    page.get_by_label("Event types").fill("demo.*\ncontact.created")
    page.get_by_label("Description").fill("Our CRM")
    page.get_by_role("button", name="Add the endpoint").click()
    expect(page.get_by_role("status").first).to_have_text("The endpoint was added.")
    secret = page.locator("code", has_text="whsec_")
    expect(secret).to_be_visible()
    first = secret.inner_text()
    results["an endpoint"] = axe_violations(page)
    page.get_by_role("button", name="Rotate the secret").click()
    expect(page.get_by_text("The previous secret signs too until")).to_be_visible()
    assert page.locator("code", has_text="whsec_").inner_text() != first
    page.get_by_role("button", name="Disable").click()
    expect(page.get_by_text("Disabled: Disabled by a user.")).to_be_visible()
    page.get_by_role("link", name="All webhooks").click()
    expect(page.get_by_role("row", name="https://crm.example.com/hooks")).to_contain_text(
        "disabled")
    assert not any(results.values()), axe_report(results)
