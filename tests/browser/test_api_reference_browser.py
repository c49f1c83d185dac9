"""The API reference in a real browser: Redoc, from our own files, draws every call of
`/api/openapi.json` under the page's own Content-Security-Policy, with no request to any
other host and nothing it needs refused by the policy (its search runs in a blob: worker,
which the app's own policy would refuse)."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.helpers import Site

# Redoc's sidebar shows Redocly's logo from their CDN; the page's policy refuses it (so no
# reader's browser asks that host for anything) and Redoc hides the image. Expected.
REDOCLY_LOGO = "https://cdn.redoc.ly/redoc/logo-mini.svg"


def test_the_reference_draws_every_call_under_its_policy(site: Site, page: Page):
    refused, elsewhere = [], []
    page.on("console", lambda message: refused.append(message.text)
            if "Content Security Policy" in message.text else None)
    page.on("requestfinished", lambda request: elsewhere.append(request.url)
            if not request.url.startswith((site.url, "blob:", "data:")) else None)
    page.goto(f"{site.url}/api/docs")
    expect(page.get_by_role("heading", name="Nurture API", level=1)).to_be_visible()
    for summary in ("Record an event about a contact", "Bounces and complaints"):
        expect(page.get_by_text(summary, exact=False).first).to_be_attached()
    expect(page.get_by_text("Deprecated").first).to_be_attached()
    page.get_by_placeholder("Search...").fill("bounce")  # the search runs in a blob: worker
    expect(page.get_by_role("search").get_by_role("menuitem").first).to_be_visible()
    assert [text for text in refused if REDOCLY_LOGO not in text] == [], refused
    assert elsewhere == [], elsewhere
