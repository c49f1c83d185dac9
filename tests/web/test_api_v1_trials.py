"""`/api/v1/trials`: the list, one trial with its usage and days left, and usage reports
with the old endpoint's rules (a seat once, no seat beyond the count, no usage once over)."""

from __future__ import annotations

from datetime import timedelta

from nurture.trials import lifecycle
from nurture.trials.models import Trial
from tests.helpers import ApiClient, contact, events, problem_of


def _trial(rt, email: str = "ann@example.com", seats: int = 2, status: str = "active",
           days: int = 30) -> int:
    cid = contact(rt, email)
    now = rt.clock.now()
    with rt.db.transaction() as session:
        row = Trial(contact_id=cid, company="Acme", services=["crm", "email-campaigns"],
                    seats=seats, status=status, started_at=now,
                    ends_at=now + timedelta(days=days))
        session.add(row)
        session.flush()
        return row.id


def test_usage_is_recorded_and_shows_on_the_trial_with_its_days_left(rt):
    trial_id = _trial(rt)
    rt.clock.advance(timedelta(days=10, hours=2))
    api = ApiClient(rt, role="marketer", scope="write")
    url = f"/api/v1/trials/{trial_id}/usage"
    seat = api.post(url, json={"type": "seat_activated", "seat": "ann@example.com"})
    assert seat.status_code == 201 and seat.json["seats_activated"] == 1, seat.text
    again = api.post(url, json={"type": "seat_activated", "seat": "ANN@example.com "})
    assert again.status_code == 200 and again.json["recorded"] is False
    for _ in range(2):
        assert api.post(url, json={"type": "service_used",
                                   "service": "Email campaigns"}).status_code == 201
    api.post(url, json={"type": "seat_activated", "seat": "bob@example.com"})
    full = problem_of(api.post(url, json={"type": "seat_activated", "seat": "cy@example.com"}),
                      422)
    assert "All 2 seats" in full["detail"]
    problem_of(api.post(url, json={"type": "service_used", "service": "billing"}), 422)
    problem_of(api.post(url, json={"type": "seat_activated"}), 422)  # which seat?
    assert len(events(rt, "trial.service_used")) == 2

    shown = api.get(f"/api/v1/trials/{trial_id}")
    assert shown.status_code == 200, shown.text
    body = shown.json
    assert body["days_left"] == 20 and body["status"] == "active"
    assert body["usage"]["seats_activated"] == 2
    assert [(s["service"], s["uses"]) for s in body["usage"]["services"]] == \
        [("email-campaigns", 2)]
    assert api.get(f"/api/v1/trials/{trial_id}",
                   headers={"If-None-Match": shown.headers["ETag"]}).status_code == 304
    problem_of(api.get("/api/v1/trials/999999"), 404)


def test_a_retried_usage_report_with_its_key_counts_once(rt):
    trial_id = _trial(rt)
    api = ApiClient(rt)
    body = {"type": "service_used", "service": "crm"}
    for _ in range(2):
        done = api.post(f"/api/v1/trials/{trial_id}/usage", json=body,
                        headers={"Idempotency-Key": "use-1"})
        assert done.status_code == 201
    assert len(events(rt, "trial.service_used")) == 1


def test_usage_of_a_trial_that_is_over_is_a_409_and_nothing_is_recorded(rt):
    trial_id = _trial(rt)
    lifecycle.expire_due(rt, rt.settings, rt.clock.now() + timedelta(days=31))
    api = ApiClient(rt)
    over = problem_of(api.post(f"/api/v1/trials/{trial_id}/usage",
                               json={"type": "service_used", "service": "crm"}), 409)
    assert "not active" in over["detail"]
    assert api.get(f"/api/v1/trials/{trial_id}").json["days_left"] is None


def test_the_list_pages_newest_first_and_filters_by_status_and_needs_a_token(rt):
    ids = [_trial(rt, f"c{i}@example.com") for i in range(3)]
    converted = _trial(rt, "d@example.com", status="converted")
    reader = ApiClient(rt, role="sales", scope="read")
    walked, url = [], "/api/v1/trials?limit=2"
    while url:
        page = reader.get(url).json
        walked += [t["id"] for t in page["data"]]
        url = page["next_cursor"] and f"/api/v1/trials?limit=2&cursor={page['next_cursor']}"
    assert walked == [converted, *reversed(ids)]
    only = reader.get("/api/v1/trials?status=converted").json["data"]
    assert [t["id"] for t in only] == [converted] and only[0]["usage"] is None
    problem_of(reader.post(f"/api/v1/trials/{ids[0]}/usage",
                           json={"type": "service_used", "service": "crm"}), 403)
    problem_of(reader.get("/api/v1/trials?status=gone"), 422)
    assert reader.client.get("/api/v1/trials").status_code == 401
