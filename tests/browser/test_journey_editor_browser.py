"""A marketer edits a journey in the browser: a typo is listed at its line and marked in
the gutter as it is typed, then fixed; the draft is simulated and published as version 2,
while a contact already in the journey stays on version 1. And axe-core's verdict."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from journeys.models import JourneyVersion
from tests.helpers import (
    Site,
    axe_report,
    axe_violations,
    contact,
    enrollments,
    event,
    marketer_and_four_contacts,
    publish_text,
    rows,
    sign_in_at,
)

JOURNEY = """\
id: hello
name: Hello
entry: {event: contact.created}
steps:
  - id: welcome
    send: trial-welcome
  - id: pause
    wait: 3d
  - id: done
    exit: finished
"""




def _retype_wait(page: Page, old: str, new: str) -> None:
    page.locator(".cm-line", has_text=f"wait: {old}").click()
    page.keyboard.press("End")
    for _ in old:
        page.keyboard.press("Backspace")
    page.keyboard.type(new, delay=20)


def test_an_error_is_listed_at_its_line_then_fixed_simulated_and_published(site: Site,
                                                                           page: Page):
    marketer_and_four_contacts(site)
    publish_text(site.rt, JOURNEY)
    ann = contact(site.rt, "ann@example.com")
    event(site.rt, ann, "contact.created")
    in_flight = enrollments(site.rt, ann)[0]
    assert in_flight.step_id == "pause"
    sign_in_at(page, site, "/journeys/hello/edit")
    expect(page.get_by_role("heading", name="Edit the journey hello")).to_be_visible()
    expect(page.locator(".cm-editor .cm-lineNumbers")).to_be_visible()
    problems = page.locator("#violations")
    expect(problems).to_contain_text("No problems: the journey is valid.")

    _retype_wait(page, "3d", "2x")
    expect(problems).to_contain_text("1 problem: fix it before publishing.")
    expect(problems.get_by_role("listitem")).to_contain_text(
        "Line 8: The wait duration is not valid")
    expect(page.locator(".cm-lint-marker-error")).to_have_count(1)

    _retype_wait(page, "2x", "1d")
    expect(problems).to_contain_text("No problems: the journey is valid.")
    expect(page.locator(".cm-lint-marker-error")).to_have_count(0)

    page.get_by_label("Synthetic contacts").fill("30")
    page.get_by_label("Days of virtual time").fill("7")
    page.get_by_role("button", name="Simulate").click()
    expect(page.get_by_role("heading", name="Simulated: 30 contacts over 7 days")) \
        .to_be_visible()
    expect(page.locator("#sends-per-day svg")).to_be_visible()
    expect(page.locator("#simulation-funnel tbody tr")).to_have_count(3)
    expect(page.locator(".cm-line", has_text="wait: 1d")).to_be_visible()  # the draft kept

    page.get_by_label("Note: what changed and why").fill("A shorter pause.")
    page.get_by_role("button", name="Publish a new version").click()
    expect(page.get_by_role("status").first).to_contain_text(
        "Version 2 of hello is published")
    expect(page.locator("#based-on-version")).to_have_text("2")
    versions = {v.version: v for v in rows(site.rt, JourneyVersion)}
    assert versions[2].note == "A shorter pause." and "wait: 1d" in versions[2].source
    assert versions[2].published_by == "mia@nurture.example"
    stays = enrollments(site.rt, ann)[0]
    assert stays.journey_version_id == versions[1].id == in_flight.journey_version_id


def test_the_editor_passes_axe_core(site: Site, axe_page: Page):
    marketer_and_four_contacts(site)
    publish_text(site.rt, JOURNEY)
    page, results = axe_page, {}
    sign_in_at(page, site, "/journeys/hello/edit")
    _retype_wait(page, "3d", "2x")
    expect(page.locator("#violations")).to_contain_text("Line 8")
    results["editor with an error"] = axe_violations(page)
    _retype_wait(page, "2x", "1d")
    expect(page.locator("#violations")).to_contain_text("No problems")
    page.get_by_role("button", name="Simulate").click()
    expect(page.locator("#sends-per-day svg")).to_be_visible()
    results["editor with a simulation"] = axe_violations(page)
    page.get_by_role("button", name="Forecast").click()
    expect(page.locator("#forecast")).to_be_visible()
    results["editor with a forecast"] = axe_violations(page)
    page.goto(f"{site.url}/journeys/new")
    results["new journey"] = axe_violations(page)
    page.goto(f"{site.url}/journeys/simulation?journey=hello&contacts=40&days=14")
    expect(page.locator("#per-contact-week svg")).to_be_visible()
    results["journeys together"] = axe_violations(page)
    assert not any(results.values()), "axe-core violations:\n" + axe_report(results)
