"""What people see in a real browser: a prospect signing up and following the links in the
welcome emails, a mistyped form, a customer answering the NPS survey, a subscriber
unsubscribing, and axe-core's verdict on the public pages. Chromium drives the real app over
HTTP; the scheduler and worker deliver the emails to the file outbox in between."""

from __future__ import annotations

import email
import email.policy
import html
import re
from datetime import timedelta

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import func, select

from journeys.loader import load_file
from journeys.services import backfill, publish
from nurture.app.runtime import Runtime
from nurture.config import PROJECT_ROOT
from nurture.contacts.models import Contact
from nurture.nps.models import NPSResponse
from tests.helpers import (
    Site,
    advance_clock,
    axe_report,
    axe_violations,
    contact,
    event,
    get_contact,
    outbox,
    publish_text,
    run_due,
    sends,
)

pytestmark = pytest.mark.browser

LIBRARY = PROJECT_ROOT / "journeys" / "library"
NEWS = """
    id: news
    name: News
    entry: {event: custom.joined}
    steps:
      - {id: tips, send: prospect-case-study}
      - {id: pause, wait: 2d}
      - {id: more, send: quarterly-needs-assessment}
"""
SEATS_ERROR = "Seats must be a whole number from 1 to 20."
EMAIL_ERROR = "Enter an email address in the correct format, like name@company.com."


# ---- helpers ----------------------------------------------------------------------------

def _publish(rt: Runtime, name: str) -> None:
    """A shipped journey, entered by the contacts it already matches (for `when:` entries)."""
    loaded = load_file(LIBRARY / f"{name}.yaml")
    assert not loaded.violations, loaded.violations
    with rt.db.transaction() as session:
        publish(session, loaded)
        backfill(session, rt.versions, loaded.journey.id, rt.clock.now())


def _to(rt: Runtime, address: str) -> list[email.message.EmailMessage]:
    return [m for m in outbox(rt) if m["To"] == address]


def _links(message: email.message.EmailMessage, prefix: str) -> list[str]:
    """The links of the HTML part that start with `prefix`, in order."""
    body = message.get_body(("html",)).get_content()
    return [html.unescape(href) for href in re.findall(r'href="([^"]+)"', body)
            if html.unescape(href).startswith(prefix)]


def _button_link(message: email.message.EmailMessage, text: str) -> str:
    body = message.get_body(("html",)).get_content()
    match = re.search(r'<a\s[^>]*href="([^"]+)"[^>]*>\s*' + re.escape(text), body)
    assert match, f"no link {text!r} in {message['Subject']!r}"
    return html.unescape(match.group(1))


def _heading(page: Page):
    return page.get_by_role("heading", level=1)


def _fill_sign_up(page: Page, **changes: str) -> None:
    """Fill the trial form as a person would, by label; `changes` overrides text fields."""
    values = {"First name": "Ann", "Last name": "Lee", "Work email": "ann@example.com",
              "Phone (optional)": "+44 20 7946 0000", "Job title (optional)": "IT manager",
              "Company name": "Lee Retail", "Street address": "1 High Street",
              "Town or city": "London", "Postcode or ZIP code": "SW1A 1AA",
              "Full name": "Tom Tech", "Email": "tom@example.com", "Seats": "5", **changes}
    for label, value in values.items():
        page.get_by_label(label, exact=True).fill(value)
    page.get_by_label("Industry", exact=True).select_option("retail")
    page.get_by_label("Country where your company is based").select_option("GB")
    page.get_by_label("Country", exact=True).select_option("GB")
    for service in ("CRM", "Analytics"):
        page.get_by_label(service, exact=True).check()


def _submit(page: Page) -> None:
    page.get_by_role("button", name="Start my free trial").click()


def _error_beside(page: Page, field_id: str):
    """The error sentence in the same form field as the control `field_id`."""
    return page.locator(".field", has=page.locator(f"#{field_id}")).locator(".field-error")


def _count(rt: Runtime, model) -> int:
    with rt.db.sessions() as session:
        return session.scalar(select(func.count()).select_from(model))


# ---- flows ------------------------------------------------------------------------------

