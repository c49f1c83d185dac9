"""Dates in emails are written for people, in the language of the email: the `long_date`
filter of the template sandbox, and the trial emails that use it."""

from __future__ import annotations

from tests.factories import IP, VALID, form_token, publish_trial_journey, write_template
from tests.helpers import mail_to, run_due, web_client


def test_a_date_is_written_out_in_the_language_of_the_translation_read(tmp_path):
    store = write_template(tmp_path, "ends", "<mj-text>{{ ends | long_date }}</mj-text>",
                           subject="Until {{ ends | long_date }}")
    for tag, subject in (("", "5 January 2027"), ("de", "5. Januar 2027"),
                         ("fr", "5 janvier 2027")):
        if tag:
            folder = tmp_path / "email" / "ends" / tag
            folder.mkdir()
            (folder / "subject.txt").write_text("{{ ends | long_date }}")
            (folder / "body.mjml").write_text(
                f'<mjml lang="{tag}"><mj-body><mj-section><mj-column><mj-text>x</mj-text>'
                "</mj-column></mj-section></mj-body></mjml>")
        template = store.resolve("ends", language=tag)
        assert template.subject.render({"ends": "2027-01-05T10:00:00+00:00"}).endswith(subject)


def test_the_day_is_the_one_in_the_readers_zone_and_a_non_date_prints_as_it_is(tmp_path):
    store = write_template(tmp_path, "ends", "<mj-text>x</mj-text>",
                           subject="{{ ends | long_date }} / {{ other | long_date }}")
    context = {"ends": "2027-01-05T23:30:00+00:00", "other": "soon",
               "contact": {"timezone": "Europe/Berlin"}}
    assert store.get("ends").subject.render(context) == "6 January 2027 / soon"


def test_a_german_trial_welcome_states_the_end_date_in_german(rt):
    publish_trial_journey(rt)
    client = web_client(rt)
    data = {**VALID, "tech_email": "ann@example.com",
            "csrf_token": form_token(client)}
    response = client.post("/l/trial", data=data, environ_base=IP,
                           headers={"Accept-Language": "de"})
    assert response.status_code == 303
    run_due(rt)
    [welcome] = mail_to(rt, "Ann@Example.com")
    text = welcome.get_body(("html",)).get_content()
    assert "1. April 2026" in text and "2026-04-01" not in text
