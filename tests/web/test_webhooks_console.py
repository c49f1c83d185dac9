"""The webhooks console: a marketer adds an endpoint, copies its secret, changes its
events, rotates the secret, disables it, reads the delivery log and replays a delivery."""

from __future__ import annotations

import html
import re

import pytest
from standardwebhooks import Webhook

from tests.helpers import contact, csrf, record, run_due, running, signed_in
from tests.nurture.webhooks.webhook_receiver import receiving


@pytest.fixture
def hooks(settings, clock):
    with running(settings.with_(webhook_allow=("127.0.0.1",)), clock) as rt:
        yield rt


def _secret(page: str) -> str:
    return re.search(r"shown this once: <code>(whsec_[^<]+)</code>", page).group(1)


def test_a_marketer_adds_an_endpoint_that_then_receives_signed_events(hooks):
    web = signed_in(hooks, "marketer")
    with receiving(codes=[500]) as receiver:
        token = csrf(web.get("/webhooks").text)
        added = web.post("/webhooks", data={"csrf_token": token, "url": receiver.url,
                                            "events": "demo.*", "description": "Our CRM"})
        assert added.status_code == 303
        page = web.get(added.location).text
        secret = _secret(page)
        assert "shown this once" not in web.get(added.location).text  # once only
        record(hooks, contact(hooks), "demo.requested")  # a 500 first
        log = web.get("/webhooks").text
        assert "500" in log and "demo.requested" in log and "answer 500" in log
        delivery_id = re.search(r'/webhooks/deliveries/(\d+)/replay', log).group(1)
        replayed = web.post(f"/webhooks/deliveries/{delivery_id}/replay",
                            data={"csrf_token": token})
        assert "was queued again" in web.get(replayed.location).text
        run_due(hooks)
    headers, body = receiver.received[-1]
    assert Webhook(secret).verify(body, headers)["type"] == "demo.requested"


def test_events_are_changed_the_secret_rotated_and_the_endpoint_disabled(hooks):
    web = signed_in(hooks, "marketer")
    token = csrf(web.get("/webhooks").text)
    place = web.post("/webhooks", data={"csrf_token": token, "url": "https://h.example/in",
                                        "events": "demo.*", "description": ""}).location
    first = _secret(web.get(place).text)
    saved = web.post(place, data={"csrf_token": token, "url": "https://h.example/v2",
                                  "events": "trial.*, contact.created", "description": "v2"})
    page = web.get(saved.location).text
    assert "https://h.example/v2" in page and "trial.*\ncontact.created" in html.unescape(page)
    rotated = web.get(web.post(f"{place}/rotate", data={"csrf_token": token}).location).text
    assert _secret(rotated) != first and "The previous secret signs too until" in rotated
    off = web.get(web.post(f"{place}/enabled", data={"csrf_token": token, "enabled": "0"})
                  .location).text
    assert "Disabled: Disabled by a user." in off


def test_bad_input_is_shown_with_a_sentence_and_nothing_stored(hooks):
    web = signed_in(hooks, "marketer")
    token = csrf(web.get("/webhooks").text)
    refused = web.post("/webhooks", data={"csrf_token": token, "url": "javascript:alert(1)",
                                          "events": "demo.*", "description": ""})
    assert refused.status_code == 422
    assert "The URL must be an http or https address." in refused.text
    assert "No endpoints yet." in refused.text
    inside = web.post("/webhooks", data={"csrf_token": token, "url": "http://10.1.2.3/in",
                                         "events": "demo.*", "description": ""})
    assert inside.status_code == 422  # the SSRF guard's rule, when the URL is saved
    assert "resolves to 10.1.2.3, an address inside the network" in inside.text
    assert "No endpoints yet." in inside.text
    assert web.post("/webhooks", data={"url": "https://h.example", "events": "*"}
                    ).status_code == 400  # no CSRF token
    assert web.get("/webhooks/999").status_code == 404
