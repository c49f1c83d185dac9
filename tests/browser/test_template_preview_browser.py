"""A marketer previews an email in a real browser: both sandboxed frames show it (the
sign-in reaches them), the phone frame needs no sideways scrolling, and the pages pass
axe-core."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from nurture.users import services
from tests.helpers import Site, axe_report, axe_violations

PASSWORD = "correct horse battery"


def _sign_in(page: Page, site: Site, path: str) -> None:
    with site.rt.db.transaction() as session:
        services.create_user(session, "mia@example.com", "Mia Marketer", "marketer", PASSWORD,
                             now=site.rt.clock.now())
    page.goto(f"{site.url}{path}")
    page.get_by_label("Email address").fill("mia@example.com")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def test_the_preview_shows_the_email_on_a_phone_and_a_desktop(site: Site, page: Page):
    _sign_in(page, site, "/templates/trial-welcome")
    expect(page.get_by_role("heading", name="trial-welcome")).to_be_visible()
    for where in ("phone", "desktop"):
        frame = page.frame_locator(f'iframe[title="trial-welcome on a {where}"]')
        expect(frame.get_by_text("Hi Ann,").first).to_be_visible()
    phone = page.locator('iframe[title="trial-welcome on a phone"]').element_handle() \
        .content_frame()
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= 375, f"the phone frame scrolls sideways: {width} px wide"
    page.get_by_role("link", name="Email templates").click()
    expect(page.get_by_role("link", name="prospect-case-study", exact=True)).to_be_visible()

def test_template_pages_pass_axe_core(site: Site, axe_page: Page):
    page, results = axe_page, {}
    _sign_in(page, site, "/templates")
    expect(page.get_by_role("heading", name="Email templates")).to_be_visible()
    results["template list"] = axe_violations(page)
    page.goto(f"{site.url}/templates/renewal-quote")
    expect(page.get_by_role("heading", name="renewal-quote")).to_be_visible()
    results["template preview"] = axe_violations(page)
    assert not any(results.values()), axe_report(results)
