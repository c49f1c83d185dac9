"""`/api/v1/broadcasts`: a broadcast created as the console's form makes it, followed by its
live counts, paused, resumed and cancelled by the console's rules, and listed a page at a
time."""

from __future__ import annotations

from datetime import timedelta

from nurture.broadcasts import queries
from nurture.contacts import lists
from tests.helpers import ApiClient, problem_of, run_due
from tests.nurture.broadcasts.conftest import TEMPLATE_A, TEMPLATE_B, audience, broadcast


def _list_id(rt) -> int:
    with rt.db.sessions() as session:
        return lists.find(session, "Newsletter")


def test_a_broadcast_is_created_paused_resumed_and_cancelled_with_its_counts(rt):
    audience(rt, 6)
    api = ApiClient(rt, role="marketer", scope="write")
    body = {"name": "Spring news", "audience": "list", "audience_id": _list_id(rt),
            "arms": [{"template": TEMPLATE_A}], "timing": "at",
            "send_at": (rt.clock.now() + timedelta(hours=2)).isoformat()}
    made = api.post("/api/v1/broadcasts", json=body, headers={"Idempotency-Key": "b1"})
    assert made.status_code == 201, made.text
    retry = api.post("/api/v1/broadcasts", json=body, headers={"Idempotency-Key": "b1"})
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert len(queries.listed(rt.db)) == 1  # one campaign, however often it is retried
    url, shown = made.headers["Location"], made.json
    assert shown["status"] == "sending" and shown["recipients"] == 6
    assert shown["progress"]["queued"] == 6 and shown["report"]["sent"] == 0
    assert shown["created_by"] == "marketer-write-api@example.com"
    paused = api.post(f"{url}/pause", json={"reason": "wrong link"})
    assert paused.status_code == 200, paused.text
    assert paused.json["paused"] == "wrong link" and paused.json["progress"]["paused"] == 6
    assert api.post(f"{url}/pause", json={"reason": "again"}).json["paused"] == "wrong link"
    resumed = api.post(f"{url}/resume", json={"reason": "fixed"}).json
    assert resumed["paused"] is None and resumed["progress"]["queued"] == 6
    problem_of(api.post(f"{url}/resume", json={"reason": "fixed"}), 409)
    cancelled = api.post(f"{url}/cancel")
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json["status"] == "cancelled" and cancelled.json["never_sent"] == 6
    assert cancelled.json["progress"]["cancelled"] == 6
    again = problem_of(api.post(f"{url}/cancel"), 409)
    assert again["detail"] == f"The broadcast #{shown['id']} was cancelled."
    problem_of(api.post(f"{url}/pause", json={"reason": "late"}), 409)
    run_due(rt)
    assert api.get(url).json["report"]["sent"] == 0  # nothing went after the cancel


def test_a_sent_broadcast_shows_its_report_and_an_ab_test_its_arms(rt):
    audience(rt, 4)
    api = ApiClient(rt, role="marketer", scope="write")
    made = api.post("/api/v1/broadcasts", json={
        "name": "Now", "audience": "list", "audience_id": _list_id(rt),
        "arms": [{"template": TEMPLATE_A}]}).json
    run_due(rt)
    shown = api.get(f"/api/v1/broadcasts/{made['id']}").json
    assert shown["progress"]["sent"] == 4 and shown["report"]["sent"] == 4
    tested = api.post("/api/v1/broadcasts", json={
        "name": "Test", "audience": "list", "audience_id": _list_id(rt),
        "arms": [{"template": TEMPLATE_A}, {"template": TEMPLATE_B, "subject": "Hi"}],
        "sample_percent": 50}).json
    assert tested["status"] == "testing" and tested["templates"] == [TEMPLATE_A, TEMPLATE_B]
    assert tested["subjects"] == ["", "Hi"]


def test_a_bad_plan_is_a_422_naming_every_field_and_saves_nothing(rt):
    audience(rt, 1)
    api = ApiClient(rt, role="marketer", scope="write")
    refused = api.post("/api/v1/broadcasts", json={
        "name": "X", "audience": "list", "audience_id": 1, "arms": [{"template": "nope"}],
        "timing": "local", "local_time": "25:99"})
    assert refused.status_code == 422  # every field that is wrong, each with its sentence
    assert [(e["field"], e["detail"]) for e in refused.json["errors"]] == [
        ("template", "There is no email template 'nope'."),
        ("local_time", "Give the time of day as HH:MM, e.g. 10:00.")]
    no_list = problem_of(api.post("/api/v1/broadcasts", json={
        "name": "X", "audience": "list", "audience_id": 999,
        "arms": [{"template": TEMPLATE_A}]}), 422)
    assert no_list["errors"] == [{"field": "audience", "detail": "There is no list '999'."}]
    problem_of(api.post("/api/v1/broadcasts", json={
        "name": "X", "audience": "list", "audience_id": 1, "arms": []}), 422)
    assert queries.listed(rt.db) == []


def test_broadcasts_page_by_status_and_read_tokens_only_read(rt):
    audience(rt, 2)
    for i in range(3):
        broadcast(rt, name=f"B{i}")
    reader = ApiClient(rt, role="sales", scope="read")
    seen, url = [], "/api/v1/broadcasts?status=sending&limit=2"
    while url:
        page = reader.get(url).json
        seen += [b["name"] for b in page["data"]]
        url = page["next_cursor"] and \
            f"/api/v1/broadcasts?status=sending&limit=2&cursor={page['next_cursor']}"
    assert seen == ["B0", "B1", "B2"]
    assert reader.get("/api/v1/broadcasts?status=cancelled").json["data"] == []
    first = reader.get("/api/v1/broadcasts").json["data"][0]["id"]
    problem_of(reader.post(f"/api/v1/broadcasts/{first}/cancel"), 403)
    problem_of(reader.post("/api/v1/broadcasts", json={}), 403)
    problem_of(reader.get("/api/v1/broadcasts/999"), 404)
    assert reader.get(f"/api/v1/broadcasts/{first}").json["status"] == "sending"
