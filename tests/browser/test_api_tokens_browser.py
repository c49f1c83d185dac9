"""A marketer makes an API token in a real browser: it is shown once, works with the API,
shows its last use in the list, and is revoked with one button; axe-core finds nothing to
fault on the page."""

from __future__ import annotations

import urllib.request

from playwright.sync_api import Page, expect

from tests.helpers import PASSWORD, Site, axe_report, axe_violations, marketer_and_four_contacts


def _score(site: Site, secret: str) -> int:
    request = urllib.request.Request(f"{site.url}/api/scores?email=ann@example.com",
                                     headers={"Authorization": f"Bearer {secret}"})
    try:
        with urllib.request.urlopen(request) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def test_a_marketer_makes_uses_and_revokes_a_token(site: Site, axe_page: Page):
    marketer_and_four_contacts(site)
    page = axe_page
    page.goto(f"{site.url}/login")
    page.get_by_label("Email address").fill("mia@nurture.example")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.goto(f"{site.url}/account")
    page.get_by_role("link", name="API tokens").click()
    results = {"empty": axe_violations(page)}

    page.get_by_label("Name (what uses it)").fill("CRM sync")
    page.get_by_label("Scope").select_option("read")
    page.get_by_role("button", name="Create token").click()
    secret = page.get_by_label("Your new token").input_value()
    assert secret.startswith("nt_")
    results["created"] = axe_violations(page)
    assert _score(site, secret) == 200

    page.goto(f"{site.url}/account/tokens")
    expect(page.get_by_label("Your new token")).to_have_count(0)
    row = page.get_by_role("row", name="CRM sync")
    expect(row).to_contain_text("active")
    expect(row).to_contain_text(f"{site.rt.clock.now():%Y-%m-%d %H:%M}")  # its last use
    page.get_by_role("button", name="Revoke token CRM sync").click()
    expect(page.get_by_role("status")).to_contain_text("is revoked")
    expect(page.get_by_role("row", name="CRM sync")).to_contain_text("revoked")
    assert _score(site, secret) == 401
    assert not any(results.values()), axe_report(results)
