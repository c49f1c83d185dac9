"""Journeys in the console: the list and a journey's page after real sends (the diagram
annotated with live counts, the email figures, versions and their diff), and what a
marketer does there: pause and resume, take a contact out. Sales reps are refused."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select

from journeys.models import Enrollment
from nurture.contacts import lists
from tests.helpers import (
    advance_clock,
    contact,
    csrf,
    enrollments,
    event,
    publish_text,
    sends,
    signed_in,
)

JOURNEY = """
id: welcome
name: Welcome
topic: product
entry: {event: contact.created}
exit_on: [trial.started]
steps:
  - id: hello
    send: trial-welcome
    class: transactional
  - id: pause
    wait: 2d
  - id: tips
    send: trial-welcome
  - id: done
    exit: finished
"""


def _three_in(rt) -> list[int]:
    publish_text(rt, JOURNEY)
    ids = [contact(rt, f"c{i}@example.com") for i in range(3)]
    for cid in ids:
        event(rt, cid, "contact.created")
    return ids


def _cell(page: str, table: str, step: str) -> list[str]:
    body = page.split(f'id="{table}"', 1)[1]
    row = body.split(f'data-step="{step}"', 1)[1].split("</tr>", 1)[0]
    return [re.sub(r"<[^>]+>", "", cell).strip()
            for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]


def test_the_list_shows_status_version_active_conversion_and_a_sends_chart(rt):
    ids = _three_in(rt)
    event(rt, ids[0], "trial.started")  # the goal
    page = signed_in(rt, "marketer").get("/journeys")
    assert page.status_code == 200
    row = page.text.split("welcome", 1)[1].split("</tr>", 1)[0]
    cells = [re.sub(r"<[^>]+>", " ", c).split() for c in re.findall(r"<td[^>]*>(.*?)</td>",
                                                                     "<td>" + row, re.S)]
    assert ["live"] in cells and ["1"] in cells and ["product"] in cells
    assert ["2"] in cells  # two still active
    assert "33.3%" in row and "(1 of 3)" in row
    assert "<svg" in row and "Emails sent a day by welcome" in row
    assert "3 sent in 30 days" in row  # the three hello emails


def test_the_page_annotates_every_step_after_real_sends(rt):
    ids = _three_in(rt)
    advance_clock(rt, timedelta(days=2, hours=1))
    assert len(sends(rt)) == 6
    event(rt, ids[0], "trial.started")  # done already: no goal reached after the end
    client = signed_in(rt, "marketer")
    page = client.get("/journeys/welcome")
    assert page.status_code == 200
    assert "<svg" in page.text and 'href="/journeys/welcome/steps/tips"' in page.text
    assert "entered 3 · waiting 0 · done 3" in page.text  # in the boxes of the diagram
    assert _cell(page.text, "step-counts", "hello")[:3] == ["3", "0", "3"]
    assert _cell(page.text, "step-counts", "done")[3] == "finished: 3"
    assert _cell(page.text, "email-figures", "tips") == ["3", "0", "0", "0", "0"]
    assert "a file (command line)" in page.text and "Contacts pinned now" in page.text


def test_a_contact_at_a_step_is_listed_and_taken_out(rt):
    ids = _three_in(rt)
    client = signed_in(rt, "marketer")
    at = client.get("/journeys/welcome/steps/pause")
    assert at.status_code == 200 and "c1@example.com" in at.text
    refused = client.post("/journeys/welcome/take-out", data={
        "email": "c1@example.com", "csrf_token": csrf(at.text)})
    assert refused.status_code == 422 and "Tick the box" in refused.text
    done = client.post("/journeys/welcome/take-out", data={
        "email": "c1@example.com", "confirm": "yes", "csrf_token": csrf(at.text)})
    assert done.status_code == 303
    with rt.db.sessions() as session:
        row = session.scalars(select(Enrollment).where(Enrollment.contact_id == ids[1])).one()
    assert row.status == "exited" and row.exit_reason == "removed by marketer@example.com"
    advance_clock(rt, timedelta(days=2, hours=1))
    assert [s.step_id for s in sends(rt, ids[1])] == ["hello"]  # no more of its email
    assert "c1@example.com" not in client.get("/journeys/welcome/steps/pause").text
    again = client.post("/journeys/welcome/take-out", data={
        "email": "c1@example.com", "confirm": "yes", "csrf_token": csrf(at.text)})
    assert again.status_code == 404 and "not in the journey" in again.text


def test_pause_holds_the_contacts_and_resume_lets_them_go_on(rt):
    ids = _three_in(rt)
    client = signed_in(rt, "marketer")
    token = csrf(client.get("/journeys/welcome").text)
    assert client.post("/journeys/welcome/pause", data={"reason": "",
                                                        "csrf_token": token}).status_code == 400
    paused = client.post("/journeys/welcome/pause", data={"reason": "a wrong link",
                                                          "csrf_token": token})
    assert paused.status_code == 303
    page = client.get("/journeys/welcome").text
    assert 'id="journey-status">paused' in page and "Resume the journey" in page
    advance_clock(rt, timedelta(days=2, hours=1))
    assert all(s.step_id == "hello" for s in sends(rt))  # nobody moved on
    resumed = client.post("/journeys/welcome/resume", data={"reason": "fixed the link",
                                                            "csrf_token": token})
    assert resumed.status_code == 303
    assert "3 contacts move on" in client.get("/journeys/welcome").text
    advance_clock(rt, timedelta(hours=1))
    assert sorted(s.step_id for s in sends(rt, ids[0])) == ["hello", "tips"]


def test_two_versions_are_compared_and_each_shows_its_pinned_contacts(rt):
    _three_in(rt)
    publish_text(rt, JOURNEY.replace("wait: 2d", "wait: 3d"))
    client = signed_in(rt, "marketer")
    page = client.get("/journeys/welcome?old=1&new=2")
    assert page.status_code == 200
    assert "-    wait: 2d" in page.text and "+    wait: 3d" in page.text
    versions = page.text.split('id="versions"', 1)[1].split("</table>", 1)[0]
    rows = re.findall(r"<tr><td class=\"num\">(\d+)</td>.*?<td class=\"num\">(\d+)</td></tr>",
                      versions)
    assert rows == [("2", "0"), ("1", "3")]
    assert client.get("/journeys/welcome?old=1&new=9").status_code == 404
    assert client.get("/journeys/welcome?old=x&new=2").status_code == 422


def test_an_unknown_journey_or_step_is_a_styled_404_and_sales_is_refused(rt):
    _three_in(rt)
    client = signed_in(rt, "marketer")
    missing = client.get("/journeys/nope")
    assert missing.status_code == 404 and "No journey" in missing.text
    assert client.get("/journeys/welcome/steps/nope").status_code == 404
    assert signed_in(rt, "sales").get("/journeys").status_code == 403


def test_opens_and_clicks_by_people_and_unsubscribes_count_on_their_email(rt):
    ids = _three_in(rt)
    advance_clock(rt, timedelta(days=2, hours=1))
    tips = {s.contact_id: s.send_key for s in sends(rt) if s.step_id == "tips"}
    event(rt, ids[0], "email.opened", send=tips[ids[0]], machine=False)
    event(rt, ids[0], "email.opened", send=tips[ids[0]], machine=False)  # the same email
    event(rt, ids[1], "email.opened", send=tips[ids[1]], machine=True)  # a privacy proxy
    event(rt, ids[0], "email.clicked", send=tips[ids[0]], machine=False)
    event(rt, ids[2], "email.unsubscribed", method="unsubscribe-page")
    page = signed_in(rt, "marketer").get("/journeys/welcome").text
    assert _cell(page, "email-figures", "tips") == ["3", "1", "1", "1", "0"]
    assert _cell(page, "email-figures", "hello") == ["3", "0", "0", "0", "0"]


def test_the_journeys_pages_lead_to_the_editor(rt):
    publish_text(rt, """
        id: linked
        name: Linked
        entry: {event: contact.created}
        steps:
          - {id: done, exit: finished}
    """)
    web = signed_in(rt, "marketer")
    listing = web.get("/journeys").text
    assert 'href="/journeys/new"' in listing and 'href="/journeys/simulation"' in listing
    page = web.get("/journeys/linked")
    assert page.status_code == 200 and 'href="/journeys/linked/edit"' in page.text
    assert web.get("/journeys/linked/edit").status_code == 200


def test_a_list_is_enrolled_from_the_journey_page_after_its_count(rt):
    publish_text(rt, """
        id: listed
        name: Listed
        entry: {event: custom.never}
        steps:
          - {id: hold, wait: 3d}
          - {id: done, exit: finished}
    """)
    ids = [contact(rt, f"fair{i}@example.com") for i in range(3)]
    with rt.db.transaction() as session:
        lists.add(session, lists.ensure(session, "Fair", rt.clock.now()), ids, rt.clock.now())
    web = signed_in(rt, "marketer")
    page = web.get("/journeys/listed").text
    assert 'id="enroll-list"' in page

    confirm = web.post("/contacts/bulk", data={
        "scope": "list", "list": "Fair", "action": "journey", "value_journey": "listed",
        "csrf_token": csrf(page)})
    assert confirm.status_code == 200 and "3 contacts (the list Fair)" in confirm.text
    token = re.search(r'name="token" value="([^"]+)"', confirm.text).group(1)
    done = web.post("/contacts/bulk/run", data={
        "scope": "list", "list": "Fair", "token": token, "csrf_token": csrf(confirm.text)})
    assert done.status_code == 200
    assert sorted(e.contact_id for e in enrollments(rt) if e.journey_id == "listed") == ids
