"""A marketer in a real browser creates a broadcast with an A/B test, watches its sample go
to the SMTP sink, sends the winner to the rest, cancels it midway, and reads the exact
number never sent; tests a subject line and watches skips by reason arrive live; axe-core's
verdict on each broadcast page on the way."""

from __future__ import annotations

import mailbox
from email import message_from_bytes, policy

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from nurture.broadcasts.models import WAITING
from nurture.consent.records import suppress
from nurture.sending.models import Send
from nurture.sending.services import deliver
from nurture.sending.sink import Faults, SinkThread, SMTPSink, Store
from tests.helpers import (
    Site,
    axe_report,
    axe_violations,
    marketer_and_four_contacts,
    run_due,
    sign_in_at,
)
from tests.nurture.broadcasts.conftest import TEMPLATE_A, TEMPLATE_B, audience


@pytest.fixture
def sink(tmp_path):
    running = SinkThread(SMTPSink(port=0, store=Store(maildir=tmp_path / "sink"),
                                  faults=Faults.parse([])))
    yield running
    running.stop()


@pytest.fixture
def settings(settings, sink):
    """The site's mail goes to the sink over SMTP."""
    return settings.with_(smtp_url=f"smtp://127.0.0.1:{sink.port}")




def _sends(site: Site, *statuses: str) -> list[int]:
    with site.rt.db.sessions() as session:
        return list(session.scalars(select(Send.id).where(Send.broadcast_id.is_not(None),
                                                          Send.status.in_(statuses))
                                    .order_by(Send.id)))


def test_an_ab_broadcast_goes_to_the_sink_and_a_cancel_midway_says_what_never_went(
        site: Site, axe_page: Page, sink: SinkThread):
    marketer_and_four_contacts(site)
    audience(site.rt, 40, name="Readers")
    page, results = axe_page, {}
    sign_in_at(page, site, "/broadcasts/new")
    expect(page.get_by_role("heading", name="New broadcast")).to_be_visible()
    results["new broadcast form"] = axe_violations(page)
    page.get_by_label("Name", exact=True).fill("Spring news")
    page.get_by_label("List", exact=True).select_option("Readers")
    page.get_by_label("Email template").select_option(TEMPLATE_A)
    page.get_by_label("Arm B's template").select_option(TEMPLATE_B)
    page.get_by_label("Sample").fill("50")
    page.get_by_role("button", name="Create and schedule").click()
    expect(page.get_by_role("status").first).to_have_text(
        "The broadcast 'Spring news' was created.")
    expect(page.get_by_text("40 recipients")).to_be_visible()
    sample = len(_sends(site, "queued"))
    run_due(site.rt)  # the scheduler and the workers: the sample goes out
    assert sink.stats.recipients == sample
    expect(page.locator('[data-field="sent"]')).to_have_text(str(sample))  # polled
    expect(page.get_by_role("columnheader", name="Probability best")).to_be_visible()
    results["broadcast under test"] = axe_violations(page)
    page.get_by_role("button", name="Send the winner now").click()
    expect(page.get_by_role("status").first).to_contain_text("goes to the rest")
    rest = _sends(site, "queued")
    assert len(rest) == 40 - sample and not _sends(site, WAITING)
    deliver(site.rt, site.rt.mailroom(), rest[:5])  # a worker is midway through the rest
    page.get_by_role("button", name="Cancel the broadcast").click()
    never = 40 - sample - 5
    expect(page.get_by_role("status").first).to_have_text(
        f"The broadcast was cancelled: {never} sends will never be sent.")
    expect(page.locator("#never-sent")).to_contain_text(f"{never} emails were never sent.")
    expect(page.locator('[data-field="cancelled"]')).to_have_text(str(never))
    run_due(site.rt)
    assert sink.stats.recipients == sample + 5  # nothing cancelled went
    results["cancelled broadcast"] = axe_violations(page)
    page.get_by_role("link", name="All broadcasts").click()
    expect(page.get_by_role("link", name="Spring news")).to_be_visible()
    results["broadcast list"] = axe_violations(page)
    assert not any(results.values()), "axe-core violations:\n" + axe_report(results)


def test_a_subject_line_test_reaches_the_sink_and_skips_by_reason_arrive_live(
        site: Site, axe_page: Page, sink: SinkThread, tmp_path):
    marketer_and_four_contacts(site)
    audience(site.rt, 10, name="Readers")
    page, results = axe_page, {}
    sign_in_at(page, site, "/broadcasts/new")
    page.get_by_label("Name", exact=True).fill("Subject test")
    page.get_by_label("List", exact=True).select_option("Readers")
    page.get_by_label("Email template").select_option(TEMPLATE_A)
    line = "{{ contact.first_name }}, three weeks to new tools"
    page.get_by_label("Arm B's subject line").fill(line)
    page.get_by_label("Sample").fill("100")
    page.get_by_role("button", name="Create and schedule").click()
    expect(page.get_by_role("status").first).to_have_text(
        "The broadcast 'Subject test' was created.")
    expect(page.get_by_role("cell", name=line)).to_be_visible()
    reasons = page.locator("#progress-reasons")
    expect(reasons).to_be_hidden()  # no skip yet
    with site.rt.db.transaction() as session:  # a complaint comes in before the mail goes
        suppress(session, "reader0@example.com", "complaint", "", "test",
                 site.rt.clock.now())
    run_due(site.rt)
    expect(page.locator('[data-field="sent"]')).to_have_text("9")  # polled
    expect(reasons).to_be_visible()  # the poll filled it, no reload
    expect(reasons.get_by_role("cell", name="skipped: ")).to_have_count(1)
    subjects = {str(message_from_bytes(kept.as_bytes(), policy=policy.default)["Subject"])
                for kept in mailbox.Maildir(tmp_path / "sink", create=False)}
    own = "How a 40-person firm moved its everyday tools in three weeks"
    personal = subjects - {own}  # arm B's line, with each reader's name
    assert own in subjects and personal
    assert personal <= {f"Reader{i}, three weeks to new tools" for i in range(10)}
    results["broadcast testing subject lines"] = axe_violations(page)
    assert not any(results.values()), "axe-core violations:\n" + axe_report(results)
