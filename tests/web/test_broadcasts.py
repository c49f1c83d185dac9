"""Broadcasts in the console: a marketer creates one from the form (a bad form is answered
with every reason), follows its progress (the page and its JSON), runs its A/B test, pauses,
resumes and cancels it, and reads its report with its charts; other roles are refused.
Arms may differ by subject line alone, and a line that cannot render is refused."""

from __future__ import annotations

from nurture.broadcasts import queries
from nurture.consent.records import suppress
from tests.helpers import csrf, run_due, signed_in
from tests.nurture.broadcasts.conftest import TEMPLATE_A, TEMPLATE_B, audience

FORM = {"name": "Spring news", "audience": "list", "list": "Newsletter", "segment": "",
        "template": TEMPLATE_A, "template_b": "", "topic": "", "timing": "now",
        "send_at": "", "local_time": "10:00", "sample_percent": "20", "metric": "clicks",
        "window_hours": "4"}


def _create(client, **changes: str):
    token = csrf(client.get("/broadcasts/new").text)
    return client.post("/broadcasts/new", data={**FORM, **changes, "csrf_token": token})


def test_a_marketer_creates_a_broadcast_and_follows_it_to_the_report(rt):
    audience(rt, 6)
    client = signed_in(rt, "marketer")
    made = _create(client)
    assert made.status_code == 303
    page = client.get(made.headers["Location"])
    assert page.status_code == 200
    assert "The broadcast &#39;Spring news&#39; was created." in page.text
    assert "6 recipients" in page.text
    run_due(rt)
    progress = client.get(made.headers["Location"] + "/progress").json
    assert progress["sent"] == 6 and progress["queued"] == 0
    report = client.get(made.headers["Location"]).text
    assert "Emails sent per hour" in report and "<svg" in report
    assert "hour (UTC)" in report and "Emails sent per hour: the figures" in report
    assert "Spring news" in client.get("/broadcasts").text


def test_a_bad_form_is_answered_with_every_reason_and_saves_nothing(rt):
    client = signed_in(rt, "marketer")
    refused = _create(client, name="", list="No such list", template="nope", timing="local",
                      local_time="25:99")
    assert refused.status_code == 422
    assert "A broadcast needs a name." in refused.text
    assert "There is no email template" in refused.text
    assert "Give the time of day as HH:MM" in refused.text
    assert queries.listed(rt.db) == []
    missing = _create(client, list="No such list")
    assert missing.status_code == 422 and "There is no list" in missing.text


def test_the_ab_test_pause_resume_and_cancel_from_the_page(rt):
    audience(rt, 20)
    client = signed_in(rt, "marketer")
    at = _create(client, template_b=TEMPLATE_B, sample_percent="50").headers["Location"]
    page = client.get(at).text
    sample = client.get(at + "/progress").json["queued"]  # half of 20, give or take
    assert 0 < sample < 20
    assert "A/B test" in page and "Send the winner now" in page and "95% interval" in page
    token = csrf(page)
    paused = client.post(at + "/pause", data={"reason": "wrong link", "csrf_token": token})
    assert paused.status_code == 303
    assert "paused</strong> (wrong link)" in client.get(at).text
    run_due(rt)
    assert client.get(at + "/progress").json["paused"] == sample
    client.post(at + "/resume", data={"reason": "fixed", "csrf_token": token})
    run_due(rt)
    assert client.get(at + "/progress").json["sent"] == sample
    winner = client.post(at + "/winner", data={"csrf_token": token})
    assert winner.status_code == 303
    cancelled = client.post(at + "/cancel", data={"csrf_token": token})
    assert cancelled.status_code == 303
    page = client.get(at).text
    assert f"<strong>{20 - sample}</strong> emails were never sent." in page
    assert client.get(at + "/progress").json["cancelled"] == 20 - sample


def test_only_marketers_and_admins_reach_broadcasts(rt):
    assert signed_in(rt, "sales").get("/broadcasts").status_code == 403
    assert signed_in(rt, "admin").get("/broadcasts").status_code == 200
    assert signed_in(rt, "marketer").get("/broadcasts/999").status_code == 404


def test_a_subject_line_test_from_the_form_shows_each_arms_line(rt):
    audience(rt, 20)
    client = signed_in(rt, "marketer")
    line = "{{ contact.first_name }}, a case study for you"
    at = _create(client, subject_b=line, sample_percent="100").headers["Location"]
    page = client.get(at).text
    assert "<th scope=\"col\">Subject line</th>" in page
    assert "{{ contact.first_name }}, a case study for you" in page  # as written, escaped
    assert "the template's own</span>" in page  # arm A keeps the template's subject
    run_due(rt)
    assert client.get(at + "/progress").json["sent"] == 20


def test_a_subject_line_that_cannot_render_is_refused_with_a_sentence(rt):
    audience(rt, 5)
    client = signed_in(rt, "marketer")
    refused = _create(client, subject_b="{{ contact.first_name", subject_c="{{ 1 / 0 }}")
    assert refused.status_code == 422
    assert ("Arm B: The subject line &#39;{{ contact.first_name&#39; cannot be used: "
            "unexpected end of template") in refused.text
    assert "Arm C: The subject line" in refused.text and "division by zero." in refused.text
    assert 'value="{{ contact.first_name"' in refused.text  # the form keeps what was typed
    assert queries.listed(rt.db) == []
    same = _create(client, subject="Hello", subject_b="Hello")
    assert same.status_code == 422
    assert "Each arm of a test differs from the others" in same.text


def test_the_progress_json_and_page_count_skips_by_reason(rt):
    audience(rt, 3)
    client = signed_in(rt, "marketer")
    at = _create(client).headers["Location"]
    page = client.get(at).text
    assert '<table id="progress-reasons" hidden>' in page  # there for the poll to fill
    with rt.db.transaction() as session:  # a complaint arrives before the mail goes
        suppress(session, "reader0@example.com", "complaint", "", "test", rt.clock.now())
    run_due(rt)
    progress = client.get(at + "/progress").json
    assert progress["sent"] == 2 and progress["skipped_total"] == 1
    [(reason, count)] = progress["skipped"].items()
    assert count == 1
    page = client.get(at).text
    assert '<table id="progress-reasons">' in page and f"skipped: {reason}" in page