def test_a_prospect_signs_up_and_both_welcome_emails_lead_to_each_services_sign_in(
        site: Site, page: Page):
    rt = site.rt
    _publish(rt, "trial-nurture")
    page.goto(f"{site.url}/l/trial")
    expect(_heading(page)).to_have_text("Try Nurture free for 30 days")
    _fill_sign_up(page)
    consent = page.get_by_label("Send me news, guides and offers by email.")
    expect(consent).not_to_be_checked()
    _submit(page)

    expect(page).to_have_url(f"{site.url}/l/trial/thanks")
    expect(_heading(page)).to_have_text("Your trial has started: check your inbox")
    expect(page.get_by_role("status")).to_contain_text("ann@example.com")
    expect(page.get_by_role("main")).to_contain_text(
        "Your technical contact, tom@example.com, got the same instructions")
    expect(page.get_by_role("main")).to_contain_text("Your trial ends on 1 April 2026")
    expect(page.get_by_role("main")).not_to_contain_text("confirm that first")  # no consent

    run_due(rt)
    welcome = {m["To"]: m for m in outbox(rt)}
    assert set(welcome) == {"ann@example.com", "tom@example.com"}, "only the two welcomes"
    # Each chosen service's own sign-in, from the catalogue: never the staff console.
    chosen = {s.name: s.signin for s in rt.settings.services if s.id in ("crm", "analytics")}
    assert set(chosen) == {"CRM", "Analytics"}
    tags = "utm_source=nurture&utm_medium=email&utm_campaign=trial-nurture"
    for message in welcome.values():
        assert "trial is ready" in message["Subject"]
        for name, signin in chosen.items():
            link = _button_link(message, name)
            if link.startswith(f"{site.url}/t/"):  # a tracked link: a redirect to the service
                hop = page.request.get(link, max_redirects=0)
                assert hop.status == 302
                target = hop.headers["location"]
            else:
                target = link
            assert target.startswith(signin) and tags in target, target
        assert not _links(message, f"{site.url}/login"), "no link to the staff console"


def test_a_wrong_email_and_too_many_seats_are_explained_beside_the_fields(site: Site,
                                                                        page: Page):
    page.goto(f"{site.url}/l/trial")
    _fill_sign_up(page, **{"Work email": "ann@", "Seats": "25"})
    _submit(page)

    expect(page).to_have_title(re.compile(r"^Error: "))
    summary = page.get_by_role("alert")
    expect(summary).to_contain_text("There is a problem")
    expect(summary).to_be_focused()  # keyboard and screen-reader users land on the list
    expect(summary.get_by_role("link")).to_have_text([EMAIL_ERROR, SEATS_ERROR])
    expect(_error_beside(page, "email")).to_have_text(f"Error: {EMAIL_ERROR}")
    expect(_error_beside(page, "seats")).to_have_text(f"Error: {SEATS_ERROR}")
    expect(page.locator(".field-error")).to_have_count(2)
    email_box, seats_box = (page.get_by_label("Work email"),
                            page.get_by_label("Seats", exact=True))
    expect(email_box).to_have_attribute("aria-invalid", "true")
    expect(email_box).to_have_accessible_description(re.compile(re.escape(EMAIL_ERROR)))
    expect(seats_box).to_have_accessible_description(re.compile(re.escape(SEATS_ERROR)))

    # What was typed stays, right or wrong.
    expect(email_box).to_have_value("ann@")
    expect(seats_box).to_have_value("25")
    expect(page.get_by_label("First name")).to_have_value("Ann")
    expect(page.get_by_label("Email", exact=True)).to_have_value("tom@example.com")
    expect(page.get_by_label("Country", exact=True)).to_have_value("GB")
    expect(page.get_by_label("CRM", exact=True)).to_be_checked()
    expect(page.get_by_label("Email campaigns", exact=True)).not_to_be_checked()
    assert _count(site.rt, Contact) == 0


