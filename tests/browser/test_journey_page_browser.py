"""A marketer in a real browser opens the journeys, reads a journey's diagram with its live
counts after real sends to the SMTP sink, follows a step to the contacts at it, and ends a
split's test with its winner; axe-core's verdict on each page on the way."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from nurture.sending.sink import Faults, SinkThread, SMTPSink, Store
from tests.helpers import (
    Site,
    axe_report,
    axe_violations,
    contact,
    event,
    marketer_and_four_contacts,
    publish_text,
    run_due,
    sign_in_at,
)
from tests.journeys.test_split_winner import JOURNEY as SPLIT
from tests.journeys.test_split_winner import _arms
from tests.web.test_journeys_console import JOURNEY


@pytest.fixture
def sink():
    running = SinkThread(SMTPSink(port=0, store=Store(), faults=Faults.parse([])))
    yield running
    running.stop()


@pytest.fixture
def settings(settings, sink):
    """The site's mail goes to the sink over SMTP."""
    return settings.with_(smtp_url=f"smtp://127.0.0.1:{sink.port}")




def test_a_journeys_diagram_counts_real_sends_and_a_splits_winner_is_applied(
        site: Site, axe_page: Page, sink: SinkThread):
    marketer_and_four_contacts(site)
    rt = site.rt
    publish_text(rt, JOURNEY)
    for i in range(3):
        event(rt, contact(rt, f"w{i}@example.com"), "contact.created")
    run_due(rt)
    assert sink.stats.recipients == 3  # the welcome, for real
    page, results = axe_page, {}
    sign_in_at(page, site, "/journeys")
    expect(page.get_by_role("heading", name="Journeys", exact=True)).to_be_visible()
    expect(page.get_by_role("img", name="Emails sent a day by welcome")).to_be_visible()
    results["journey list"] = axe_violations(page)
    page.get_by_role("link", name="Welcome").click()
    diagram = page.get_by_role("group", name="Diagram with live counts")
    expect(diagram.locator("svg")).to_be_visible()
    expect(diagram).to_contain_text("entered 3 · waiting 3 · done 0")  # at the wait
    expect(diagram).to_contain_text("sent 3 · opened 0 · clicked 0")
    counts = page.locator('#step-counts tr[data-step="pause"] td')
    expect(counts.nth(1)).to_have_text("3")  # waiting there now
    results["journey page"] = axe_violations(page)
    diagram.locator('g[data-id="pause"] a').click()
    expect(page.get_by_role("heading", name="At the step pause")).to_be_visible()
    expect(page.get_by_role("link", name="w0@example.com")).to_be_visible()
    results["contacts at a step"] = axe_violations(page)

    publish_text(rt, SPLIT)
    _arms(rt, (250, 100), (250, 50))
    page.goto(f"{site.url}/journeys/angles")
    expect(page.locator("#split-ab")).to_contain_text("a wins")
    results["split under test"] = axe_violations(page)
    page.get_by_label("Publish a new version that sends everyone reaching ab to a").check()
    page.get_by_role("button", name="End the test and send everyone to the winner").click()
    expect(page.get_by_role("status").first).to_contain_text("Version 2 is published")
    expect(page.locator("#split-ab")).to_contain_text("The test was ended: everyone goes to a.")
    expect(page.locator("#versions")).to_contain_text("Ended the test at ab")
    results["split ended"] = axe_violations(page)
    assert not any(results.values()), "axe-core violations:\n" + axe_report(results)
