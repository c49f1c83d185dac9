"""The delivery engine end to end: recorded events reach the endpoints that subscribe to
them, signed as Standard Webhooks receivers check; failures are retried with backoff for
3 days; an endpoint that keeps failing is disabled and its owner told; a delivery can be
replayed; the CRM hand-off and journey steps go the same way."""

from __future__ import annotations

import io
import itertools
import json
from dataclasses import replace
from datetime import timedelta

import pytest
from standardwebhooks import Webhook

from nurture.webhooks import endpoints, schedule, signing
from nurture.webhooks.errors import EndpointError
from nurture.webhooks.models import WebhookDelivery, WebhookEndpoint
from nurture.webhooks.services import replay
from tests.factories import rep
from tests.helpers import contact, mail_to, publish_text, record, rows, run_due, running
from tests.nurture.webhooks.webhook_receiver import receiving

ALLOW = ("127.0.0.1",)


@pytest.fixture
def hooks(settings, clock):
    with running(settings.with_(webhook_allow=ALLOW), clock) as rt:
        yield rt


def endpoint(rt, url, events=("demo.*",), owner=None) -> WebhookEndpoint:
    with rt.db.transaction() as session:
        made = endpoints.create(session, url, events, "CRM", owner, rt.clock.now())
        session.expunge(made)
        return made


def deliveries(rt) -> list[WebhookDelivery]:
    return sorted(rows(rt, WebhookDelivery), key=lambda d: d.id)


def test_a_subscribed_event_arrives_signed_as_standard_webhooks_checks(hooks):
    with receiving() as receiver:
        hook = endpoint(hooks, receiver.url, ("demo.*", "trial.started"))
        cid = contact(hooks, "ann@example.com")
        record(hooks, cid, "demo.requested", "custom.pinged")
    [(headers, body)] = receiver.received  # custom.pinged is not subscribed to
    payload = Webhook(hook.secret).verify(body, headers)
    assert payload["type"] == "demo.requested" and payload["data"]["contact_id"] == cid
    [row] = deliveries(hooks)
    assert (row.status, row.attempts, row.response_code, row.endpoint_id) == (
        "delivered", 1, 200, hook.id)
    assert len(row.response_excerpt) == 500 and row.duration_ms is not None
    assert headers["webhook-id"] == row.delivery_key


def test_after_a_rotation_both_secrets_verify_for_a_day(hooks):
    with receiving() as receiver:
        hook = endpoint(hooks, receiver.url)
        with hooks.db.transaction() as session:
            new = endpoints.rotate(session.get(WebhookEndpoint, hook.id), hooks.clock.now())
        record(hooks, contact(hooks), "demo.requested")
        hooks.clock.advance(timedelta(hours=25))
        record(hooks, contact(hooks, "bo@example.com"), "demo.requested")
    (first, first_body), (second, second_body) = receiver.received
    for secret in (hook.secret, new):
        Webhook(secret).verify(first_body, first)
    assert len(first["webhook-signature"].split()) == 2
    Webhook(new).verify(second_body, second)
    with pytest.raises(Exception, match="signature"):
        Webhook(hook.secret).verify(second_body, second)


def test_failures_are_retried_with_growing_waits_then_failed_after_three_days(hooks):
    with receiving(codes=[503] * 100) as receiver:
        endpoint(hooks, receiver.url)
        record(hooks, contact(hooks), "demo.requested")
        waits = []
        for _ in range(40):
            [row] = deliveries(hooks)
            if row.status != "pending":
                break
            waits.append(row.due_at - hooks.clock.now())
            hooks.clock.advance(row.due_at - hooks.clock.now())
            run_due(hooks)
    [row] = deliveries(hooks)
    assert row.status == "failed" and row.response_code == 503
    assert row.last_error == "HTTP 503" and row.attempts == len(receiver.received)
    assert timedelta(seconds=24) <= waits[0] <= timedelta(seconds=36)  # 30 s ± jitter
    assert all(b > a for a, b in itertools.pairwise(waits[:8]))  # doubling beats jitter
    assert max(waits) <= schedule.LONGEST_WAIT * (1 + schedule.JITTER)
    assert hooks.clock.now() - row.created_at <= schedule.GIVE_UP_AFTER


