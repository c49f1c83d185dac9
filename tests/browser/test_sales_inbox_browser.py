"""A rep in a real browser: signs in, finds the hand-off in the inbox, reads why, accepts
it; and axe-core's verdict on the sign-in, inbox and hand-off pages."""

from __future__ import annotations

from playwright.sync_api import Page, expect
from sqlalchemy import select

from nurture.events.bus import NewEvent
from nurture.events.services import record_many
from nurture.users import services
from scoring.models import Handoff
from tests.helpers import Site, axe_report, axe_violations, contact, run_due

PASSWORD = "correct horse battery"


def _setup(site: Site) -> int:
    rt = site.rt
    with rt.db.transaction() as session:
        services.create_user(session, "rita@sales.example", "Rita Rep", "sales", PASSWORD,
                             verticals=("retail",), now=rt.clock.now())
    cid = contact(rt, "ann@lee-retail.example", first_name="Ann", last_name="Lee",
                  company="Lee Retail", industry="retail", role="CTO", country="FR")
    record_many(rt, [NewEvent(cid, "demo.requested")])
    run_due(rt)
    return cid


def _sign_in(page: Page, site: Site) -> None:
    page.goto(f"{site.url}/sales")
    page.get_by_label("Email address").fill("rita@sales.example")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def test_a_rep_signs_in_reads_why_and_accepts_the_lead(site: Site, page: Page):
    cid = _setup(site)
    _sign_in(page, site)
    expect(page.get_by_role("heading", name="Sales inbox")).to_be_visible()
    page.get_by_role("link", name="Ann Lee").click()
    expect(page.get_by_text("Why now: Raised a hand: demo.requested.")).to_be_visible()
    expect(page.get_by_role("cell", name="Asked for a demo")).to_be_visible()
    page.get_by_role("button", name="Accept the lead").click()
    expect(page.get_by_role("status")).to_have_text("You accepted the lead. It is yours now.")
    with site.rt.db.sessions() as session:
        assert session.scalar(select(Handoff.status).where(Handoff.contact_id == cid)) == \
            "accepted"


def test_sales_pages_pass_axe_core(site: Site, axe_page: Page):
    _setup(site)
    page, results = axe_page, {}
    page.goto(f"{site.url}/login")
    results["sign-in page"] = axe_violations(page)
    _sign_in(page, site)
    expect(page.get_by_role("heading", name="Sales inbox")).to_be_visible()
    results["sales inbox"] = axe_violations(page)
    page.get_by_role("link", name="Ann Lee").click()
    results["hand-off"] = axe_violations(page)
    assert not any(results.values()), "axe-core violations:\n" + axe_report(results)
