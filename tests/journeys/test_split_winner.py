"""The winners of A/B splits: each arm's rate on the journey's goal with its interval and the
A/B module's decision, and ending a test, which publishes a new version that sends
everyone to the winner while contacts in flight stay on their version."""

from __future__ import annotations

from sqlalchemy import insert, select

from journeys.loader import load_text
from journeys.models import Activity, Enrollment, JourneyVersion
from journeys.winners import ended_source
from nurture.app import journeys_console
from nurture.contacts.services import upsert_contacts
from tests.helpers import contact, csrf, event, publish_text, sends, signed_in

JOURNEY = """
id: angles
name: Two angles
entry: {event: contact.created}
exit_on: [trial.started]
steps:
  # Which angle sells the trial better?
  - id: ab
    split:
      - {weight: 50, goto: a}
      - {weight: 50, goto: b}
  - id: a
    send: trial-welcome
    next: done
  - id: b
    send: trial-welcome
  - id: done
    exit: finished
"""


def _arms(rt, a: tuple[int, int], b: tuple[int, int]) -> None:
    """Contacts who went down each arm (entered, converted), as the engine records them."""
    with rt.db.transaction() as session:
        version = session.scalar(select(JourneyVersion.id)
                                 .where(JourneyVersion.journey_id == "angles"))
        rows = [{"email": f"{arm}{i}@example.com"} for arm, (n, _) in (("a", a), ("b", b))
                for i in range(n)]
        ids = upsert_contacts(session, rows)
        now = rt.clock.now()
        for arm, (n, won) in (("a", a), ("b", b)):
            for i in range(n):
                cid = ids[f"{arm}{i}@example.com"]
                goal = i < won
                enrollment = session.execute(insert(Enrollment).values(
                    contact_id=cid, journey_id="angles", journey_version_id=version,
                    status="exited" if goal else "active", step_id="done" if goal else arm,
                    state={}, exit_reason="goal:trial.started" if goal else None,
                    entered_at=now).returning(Enrollment.id)).scalar_one()
                session.execute(insert(Activity).values(
                    enrollment_id=enrollment, contact_id=cid, journey_version_id=version,
                    step_id=arm, kind="entered", at=now))


def test_each_arm_shows_its_rate_interval_and_the_decision(rt):
    publish_text(rt, JOURNEY)
    _arms(rt, (250, 100), (250, 50))
    page = journeys_console.journey_page(rt, "angles", "")
    (split,) = page.splits
    assert split.metric == "goal"
    assert [(a.goto, a.trials, a.successes) for a in split.arms] == [("a", 250, 100),
                                                                     ("b", 250, 50)]
    low, high = split.arms[0].interval
    assert low < 0.4 < high and split.arms[0].probability > 0.99
    assert split.winner == "a" and split.reason.startswith("a wins")


def test_too_few_contacts_is_no_winner_and_the_test_cannot_be_ended(rt):
    publish_text(rt, JOURNEY)
    _arms(rt, (50, 30), (50, 5))
    client = signed_in(rt, "marketer")
    page = client.get("/journeys/angles").text
    assert "No winner yet: every arm needs 200 sends first" in page
    assert "End the test and send everyone to the winner" not in page
    refused = client.post("/journeys/angles/splits/ab/end",
                          data={"confirm": "yes", "csrf_token": csrf(page)})
    assert refused.status_code == 409 and "No winner yet" in refused.text


def test_ending_the_test_publishes_a_version_that_sends_everyone_to_the_winner(rt):
    publish_text(rt, JOURNEY)
    _arms(rt, (250, 100), (250, 50))
    client = signed_in(rt, "marketer")
    page = client.get("/journeys/angles").text
    assert "End the test and send everyone to the winner" in page
    done = client.post("/journeys/angles/splits/ab/end",
                       data={"confirm": "yes", "csrf_token": csrf(page)})
    assert done.status_code == 303
    shown = client.get("/journeys/angles").text
    assert "Version 2 is published" in shown
    assert "Ended the test at ab: everyone goes to a." in shown
    assert "marketer@example.com" in shown
    with rt.db.sessions() as session:
        source = session.scalar(select(JourneyVersion.source)
                                .where(JourneyVersion.version == 2))
    assert "# Which angle sells the trial better?" in source  # the file as it was
    assert [(p.goto, p.weight) for p in load_text(source).journey.step("ab").paths] == [
        ("a", 1), ("b", 0)]
    for i in range(6):  # every new contact goes to the winner
        cid = contact(rt, f"new{i}@example.com")
        event(rt, cid, "contact.created")
        assert [s.step_id for s in sends(rt, cid)] == ["a"]
    versions = shown.split('id="versions"', 1)[1].split("</table>", 1)[0]
    assert '<td class="num">350</td>' in versions  # the in-flight contacts stay on version 1


def test_a_split_may_name_its_metric_and_a_bad_one_is_refused():
    named = load_text(JOURNEY.replace("  - id: ab\n", "  - id: ab\n    metric: clicks\n"))
    assert named.journey.step("ab").metric == "clicks"
    bad = load_text(JOURNEY.replace("  - id: ab\n", "  - id: ab\n    metric: opens\n"))
    assert bad.journey is None
    assert any("A split's metric is 'goal'" in str(v) for v in bad.violations)


def test_the_ended_source_keeps_the_file_and_refuses_an_unknown_split():
    source = ended_source(JOURNEY, "ab", "b")
    assert [p.weight for p in load_text(source).journey.step("ab").paths] == [0, 1]
    try:
        ended_source(JOURNEY, "nope", "a")
    except ValueError as exc:
        assert "no split 'nope'" in str(exc)
    else:
        raise AssertionError("an unknown split was ended")