def test_an_endpoint_failing_for_three_days_is_disabled_and_its_owner_told(hooks):
    owner = rep(hooks, "owner@example.com")
    with receiving(codes=[500] * 200) as receiver:
        hook = endpoint(hooks, receiver.url, owner=owner)
        cid = contact(hooks)
        record(hooks, cid, "demo.requested")
        for _ in range(14):  # an event every 6 hours, each retried, none getting through
            hooks.clock.advance(timedelta(hours=6))
            record(hooks, cid, "demo.requested")
            run_due(hooks)
    [row] = rows(hooks, WebhookEndpoint)
    assert not row.enabled and row.disabled_reason == "50 deliveries in a row failed."
    # (the owner, a sales rep here, also gets the hand-offs of the demo requests)
    [notice] = [m for m in mail_to(hooks, "owner@example.com")
                if m["Subject"] == "A webhook endpoint was disabled"]
    assert receiver.url in notice.get_content()
    sent = len(receiver.received)
    record(hooks, cid, "demo.requested")  # a disabled endpoint gets nothing more
    assert len(receiver.received) == sent
    assert not any(d.status == "pending" for d in deliveries(hooks))
    assert hook.id == row.id


def test_a_delivery_can_be_replayed(hooks):
    with receiving() as receiver:
        endpoint(hooks, receiver.url)
        record(hooks, contact(hooks), "demo.requested")
        [original] = deliveries(hooks)
        with hooks.db.transaction() as session:
            copy_id = replay(session, original.id, hooks.clock.now())
        hooks.transport.join(interval_ms=5)
        run_due(hooks)
    assert len(receiver.received) == 2 and receiver.received[0][1] == receiver.received[1][1]
    copy = next(d for d in deliveries(hooks) if d.id == copy_id)
    assert (copy.status, copy.event_id) == ("delivered", original.event_id)


def test_a_refused_address_is_a_failure_with_its_reason_in_the_log(settings, clock):
    with running(settings, clock) as rt:  # no allow list
        with receiving() as receiver:
            endpoint(rt, receiver.url)
            record(rt, contact(rt), "demo.requested")
        assert receiver.received == []
        [row] = deliveries(rt)
        assert "inside the network" in row.last_error and row.response_code is None


def test_journey_webhook_steps_go_through_the_engine(hooks):
    with receiving() as receiver:
        publish_text(hooks, f"""
            id: hooked
            name: Hooked
            entry: {{event: custom.joined}}
            steps:
              - {{id: tell, webhook: {{url: "{receiver.url}", event: joined}}}}
        """)
        record(hooks, contact(hooks), "custom.joined")
    [(headers, body)] = receiver.received
    Webhook(signing.derived_secret(hooks.settings.secret_key)).verify(body, headers)
    [row] = deliveries(hooks)
    assert (row.status, row.endpoint_id, row.response_code) == ("delivered", None, 200)


def test_the_crm_hand_off_goes_through_the_engine(hooks):
    with receiving(codes=[503]) as receiver:
        crm = hooks.settings.with_(scoring=replace(hooks.settings.scoring,
                                                   crm_webhook_url=receiver.url))
        with running(crm, hooks.clock) as rt:
            rep(rt, "anna@sales.example")
            record(rt, contact(rt, "ivy@example.com", first_name="Ivy"), "demo.requested")
            rt.clock.advance(timedelta(minutes=1))
            run_due(rt)
            [row] = deliveries(rt)
    headers, body = receiver.received[-1]
    Webhook(signing.derived_secret(crm.secret_key)).verify(body, headers)
    assert json.loads(body)["lead"]["first_name"] == "Ivy"
    assert (row.status, row.attempts) == ("delivered", 2)


def test_bad_endpoint_settings_are_refused_with_a_sentence(hooks):
    with hooks.db.transaction() as session:
        for url, events, message in [("javascript:alert(1)", ["a.b"], "http or https"),
                                     ("https://x.example", [], "at least one"),
                                     ("https://x.example", ["DROP TABLE"], "not an event")]:
            with pytest.raises(EndpointError, match=message):
                endpoints.create(session, url, events, "", None, hooks.clock.now())
    assert rows(hooks, WebhookEndpoint) == []


def test_new_contacts_reach_an_endpoint_and_leave_with_an_erasure(hooks):
    from nurture.app import contact_admin
    from nurture.contacts.imports import service as imports
    from nurture.contacts.imports import uploads
    from nurture.contacts.imports.options import Options

    with receiving() as receiver:
        endpoint(hooks, receiver.url, ("contact.created",))
        upload = uploads.store(hooks.settings.var_dir, io.BytesIO(b"email\ncy@example.com\n"))
        imports.create(hooks, uploads.path_of(hooks.settings.var_dir, upload), "p.csv",
                       {"email": "email"}, Options(), "test", background=True)
        run_due(hooks)  # the import's batch (the bulk path), then the delivery
    [(_headers, body)] = receiver.received
    assert json.loads(body)["type"] == "contact.created"
    contact_admin.erase(hooks, "cy@example.com", "admin@example.com")
    assert deliveries(hooks) == []  # the log kept nothing about them
