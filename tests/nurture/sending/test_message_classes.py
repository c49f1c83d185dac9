"""Three classes of message: transactional mail always goes (but to a hard bounce or a
complaint), service mail goes to customers and trialists without marketing consent unless
they chose "only what I must receive", and marketing needs consent."""

from __future__ import annotations

from datetime import timedelta

from journeys.loader import load_file, load_text
from journeys.services import publish
from nurture.config import PROJECT_ROOT
from nurture.consent.models import ConsentRecord
from nurture.sending import compose
from nurture.trials import lifecycle
from nurture.trials.models import Trial
from tests.factories import post_sign_up, publish_trial_journey, write_template
from tests.helpers import (
    advance_clock,
    contact,
    contact_id,
    csrf,
    event,
    get_contact,
    html_of,
    invoke_cli,
    mail_to,
    publish_text,
    rows,
    run_due,
    sends,
    web_client,
)

ONBOARDING = ["onboarding-welcome", "onboarding-administration", "onboarding-implementation",
              "onboarding-adoption", "onboarding-training"]
# What a purchase sends besides: the activation email, a service email too.
ON_PURCHASE = [*ONBOARDING, "activation"]
# Log-in instructions on an event: the template declares itself transactional.
LOG_IN = """
    id: log-in
    name: Log-in instructions
    entry: {event: custom.joined}
    steps:
      - {id: hello, send: trial-welcome}
"""


def _publish_library(rt, name: str) -> None:
    loaded = load_file(PROJECT_ROOT / "journeys" / "library" / f"{name}.yaml")
    assert not loaded.violations, loaded.violations
    with rt.db.transaction() as session:
        publish(session, loaded)


def _buy(rt, cid: int) -> None:
    """The contact buys, and the fortnight of onboarding runs its course."""
    event(rt, cid, "purchase.completed", amount=1200, currency="EUR")
    advance_clock(rt, timedelta(days=16), step=timedelta(hours=6))


def _choose_must_receive_only(rt, cid: int) -> None:
    """The reader picks "Only what I must receive" in the preference center."""
    row = get_contact(rt, cid)
    path = compose.Links(rt.tokens, "", row.id, row.email_key, 1).preferences
    client = web_client(rt)
    page = client.get(path)
    assert page.status_code == 200 and "Only what I must receive" in page.text
    saved = client.post(path, data={"csrf_token": csrf(page.text), "marketing": "must",
                                    "frequency": "normal", "language": ""})
    assert saved.status_code == 200 and "Your preferences are saved." in saved.text
    assert 'value="must" aria-describedby="must-hint" checked' in saved.text


def test_a_customer_without_marketing_consent_receives_the_whole_onboarding_sequence(rt):
    _publish_library(rt, "onboarding")
    cid = contact(rt, "ann@lee-retail.example", first_name="Ann")  # never ticked the box
    _buy(rt, cid)
    onboarding = {s.template: (s.status, s.reason, s.message_class) for s in sends(rt, cid)}
    assert onboarding == dict.fromkeys(ON_PURCHASE, ("sent", None, "service"))
    received = mail_to(rt, "ann@lee-retail.example")
    assert len(received) == 6
    for message in received:
        # Service mail is no list to leave: no unsubscribe headers, but the preferences link
        # that offers "only what I must receive".
        assert message["X-Nurture-Category"] == "service"
        assert message["List-Unsubscribe"] is None and message["List-Id"] is None
        assert "http://localhost:5000/p/" in html_of(message)
        assert "/u/" not in html_of(message)


def test_a_trialist_who_converts_without_consent_gets_tips_then_the_whole_onboarding(rt):
    publish_trial_journey(rt)
    _publish_library(rt, "onboarding")
    assert post_sign_up(web_client(rt)).status_code == 303  # the consent box left unticked
    run_due(rt)
    cid = contact_id(rt, "ann@example.com")
    assert get_contact(rt, cid).consent_marketing is False
    advance_clock(rt, timedelta(days=3), step=timedelta(hours=6))  # no seat activated
    [trial] = rows(rt, Trial)
    lifecycle.convert(rt, rt.settings, trial.id, "keep_data")
    run_due(rt)
    advance_clock(rt, timedelta(days=16), step=timedelta(hours=6))
    outcome = {(s.template, s.role): (s.status, s.message_class) for s in sends(rt, cid)}
    assert outcome[("trial-welcome", "contact")] == ("sent", "transactional")
    assert outcome[("trial-welcome", "technical_contact")] == ("sent", "transactional")
    assert outcome[("trial-activation-nudge", "contact")] == ("sent", "service")
    assert [outcome[(name, "contact")] for name in ONBOARDING] == [("sent", "service")] * 5


def test_only_what_i_must_receive_stops_service_mail_but_log_in_instructions_arrive(rt):
    _publish_library(rt, "onboarding")
    publish_text(rt, LOG_IN)
    cid = contact(rt, "ann@lee-retail.example", first_name="Ann", consent_marketing=True)
    _choose_must_receive_only(rt, cid)
    [proof] = rows(rt, ConsentRecord, ConsentRecord.action == "must_receive_only")
    assert (proof.contact_id, proof.method) == (cid, "preference-center")
    assert get_contact(rt, cid).consent_marketing is False, "it ends marketing too"

    _buy(rt, cid)
    event(rt, cid, "custom.joined")

    outcome = {s.template: (s.status, s.reason) for s in sends(rt, cid)}
    assert outcome == {**dict.fromkeys(ON_PURCHASE, ("skipped", "must_receive_only")),
                       "trial-welcome": ("sent", None)}
    [message] = mail_to(rt, "ann@lee-retail.example")
    assert message["X-Nurture-Category"] == "transactional"


