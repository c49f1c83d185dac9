"""`/api/v1/webhooks`: a subscription made through the API shows its secret once, signs
what it delivers with it, rotates it (the old one signing a day more), is changed and
deleted; its deliveries are paged and replayed; an inside address is refused at once."""

from __future__ import annotations

import pytest
from standardwebhooks import Webhook

from nurture.webhooks.models import WebhookDelivery, WebhookEndpoint
from tests.helpers import ApiClient, contact, count, problem_of, record, run_due, running
from tests.nurture.webhooks.webhook_receiver import receiving


@pytest.fixture
def hooks(settings, clock):
    with running(settings.with_(webhook_allow=("127.0.0.1",)), clock) as rt:
        yield rt


def test_the_secret_is_shown_once_signs_deliveries_and_rotates_with_an_overlap(hooks):
    api = ApiClient(hooks, role="marketer", scope="write")
    with receiving(codes=[500]) as receiver:
        made = api.post("/api/v1/webhooks", json={
            "url": receiver.url, "event_types": ["demo.*"], "description": "Our CRM"},
            headers={"Idempotency-Key": "w1"})
        assert made.status_code == 201, made.text
        secret = made.json["secret"]
        assert secret.startswith("whsec_") and made.headers["Cache-Control"] == "no-store"
        url = made.headers["Location"]
        shown = api.get(url)
        assert "secret" not in shown.json and secret not in shown.text
        assert shown.json["event_types"] == ["demo.*"] and shown.json["enabled"] is True
        assert all("secret" not in w for w in api.get("/api/v1/webhooks").json["data"])
        record(hooks, contact(hooks), "demo.requested")  # answered 500 first
        [failed] = api.get(f"{url}/deliveries").json["data"]
        assert (failed["event"], failed["response_code"], failed["attempts"]) == \
            ("demo.requested", 500, 1)
        assert failed["duration_ms"] is not None and failed["status"] == "pending"
        replayed = api.post(f"/api/v1/webhooks/deliveries/{failed['id']}/replay")
        assert replayed.status_code == 201, replayed.text
        assert replayed.json["source"] == "replay" and replayed.json["id"] != failed["id"]
        assert api.get(replayed.headers["Location"]).json["event"] == "demo.requested"
        run_due(hooks)
        headers, body = receiver.received[-1]
        assert Webhook(secret).verify(body, headers)["type"] == "demo.requested"
        rotated = api.post(f"{url}/rotate-secret")
        assert rotated.status_code == 200, rotated.text
        new = rotated.json["secret"]
        assert new != secret and rotated.json["rotating_until"] is not None
        assert "secret" not in api.get(url).json
        record(hooks, contact(hooks, "bo@example.com"), "demo.requested")
        run_due(hooks)
        headers, body = receiver.received[-1]
        assert Webhook(new).verify(body, headers) and Webhook(secret).verify(body, headers)
    assert count(hooks, WebhookEndpoint) == 1  # the retried create made none


def test_an_inside_address_is_refused_when_saved_with_a_sentence(hooks):
    api = ApiClient(hooks, role="marketer", scope="write")
    refused = problem_of(api.post("/api/v1/webhooks", json={
        "url": "http://169.254.169.254/latest/meta-data", "event_types": ["*"]}), 422)
    assert refused["detail"] == ("The host 169.254.169.254 resolves to 169.254.169.254, an "
                                 "address inside the network; add it to "
                                 "NURTURE_WEBHOOK_ALLOW to deliver there.")
    assert count(hooks, WebhookEndpoint) == 0
    problem_of(api.post("/api/v1/webhooks", json={"url": "ftp://files.example/x",
                                                  "event_types": ["*"]}), 422)
    problem_of(api.post("/api/v1/webhooks", json={"url": "https://h.example/in",
                                                  "event_types": ["Not a type"]}), 422)
    made = api.post("/api/v1/webhooks", json={"url": "https://h.example/in",
                                              "event_types": ["*"]})
    assert made.status_code == 201  # a name that does not resolve yet is kept
    moved = problem_of(api.patch(made.headers["Location"],
                                 json={"url": "http://10.0.0.7/hook"}), 422)
    assert "inside the network" in moved["detail"]
    assert api.get(made.headers["Location"]).json["url"] == "https://h.example/in"


def test_an_endpoint_is_changed_disabled_and_deleted_with_its_deliveries(hooks):
    api = ApiClient(hooks, role="marketer", scope="write")
    made = api.post("/api/v1/webhooks", json={"url": "https://h.example/in",
                                              "event_types": ["demo.*"]})
    url, tag = made.headers["Location"], api.get(made.headers["Location"]).headers["ETag"]
    changed = api.patch(url, json={"event_types": ["trial.*", "contact.created"],
                                   "description": "v2", "enabled": False},
                        headers={"If-Match": tag})
    assert changed.status_code == 200, changed.text
    assert changed.json["event_types"] == ["trial.*", "contact.created"]
    assert changed.json["enabled"] is False and changed.json["disabled_reason"]
    assert changed.json["url"] == "https://h.example/in"
    problem_of(api.patch(url, json={"description": "v3"}, headers={"If-Match": tag}), 412)
    assert api.delete(url).status_code == 204
    problem_of(api.get(url), 404)
    problem_of(api.get(f"{url}/deliveries"), 404)
    problem_of(api.post("/api/v1/webhooks/deliveries/999/replay"), 404)


def test_deliveries_page_newest_first_and_read_tokens_cannot_manage(hooks):
    api = ApiClient(hooks, role="marketer", scope="write")
    made = api.post("/api/v1/webhooks", json={"url": "https://h.example/in",
                                              "event_types": ["demo.*"]}).json
    for i in range(3):
        record(hooks, contact(hooks, f"c{i}@example.com"), "demo.requested")
    ids, url = [], f"/api/v1/webhooks/{made['id']}/deliveries?limit=2"
    while url:
        page = api.get(url).json
        ids += [d["id"] for d in page["data"]]
        url = page["next_cursor"] and (f"/api/v1/webhooks/{made['id']}/deliveries?limit=2"
                                       f"&cursor={page['next_cursor']}")
    assert len(ids) == 3 and ids == sorted(ids, reverse=True)
    reader = ApiClient(hooks, role="sales", scope="read")
    assert reader.get("/api/v1/webhooks").json["data"][0]["id"] == made["id"]
    problem_of(reader.post("/api/v1/webhooks", json={"url": "https://h.example/x",
                                                     "event_types": ["*"]}), 403)
    problem_of(reader.post(f"/api/v1/webhooks/{made['id']}/rotate-secret"), 403)
    problem_of(reader.delete(f"/api/v1/webhooks/{made['id']}"), 403)
    problem_of(reader.post(f"/api/v1/webhooks/deliveries/{ids[0]}/replay"), 403)
    assert count(hooks, WebhookDelivery) == 3
