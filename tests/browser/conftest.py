"""Browser fixtures: the real app served on a free local port, Chromium driven by Playwright,
and axe-core for accessibility checks.

Chromium comes from Debian (`/usr/bin/chromium`, never `playwright install`) and axe-core
from npm (`node_modules/axe-core`); `.ci/run` installs both. Without them these tests skip,
or fail when NURTURE_REQUIRE_SERVICES is set.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright
from werkzeug.serving import make_server

from nurture.app.composition import build
from tests.helpers import AXE, TEST_POLL_MS, Site, clean
from web import create_app

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
# A person's browser: "HeadlessChrome" is on the list of link scanners (sending/tracking.py),
# whose clicks are not answers.
PERSON = ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
          "Chrome/124.0 Safari/537.36")
TIMEOUT_MS = 10_000


def missing(message: str) -> None:
    """Skip locally; fail in CI, where a missing tool must not pass as a skipped test."""
    if os.environ.get("NURTURE_REQUIRE_SERVICES"):
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    if not CHROMIUM.exists():
        missing(f"Chromium is not installed at {CHROMIUM} (apt-get install chromium).")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                              args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def site(settings, clock) -> Iterator[Site]:
    """A runtime whose links point at a werkzeug server on 127.0.0.1 that serves its app."""
    server = make_server("127.0.0.1", 0, app=None, threaded=True)  # the app comes next
    url = f"http://127.0.0.1:{server.server_port}"
    rt = build(settings.with_(base_url=url), clock=clock)
    clean(rt.db)
    rt.transport.start_worker(4, poll_ms=TEST_POLL_MS)
    server.app = create_app(rt)
    thread = threading.Thread(target=server.serve_forever, name="browser-site", daemon=True)
    thread.start()
    yield Site(rt, url)
    server.shutdown()
    server.server_close()
    thread.join(5)
    if not rt.transport.in_process:
        rt.transport.broker.flush_all()
    rt.close()


def _page(browser, **options):
    context = browser.new_context(user_agent=PERSON, locale="en-GB", **options)
    context.set_default_timeout(TIMEOUT_MS)
    return context, context.new_page()


@pytest.fixture
def page(browser):
    context, page = _page(browser)
    yield page
    context.close()


@pytest.fixture
def axe_page(browser):
    """A page that can run axe-core. The injected script is inline, which the app's
    Content-Security-Policy rightly refuses, so this context bypasses CSP."""
    if not AXE.is_file():
        missing(f"axe-core is not installed at {AXE} "
                "(npm install --no-save --no-audit --no-fund axe-core@4).")
    context, page = _page(browser, bypass_csp=True)
    yield page
    context.close()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test in this folder drives Chromium: `-m "not browser"` leaves them all out."""
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.path).parents:
            item.add_marker(pytest.mark.browser)