def test_leaving_must_receive_only_lets_service_mail_through_again(rt):
    _publish_library(rt, "onboarding")
    cid = contact(rt, "ann@lee-retail.example")
    _choose_must_receive_only(rt, cid)
    row = get_contact(rt, cid)
    path = compose.Links(rt.tokens, "", row.id, row.email_key, 1).preferences
    client = web_client(rt)
    page = client.get(path)
    client.post(path, data={"csrf_token": csrf(page.text), "marketing": "no",
                            "frequency": "normal", "language": ""})
    # Both choices are on the record, each with its proof.
    assert [r.action for r in rows(rt, ConsentRecord)] == [
        "must_receive_only", "withdrawn", "service_resumed", "withdrawn"]
    _buy(rt, cid)
    assert [s.status for s in sends(rt, cid)] == ["sent"] * 6


def test_a_prospect_without_consent_gets_no_service_mail_but_a_trialist_does(rt):
    publish_text(rt, """
        id: service-note
        name: Service note
        entry: {event: custom.joined}
        steps:
          - {id: note, send: onboarding-welcome}
    """)
    prospect = contact(rt, "pat@prospect.example")
    trialist = contact(rt, "tia@trial.example", stage="try")
    opted_in = contact(rt, "olly@prospect.example", consent_marketing=True)
    for cid in (prospect, trialist, opted_in):
        event(rt, cid, "custom.joined")
    run_due(rt)
    assert [(s.status, s.reason) for s in sends(rt, prospect)] == [("skipped", "no_consent")]
    assert [(s.status, s.reason) for s in sends(rt, trialist)] == [("sent", None)]
    assert [(s.status, s.reason) for s in sends(rt, opted_in)] == [("sent", None)]


def test_a_journey_step_may_set_the_class_and_transactional_true_still_reads(rt):
    loaded = load_text("""
id: classes
name: Classes
entry: {event: custom.joined}
steps:
  - {id: a, send: onboarding-welcome, class: marketing}
  - {id: b, send: prospect-case-study, transactional: true}
  - {id: c, send: prospect-case-study, class: newsletter}
  - {id: d, send: prospect-case-study, class: service, transactional: true}
""", "classes.yaml")
    assert [str(v) for v in loaded.violations] == [
        "classes.yaml:8: 'class' must be one of transactional, service, marketing; leave it "
        "out to use the class the template declares.",
        "classes.yaml:9: 'transactional: true' contradicts 'class: service'; keep 'class' "
        "alone."]
    publish_text(rt, """
        id: override
        name: Override
        entry: {event: custom.joined}
        steps:
          - {id: a, send: onboarding-welcome, class: marketing}
          - {id: b, send: prospect-case-study, transactional: true}
    """)
    cid = contact(rt, "ann@example.com", stage="onboard")  # a customer, no consent
    event(rt, cid, "custom.joined")
    assert [(s.step_id, s.message_class, s.status, s.reason) for s in sends(rt, cid)] == [
        ("a", "marketing", "skipped", "no_consent"), ("b", "transactional", "sent", None)]


def test_templates_check_flags_a_service_template_with_a_trial_button(tmp_path):
    write_template(tmp_path, "onboarding-extra", (
        "        <mj-text>Welcome aboard. {{ footer.postal_address }}</mj-text>\n"
        '        <mj-button href="{{ links.trial }}">Start a free trial</mj-button>'))
    (tmp_path / "email" / "onboarding-extra" / "class.txt").write_text("service\n")
    write_template(tmp_path, "odd-class", "        <mj-text>{{ footer.postal_address }}</mj-text>")
    (tmp_path / "email" / "odd-class" / "class.txt").write_text("newsletter\n")

    result = invoke_cli(["templates", "--dir", str(tmp_path), "check"], tmp_path)

    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert any(line.endswith(
        "email/onboarding-extra/body.mjml:6: Service email is sent without marketing consent, "
        "so it carries no promotion, but a trial sign-up link ({{ links.trial }}) is aimed at "
        "prospects.") for line in lines), lines
    assert any(line.endswith("email/odd-class/class.txt:1: The first word of class.txt must "
                             "be one of transactional, service, marketing.")
               for line in lines), lines
    assert not any("unsubscribe link" in line and "onboarding-extra" in line for line in lines)


def test_a_complaint_stops_every_class_and_an_unsubscribe_only_marketing(rt):
    publish_text(rt, """
        id: all-classes
        name: All classes
        entry: {event: custom.joined}
        steps:
          - {id: note, send: onboarding-welcome}
          - {id: hello, send: trial-welcome}
          - {id: news, send: prospect-case-study}
    """)
    complainer = contact(rt, "cy@customer.example", stage="adopt", consent_marketing=True)
    leaver = contact(rt, "lee@customer.example", stage="adopt", consent_marketing=True)
    client = web_client(rt)
    complained = client.post("/api/bounces", headers={"Authorization": "Bearer test-api-key"},
                             json={"events": [{"type": "complaint",
                                               "email": "cy@customer.example"}]})
    assert complained.status_code == 202
    row = get_contact(rt, leaver)
    one_click = compose.Links(rt.tokens, "", row.id, row.email_key, 1).unsubscribe
    assert client.post(one_click, data={"List-Unsubscribe": "One-Click"}).status_code == 200
    for cid in (complainer, leaver):
        event(rt, cid, "custom.joined")
    assert {s.step_id: s.reason for s in sends(rt, complainer)} == dict.fromkeys(
        ("note", "hello", "news"), "suppressed:complained")
    assert {s.step_id: (s.status, s.reason) for s in sends(rt, leaver)} == {
        "note": ("sent", None), "hello": ("sent", None),
        "news": ("skipped", "suppressed:unsubscribed")}