def test_a_customer_scores_9_from_the_survey_email_and_says_why(site: Site, page: Page):
    rt = site.rt
    cid = contact(rt, "ann@example.com", first_name="Ann", company="Harbour Outdoor",
                  industry="retail", stage="adopt", consent_marketing=True)
    _publish(rt, "nps-survey")
    run_due(rt)
    [survey] = _to(rt, "ann@example.com")
    scores = _links(survey, f"{site.url}/nps/")
    assert len(scores) == 11, "one link per score, 0 to 10"
    rt.clock.advance(timedelta(minutes=5))  # a reader, not a link scanner at delivery

    page.goto(scores[9])
    expect(_heading(page)).to_have_text("Thank you, we have your score")
    expect(page.get_by_role("status")).to_have_text("We recorded 9 out of 10.")
    expect(page.get_by_role("radio", name="9", exact=True)).to_be_checked()
    [answer] = _answers(rt)
    assert (answer.contact_id, answer.score, answer.reason) == (cid, 9, "")

    reason = "Setting up journeys was quick, and the reports are clear."
    page.get_by_label("What is the main reason for your score?").fill(reason)
    page.get_by_role("button", name="Send my answer").click()
    expect(_heading(page)).to_have_text("Thank you for your answer")
    expect(page.get_by_role("status")).to_have_text("Your score: 9 out of 10.")
    expect(page.locator("blockquote")).to_have_text(reason)
    [answer] = _answers(rt)
    assert (answer.contact_id, answer.score, answer.category, answer.reason) == (
        cid, 9, "promoter", reason)


def _answers(rt: Runtime) -> list[NPSResponse]:
    with rt.db.sessions() as session:
        return list(session.scalars(select(NPSResponse)))


def test_one_click_unsubscribe_skips_the_next_marketing_email_and_the_page_only_asks(
        site: Site, page: Page):
    rt = site.rt
    publish_text(rt, NEWS)
    cid = contact(rt, "ann@example.com", first_name="Ann", consent_marketing=True)
    event(rt, cid, "custom.joined")
    [first] = outbox(rt)
    url = first["List-Unsubscribe"].split(",")[0].strip(" <>")
    assert url.startswith(f"{site.url}/u/")

    # Opening the link (as a person, or a scanner following it) asks; it changes nothing.
    page.goto(url)
    expect(_heading(page)).to_have_text("Unsubscribe ann@example.com?")
    expect(page.get_by_role("button", name="Unsubscribe")).to_be_visible()
    assert get_contact(rt, cid).consent_marketing is True

    # RFC 8058: the mail provider's one-click POST.
    done = page.request.post(url, form={"List-Unsubscribe": "One-Click"})
    assert (done.status, done.text()) == (200, "Unsubscribed.")
    assert get_contact(rt, cid).consent_marketing is False

    advance_clock(rt, timedelta(days=3), step=timedelta(hours=6))
    assert [m["Subject"] for m in outbox(rt)] == [first["Subject"]]
    outcome = {s.step_id: (s.status, s.reason) for s in sends(rt, cid)}
    assert outcome["tips"][0] == "sent"
    assert outcome["more"][0] == "skipped" and "unsubscribed" in outcome["more"][1]


def test_public_pages_pass_axe_core(site: Site, axe_page: Page):
    rt, page, results = site.rt, axe_page, {}
    _publish(rt, "trial-nurture")
    page.goto(f"{site.url}/l/trial")
    results["landing page"] = axe_violations(page)

    _fill_sign_up(page, **{"Work email": "ann@", "Seats": "25"})
    _submit(page)
    expect(page.get_by_role("alert")).to_contain_text("There is a problem")
    results["sign-up form with errors"] = axe_violations(page)

    page.get_by_label("Work email").fill("ann@example.com")
    page.get_by_label("Seats", exact=True).fill("5")
    _submit(page)
    expect(_heading(page)).to_have_text("Your trial has started: check your inbox")
    results["sign-up confirmation"] = axe_violations(page)

    contact(rt, "carol@example.com", first_name="Carol", stage="adopt", consent_marketing=True)
    _publish(rt, "nps-survey")
    run_due(rt)
    [survey] = _to(rt, "carol@example.com")
    rt.clock.advance(timedelta(minutes=5))
    page.goto(_links(survey, f"{site.url}/nps/")[9])
    expect(page.get_by_role("status")).to_have_text("We recorded 9 out of 10.")
    results["NPS reason page"] = axe_violations(page)

    [preferences] = set(_links(survey, f"{site.url}/p/"))
    page.goto(preferences)
    expect(_heading(page)).to_have_text("Email preferences for carol@example.com")
    results["preference center"] = axe_violations(page)

    assert not any(results.values()), "axe-core violations:\n" + axe_report(results)
