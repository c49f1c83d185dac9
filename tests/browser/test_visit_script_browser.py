"""The tracking script on a customer's own site: a tiny page served by http.server on
another origin includes Nurture's `/t.js`, as docs/visits.md tells customers to."""

from __future__ import annotations

import functools
import http.server
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from tests.helpers import contact, events, free_port, wait_for

CUSTOMER_PORT = free_port()
CUSTOMER = f"http://localhost:{CUSTOMER_PORT}"  # another origin than Nurture's 127.0.0.1


@pytest.fixture
def settings(settings):
    return settings.with_(web=replace(settings.web, visit_origins=(CUSTOMER,)))


@pytest.fixture
def customer_site(site, tmp_path: Path) -> Iterator[str]:
    """The customer's pages, each with the snippet of docs/visits.md."""
    for name, title in (("pricing.html", "Pricing"), ("about.html", "About us")):
        (tmp_path / name).write_text(
            f"<!doctype html><html lang=en><title>{title}</title><h1>{title}</h1>"
            f'<script src="{site.url}/t.js" async></script>', encoding="utf-8")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", CUSTOMER_PORT), handler)
    thread = threading.Thread(target=server.serve_forever, name="customer-site", daemon=True)
    thread.start()
    yield CUSTOMER
    server.shutdown()
    server.server_close()
    thread.join(5)


def test_the_script_keeps_the_visitor_in_a_first_party_cookie_and_reports_visits(
        site, customer_site, page):
    rt = site.rt
    cid = contact(rt, "ann@example.com", consent_marketing=True)
    token = rt.tokens.sign("visitor", cid)
    page.goto(f"{customer_site}/pricing.html?plan=team&nv={token}")
    wait_for(lambda: len(events(rt, "page.visited")) == 1, 10)
    assert page.url == f"{customer_site}/pricing.html?plan=team"  # the id is taken off
    [cookie] = [c for c in page.context.cookies() if c["name"] == "nurture_nv"]
    assert cookie["domain"] == "localhost" and cookie["sameSite"] == "Lax"
    assert cookie["expires"] > time.time() + 360 * 86400
    # The next page has no id in its address: the cookie of the customer's site names them.
    page.goto(f"{customer_site}/about.html")
    wait_for(lambda: len(events(rt, "page.visited")) == 2, 10)
    first, second = sorted(events(rt, "page.visited"), key=lambda e: e.id)
    assert first.contact_id == second.contact_id == cid
    assert first.properties["url"] == f"{customer_site}/pricing.html?plan=team"
    assert first.properties["title"] == "Pricing"
    assert second.properties["path"] == "/about.html"
    assert second.properties["referrer"] == ""  # typed, not followed


def test_a_browser_that_asks_not_to_be_tracked_keeps_and_sends_nothing(
        site, customer_site, browser):
    rt = site.rt
    cid = contact(rt, "ann@example.com", consent_marketing=True)
    context = browser.new_context(extra_http_headers={"Sec-GPC": "1"})
    page = context.new_page()
    page.add_init_script("Object.defineProperty(navigator, 'globalPrivacyControl', "
                         "{get: () => true})")
    page.goto(f"{customer_site}/pricing.html?nv={rt.tokens.sign('visitor', cid)}")
    page.wait_for_function("!location.search.includes('nv=')")
    page.wait_for_timeout(500)  # what a report would have taken
    assert page.url == f"{customer_site}/pricing.html"
    assert not [c for c in context.cookies() if c["name"] == "nurture_nv"]
    assert events(rt, "page.visited") == []
    context.close()
