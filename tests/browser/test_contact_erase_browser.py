"""A marketer in a real browser edits a contact, then erases it from its page after the
confirmation; axe-core finds nothing to fault on the contact page or the confirmation."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.helpers import (
    PASSWORD,
    Site,
    axe_report,
    axe_violations,
    marketer_and_four_contacts,
)


def test_a_contact_edited_then_erased_after_confirmation(site: Site, axe_page: Page):
    marketer_and_four_contacts(site)
    page = axe_page
    page.goto(f"{site.url}/contacts?email=ann@example.com")
    page.get_by_label("Email address").fill("mia@nurture.example")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Ann Lee <ann@example.com>")).to_be_visible()
    results = {"contact page": axe_violations(page)}

    page.get_by_label("Company", exact=True).fill("Lee Wholesale")
    page.get_by_role("button", name="Save the changes").click()
    expect(page.get_by_role("status")).to_contain_text("The changes were saved")
    trail = page.locator("table", has_text="Changes made by people")
    expect(trail.locator("tbody tr").first).to_contain_text("Lee Wholesale")
    expect(trail.locator("tbody tr").first).to_contain_text("mia@nurture.example")
    results["contact page with its audit trail"] = axe_violations(page)

    page.get_by_role("link", name="Erase this contact…").click()
    expect(page.get_by_role("heading", name="Erase ann@example.com?")).to_be_visible()
    results["erase confirmation"] = axe_violations(page)
    page.get_by_role("button", name="Erase the contact").click()  # not ticked yet
    expect(page.get_by_role("alert")).to_contain_text("Tick the box")
    page.get_by_label("Yes, erase ann@example.com").check()
    page.get_by_role("button", name="Erase the contact").click()
    expect(page.get_by_role("heading", name="Contact erased")).to_be_visible()

    page.goto(f"{site.url}/contacts")
    expect(page.get_by_role("status")).to_have_text("3 contacts match.")
    expect(page.get_by_role("link", name="ann@example.com")).to_have_count(0)
    assert not any(results.values()), "axe-core violations:\n" + axe_report(results)


def test_two_contacts_ticked_move_stage_after_a_confirmation_with_the_count(
        site: Site, axe_page: Page):
    marketer_and_four_contacts(site)
    page = axe_page
    page.goto(f"{site.url}/contacts?stage=try")
    page.get_by_label("Email address").fill("mia@nurture.example")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("status")).to_have_text("3 contacts match.")
    page.get_by_label("Select ann@example.com").check()
    page.get_by_label("Select dee@example.com").check()
    page.get_by_label("Action").select_option("stage")
    page.get_by_label("Move them to").select_option("buy")
    page.get_by_role("button", name="Count them and confirm…").click()
    expect(page.get_by_role("heading", name="Set the stage: 2 contacts")).to_be_visible()
    results = {"bulk confirmation": axe_violations(page)}
    page.get_by_role("button", name="Yes, set the stage: 2 contacts").click()
    expect(page.get_by_role("status")).to_contain_text("2 moved to the stage buy")
    page.goto(f"{site.url}/contacts?stage=buy")
    expect(page.get_by_role("status")).to_have_text("2 contacts match.")
    assert not any(results.values()), "axe-core violations:\n" + axe_report(results)
