"""A referral in a real browser: a friend follows a customer's share link, lands on the
trial page, signs up, converts, and the referrer's reward is pending; axe-core checks the
one-sheet page."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from nurture.contacts.models import Contact
from nurture.trials import lifecycle
from referral.models import Referral, Reward
from referral.rules import MONEY_KINDS
from tests.helpers import AXE, Site, contact, event, get_contact, run_due

pytestmark = pytest.mark.browser


def _code(site: Site) -> str:
    ann = contact(site.rt, "ann@lee-retail.example", first_name="Ann")
    event(site.rt, ann, "purchase.completed", amount=1200)
    return get_contact(site.rt, ann).attributes["referral"]["code"]


def _fill(page: Page) -> None:
    for label, value in {"First name": "Bob", "Last name": "Stone",
                         "Work email": "bob@bob-bikes.example", "Company name": "Bob Bikes",
                         "Street address": "2 Low Road", "Town or city": "Leeds",
                         "Postcode or ZIP code": "LS1 1AA", "Full name": "Tia Tech",
                         "Email": "tia@bob-bikes.example", "Seats": "3"}.items():
        page.get_by_label(label, exact=True).fill(value)
    page.get_by_label("Industry", exact=True).select_option("retail")
    page.get_by_label("Country where your company is based").select_option("GB")
    page.get_by_label("Country", exact=True).select_option("GB")
    page.get_by_label("CRM", exact=True).check()


def test_share_link_to_landing_page_to_sign_up_to_conversion_leaves_a_pending_reward(
        site: Site, page: Page):
    rt = site.rt
    code = _code(site)
    page.goto(f"{site.url}/r/{code}")
    assert "/l/trial" in page.url and f"ref={code}" in page.url
    cookie = next(c for c in page.context.cookies() if c["name"] == "nurture_ref")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax"
    _fill(page)
    page.get_by_role("button", name="Start my free trial").click()
    # No trial journey is published here, so no welcome is queued and none is claimed.
    expect(page.get_by_role("heading", level=1)).to_have_text("Your trial has started")

    with rt.db.sessions() as session:
        bob = session.scalar(select(Contact).where(Contact.email_key == "bob@bob-bikes.example"))
        [referral] = session.scalars(select(Referral)).all()
        token = lifecycle.conversion_token(rt.tokens, bob.id, bob.email_key, referral.trial_id)
    assert (referral.friend_id, referral.review) == (bob.id, "")

    page.goto(f"{site.url}/trial/{token}/convert")
    page.get_by_label("Keep the trial's data and settings").check()
    page.get_by_label("I understand this choice cannot be changed.").check()
    page.get_by_role("button", name="Confirm my choice").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Thank you, your choice is recorded")
    run_due(rt)

    with rt.db.sessions() as session:
        assert session.get(Referral, referral.id).status == "converted"
        owed = [(r.beneficiary, r.status, r.amount_cents)
                for r in session.scalars(select(Reward).order_by(Reward.id))
                if r.kind in MONEY_KINDS]  # the thank-you and gifts: tests/referral
    assert owed == [("referrer", "pending", 5000), ("friend", "pending", 2500)]


def test_the_one_sheet_passes_axe(site: Site, axe_page: Page):
    code = _code(site)
    axe_page.goto(f"{site.url}/r/{code}/one-sheet")
    expect(axe_page.get_by_role("heading", level=1)).to_have_text("Who we help, on one page")
    axe_page.add_script_tag(path=str(AXE))
    violations = axe_page.evaluate("""async () => {
        const result = await axe.run(document, {resultTypes: ["violations"]});
        return result.violations.map(v => `${v.id}: ${v.help} ${v.nodes.map(n => n.html)}`);
    }""")
    assert violations == []
