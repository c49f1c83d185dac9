"""The journey editor: a draft checked as JSON with every violation at its line, checked
without JavaScript, simulated, published with a note from the version it started from (a
stale one refused with a sentence naming both), and exported as a file by the CLI."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner
from sqlalchemy import select

from journeys.models import JourneyVersion
from nurture.app.cli import main
from tests.helpers import contact, csrf, enrollments, event, publish_text, signed_in

V1 = """\
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
V2 = V1.replace("wait: 3d", "wait: 1d")
BROKEN = V1.replace("wait: 3d", "wait: 2x\n    next: nowhere")


def _versions(rt) -> list[JourneyVersion]:
    with rt.db.sessions() as session:
        return list(session.scalars(select(JourneyVersion).where(
            JourneyVersion.journey_id == "hello").order_by(JourneyVersion.version)))


def _token(client, path: str = "/journeys/hello/edit") -> str:
    return csrf(client.get(path).text)


def test_validate_answers_every_violation_with_its_line_as_json(rt):
    client = signed_in(rt, "marketer")
    token = _token(client, "/journeys/new")
    answer = client.post("/journeys/validate", json={"source": BROKEN},
                         headers={"X-CSRFToken": token})
    assert answer.status_code == 200 and answer.json["valid"] is False
    found = {(v["line"], v["message"].split(":")[0]) for v in answer.json["violations"]}
    assert (8, "The wait duration is not valid") in found
    assert (9, "The step 'pause' goes to 'nowhere', which is not a step of this journey.") \
        in found
    good = client.post("/journeys/validate", json={"source": V1},
                       headers={"X-CSRFToken": token})
    assert good.json == {"valid": True, "violations": []}


def test_validate_refuses_a_body_without_source_and_a_request_without_csrf(rt):
    client = signed_in(rt, "marketer")
    token = _token(client, "/journeys/new")
    bad = client.post("/journeys/validate", json=["x"], headers={"X-CSRFToken": token})
    assert bad.status_code == 400 and "'source'" in bad.json["error"]
    assert client.post("/journeys/validate", json={"source": V1}).status_code == 400


def test_the_editor_shows_the_newest_version_and_checks_without_javascript(rt):
    publish_text(rt, V1)
    client = signed_in(rt, "marketer")
    page = client.get("/journeys/hello/edit").text
    assert "wait: 3d" in page and 'id="based-on-version">1<' in page
    assert "No problems: the journey is valid." in page
    checked = client.post("/journeys/hello/edit", data={
        "csrf_token": _token(client), "source": BROKEN, "based_on": "1"}).text
    assert "3 problems" in checked and "Line 8: The wait duration is not valid" in checked
    assert "Line 9: The step &#39;pause&#39; goes to &#39;nowhere&#39;" in checked


def test_a_draft_is_simulated_with_its_funnel_chart_and_deferrals(rt):
    publish_text(rt, V1)
    client = signed_in(rt, "marketer")
    page = client.post("/journeys/hello/simulate", data={
        "csrf_token": _token(client), "source": V2, "based_on": "1", "contacts": "40",
        "days": "10"})
    assert page.status_code == 200
    text = page.text
    assert "Simulated: 40 contacts over 10 days" in text
    assert "The funnel: contacts at each step" in text and "<svg" in text
    assert "Emails sent per day over 10 simulated days: the figures" in text
    assert "day of the simulation" in text and "Quiet hours" in text
    assert "wait: 1d" in text  # the draft is kept, not the published version
    assert len(_versions(rt)) == 1  # nothing published
    refused = client.post("/journeys/hello/simulate", data={
        "csrf_token": _token(client), "source": V2, "contacts": "9999999", "days": "10"})
    assert refused.status_code == 422 and "Simulate between 1 and 5,000 contacts." \
        in refused.text


def test_publish_makes_a_version_with_its_note_and_in_flight_contacts_stay(rt):
    publish_text(rt, V1)
    ann = contact(rt)
    event(rt, ann, "contact.created")
    first = _versions(rt)[0].id
    client = signed_in(rt, "marketer")
    done = client.post("/journeys/hello/publish", data={
        "csrf_token": _token(client), "source": V2, "based_on": "1",
        "note": "Shorter pause after the welcome."})
    assert done.status_code == 303
    page = client.get(done.headers["Location"]).text
    assert "Version 2 of hello is published" in page
    newest = _versions(rt)[-1]
    assert (newest.version, newest.published_by, newest.note, newest.based_on) == \
        (2, "marketer@example.com", "Shorter pause after the welcome.", 1)
    assert enrollments(rt, ann)[0].journey_version_id == first


def test_publishing_from_a_stale_base_is_refused_naming_both_versions(rt):
    publish_text(rt, V1)
    client = signed_in(rt, "marketer")
    token = _token(client)
    publish_text(rt, V1.replace("wait: 3d", "wait: 4d"))  # someone published version 2
    refused = client.post("/journeys/hello/publish", data={
        "csrf_token": token, "source": V2, "based_on": "1", "note": "mine"})
    assert refused.status_code == 409
    assert ("you started from version 1, but version 2 has been published since"
            in refused.text)
    assert "wait: 1d" in refused.text  # the edit is still there to bring over
    assert [v.version for v in _versions(rt)] == [1, 2]


def test_an_invalid_draft_or_another_journeys_id_is_not_published(rt):
    publish_text(rt, V1)
    client = signed_in(rt, "marketer")
    bad = client.post("/journeys/hello/publish", data={
        "csrf_token": _token(client), "source": BROKEN, "based_on": "1"})
    assert bad.status_code == 422 and "The journey has 3 problems" in bad.text
    other = client.post("/journeys/hello/publish", data={
        "csrf_token": _token(client), "source": V1.replace("id: hello", "id: other"),
        "based_on": "1"})
    assert other.status_code == 422 and "The id in the text is &#39;other&#39;" in other.text
    assert len(_versions(rt)) == 1


