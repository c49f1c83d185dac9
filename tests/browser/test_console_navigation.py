"""A marketer finds their way around the console in a real browser: the bar on every page,
followed by keyboard alone, fitting a phone's width; a styled page for an address with
nothing; the contact page no wider than a laptop's screen with long consent tokens; no
404 for the favicon; and axe-core finds nothing to fault."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from nurture.consent.records import Proof, request_opt_in
from nurture.contacts.models import Contact
from tests.helpers import (
    PASSWORD,
    Site,
    axe_report,
    axe_violations,
    contact,
    marketer_and_four_contacts,
)

# Like the demo's: a signed token in the address of the page where consent was given.
TOKEN = "eyJjIjo0MiwiZSI6ImFubkBleGFtcGxlLmNvbSIsInAiOiJjb25maXJtIn0." + "QmFzZTY0" * 30


def _long_consent_proof(site: Site) -> None:
    rt = site.rt
    cid = contact(rt, "ann@example.com")
    with rt.db.transaction() as session:
        request_opt_in(session, session.get(Contact, cid), Proof(
            "double_opt_in", page=f"{site.url}/confirm/{TOKEN}", ip="2001:db8::1",
            user_agent="Mozilla/5.0"), rt.clock.now())


def _sign_in(page: Page, site: Site) -> None:
    page.goto(f"{site.url}/login")
    page.get_by_label("Email address").fill("mia@nurture.example")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("navigation", name="Console")).to_be_visible()


def test_the_console_bar_by_keyboard_on_a_narrow_screen_and_the_contact_page_fits(
        site: Site, axe_page: Page):
    marketer_and_four_contacts(site)
    _long_consent_proof(site)
    page = axe_page
    missing: list[str] = []
    page.on("response", lambda r: missing.append(r.url) if r.status == 404 else None)
    page.set_viewport_size({"width": 1280, "height": 800})
    _sign_in(page, site)
    bar = page.get_by_role("navigation", name="Console")
    expect(bar.get_by_role("link", name="Home")).to_have_attribute("aria-current", "page")
    expect(bar.get_by_role("link", name="Referrals")).to_be_visible()
    results = {"home": axe_violations(page)}

    # Keyboard alone: the first Tab offers to skip the bar, and Enter does.
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to the page's content")).to_be_focused()
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
    page.keyboard.press("Tab")  # the next stop is in the page, past the bar
    assert page.evaluate("document.activeElement.closest('main') !== null")
    # Tab to the bar's Contacts link and follow it with Enter.
    page.reload()
    for _ in range(12):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.textContent") == "Contacts":
            break
    focused = page.evaluate("document.activeElement.closest('nav')?.getAttribute('aria-label')")
    assert focused == "Console", "Tab never reached the bar's Contacts link"
    page.keyboard.press("Enter")
    expect(page).to_have_url(f"{site.url}/contacts")
    expect(bar.get_by_role("link", name="Contacts")).to_have_attribute("aria-current", "page")
    results["contact list"] = axe_violations(page)

    # The contact page with a long consent token fits a 1280 px screen.
    page.get_by_role("link", name="ann@example.com").click()
    expect(page.get_by_role("cell", name=TOKEN[:20], exact=False)).to_be_visible()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 1280, f"the contact page is {width} px wide"
    results["contact page"] = axe_violations(page)

    # An address with nothing: the styled page, with the bar and a way back.
    page.goto(f"{site.url}/campaigns")
    expect(page.get_by_role("heading", name="Page not found")).to_be_visible()
    page.get_by_role("link", name="Go to your start page").click()
    expect(page).to_have_url(f"{site.url}/")
    page.goto(f"{site.url}/campaigns")
    results["404 page"] = axe_violations(page)

    # A phone: the bar wraps instead of running off the screen.
    page.set_viewport_size({"width": 360, "height": 740})
    page.goto(f"{site.url}/referrals")
    box = bar.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 360
    assert page.evaluate("(n => n.scrollWidth <= n.clientWidth)"
                         "(document.querySelector('nav.console-nav'))")
    expect(bar.get_by_role("link", name="Inbound")).to_be_in_viewport()
    results["referrals, narrow"] = axe_violations(page)

    assert [url for url in missing if not url.endswith("/campaigns")] == [], missing
    assert not any(results.values()), "axe-core violations:\n" + axe_report(results)