def test_a_new_journey_is_published_from_the_new_page(rt):
    client = signed_in(rt, "marketer")
    page = client.get("/journeys/new").text
    assert "id: my-journey" in page
    done = client.post("/journeys/new", data={
        "csrf_token": csrf(page), "source": V1, "based_on": "0", "action": "publish",
        "note": "First cut."})
    assert done.status_code == 303 and done.headers["Location"].endswith("/journeys/hello/edit")
    again = client.post("/journeys/new", data={
        "csrf_token": csrf(page), "source": V2, "based_on": "0", "action": "publish"})
    assert again.status_code == 409 and "you started from no version (a new journey)" \
        in again.text


def test_sales_reps_cannot_open_the_editor(rt):
    publish_text(rt, V1)
    assert signed_in(rt, "sales").get("/journeys/hello/edit").status_code == 403


def _cli(rt, *args: str, cwd: Path | None = None):
    env = {"DATABASE_URL": rt.settings.database_url, "SECRET_KEY": "test-secret-key",
           "NURTURE_VAR_DIR": str(rt.settings.var_dir)}
    return CliRunner().invoke(main, list(args), env=env)


def test_export_writes_the_journey_and_publish_from_a_stale_file_is_refused(rt, tmp_path):
    publish_text(rt, V1)
    client = signed_in(rt, "marketer")
    client.post("/journeys/hello/publish", data={
        "csrf_token": _token(client), "source": V2, "based_on": "1", "note": "console"})
    out = tmp_path / "hello.yaml"
    result = _cli(rt, "journeys", "export", "hello", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert out.read_text() == V2
    stale = tmp_path / "stale.yaml"
    stale.write_text(V1.replace("wait: 3d", "wait: 5d"))
    refused = _cli(rt, "journeys", "publish", str(stale), "--based-on", "1")
    assert refused.exit_code == 1
    assert "you started from version 1, but version 2 has been published since" \
        in refused.output
    # A file that says nothing: a changed one would undo the console's version 2, and a
    # copy of version 1 is version 1, stale.
    silent = _cli(rt, "journeys", "publish", str(stale))
    assert silent.exit_code == 1
    assert "version 2 was published in the console by marketer@example.com" in silent.output
    assert "--based-on 2" in silent.output
    old = tmp_path / "old.yaml"
    old.write_text(V1)
    copied = _cli(rt, "journeys", "publish", str(old))
    assert copied.exit_code == 1
    assert "you started from version 1, but version 2 has been published since" \
        in copied.output
    fresh = _cli(rt, "journeys", "publish", str(stale), "--based-on", "2", "--note", "file")
    assert fresh.exit_code == 0, fresh.output
    assert [(v.version, v.note) for v in _versions(rt)] == [(1, None), (2, "console"),
                                                             (3, "file")]
    missing = _cli(rt, "journeys", "export", "nope", "--out", str(out))
    assert missing.exit_code == 1 and "There is no journey with the id 'nope'." \
        in missing.output


LIVE = """
id: live
name: Live
entry: {event: contact.created}
steps:
  - {id: one, send: trial-welcome, class: marketing}
  - {id: two, send: trial-welcome, class: marketing}
  - {id: three, send: trial-welcome, class: marketing}
"""


def test_a_forecast_replays_real_history_and_counts_collisions_changing_nothing(rt):
    from tests.helpers import sends

    publish_text(rt, LIVE)
    publish_text(rt, V1)
    ann = contact(rt, "ann@example.com", consent_marketing=True)
    event(rt, ann, "contact.created")
    before = (len(sends(rt)), len(enrollments(rt)), len(_versions(rt)))
    assert before[0] == 4  # three from the live journey, one from hello
    client = signed_in(rt, "marketer")
    draft = V1.replace("send: trial-welcome", "send: trial-welcome\n    class: marketing")
    page = client.post("/journeys/hello/forecast", data={
        "csrf_token": _token(client), "source": draft, "based_on": "1", "sample": "50",
        "history_days": "14"})
    assert page.status_code == 200
    text = page.text
    assert "Forecast: 1 real contacts over the last 14 days" in text
    assert 'id="forecast-collisions">1<' in text
    assert "Who would reach each step" in text and "ann@example.com" in text
    assert "Emails the draft would have sent per week, last 14 days: the figures" in text
    assert (len(sends(rt)), len(enrollments(rt)), len(_versions(rt))) == before
    refused = client.post("/journeys/hello/forecast", data={
        "csrf_token": _token(client), "source": draft, "sample": "50",
        "history_days": "9999"})
    assert refused.status_code == 422 and "between 1 and 180 days" in refused.text


def test_live_journeys_simulated_together_show_collisions_and_weekly_sends(rt):
    publish_text(rt, LIVE)
    publish_text(rt, V1)
    client = signed_in(rt, "marketer")
    form = client.get("/journeys/simulation").text
    assert 'value="live"' in form and 'value="hello"' in form
    page = client.get("/journeys/simulation?journey=live&journey=hello&contacts=60&days=14")
    assert page.status_code == 200
    text = page.text
    assert "2 journeys, 60 prospects over 14 days" in text
    assert "Emails per contact per week: the figures" in text and "<svg" in text
    assert "Held by the cap" in text and "because_of" not in text
    refused = client.get("/journeys/simulation?journey=nope")
    assert refused.status_code == 422 and "There is no live journey with the id" in refused.text
