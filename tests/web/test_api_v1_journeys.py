"""`/api/v1/journeys`: the list with counts, versions, and entering and taking out one
contact by the engine's rules (re-entry, audience), as the console does."""

from __future__ import annotations

from datetime import timedelta

from journeys.models import Enrollment
from nurture.contacts.models import ContactChange
from tests.helpers import (
    ApiClient,
    advance_clock,
    contact,
    count,
    enrollments,
    problem_of,
    publish_text,
    run_due,
    sends,
)

JOURNEY = """
id: welcome
name: Welcome
topic: product
entry: {event: custom.joined}
{reentry}
steps:
  - id: hello
    send: trial-welcome
    class: transactional
  - id: pause
    wait: 2d
  - id: tips
    send: trial-welcome
"""


def _publish(rt, reentry: str = "", journey_id: str = "welcome") -> None:
    publish_text(rt, JOURNEY.replace("{reentry}", reentry).replace("welcome", journey_id, 1))


def _take_out(rt, api, cid: int) -> None:
    """Take the contact out once the worker has run their first step (while it holds the
    enrollment, a take-out is a 409, as in the console)."""
    run_due(rt)
    out = api.delete(f"/api/v1/journeys/welcome/enrollments/{cid}")
    assert out.status_code == 204, out.text


def test_a_contact_entered_by_the_api_is_sent_the_first_email_and_taken_out_stops(rt):
    _publish(rt)
    cid = contact(rt, "ann@example.com")
    api = ApiClient(rt, role="marketer", scope="write")
    made = api.post("/api/v1/journeys/welcome/enrollments", json={"email": "Ann@example.com"})
    assert made.status_code == 201, made.text
    assert made.json["contact_id"] == cid and made.json["status"] in ("active", "scheduled")
    assert made.headers["Location"].endswith(f"/api/v1/journeys/welcome/enrollments/{cid}")
    advance_clock(rt, timedelta(hours=1))
    assert len(sends(rt, cid)) == 1  # the engine ran its first step
    assert count(rt, ContactChange, ContactChange.field == "journey") == 1

    out = api.delete(f"/api/v1/journeys/welcome/enrollments/{cid}")
    assert out.status_code == 204, out.text
    ended = api.get(made.headers["Location"]).json
    assert ended["status"] == "exited"
    assert ended["exit_reason"] == "removed by marketer-write-api@example.com"
    advance_clock(rt, timedelta(days=3))
    assert len(sends(rt, cid)) == 1  # no more of its emails
    assert api.get(made.headers["Location"]).json["status"] == "exited"
    problem_of(api.delete(f"/api/v1/journeys/welcome/enrollments/{cid}"), 404)


def test_re_entry_is_refused_as_the_engine_refuses_it(rt):
    _publish(rt)  # once, the default
    cid = contact(rt, "ann@example.com")
    api = ApiClient(rt)
    assert api.post("/api/v1/journeys/welcome/enrollments",
                    json={"contact_id": cid}).status_code == 201
    already = problem_of(api.post("/api/v1/journeys/welcome/enrollments",
                                  json={"contact_id": cid}), 409)
    assert "in the journey already" in already["detail"]
    _take_out(rt, api, cid)
    once = problem_of(api.post("/api/v1/journeys/welcome/enrollments",
                               json={"contact_id": cid}), 409)
    assert "only once" in once["detail"]
    assert len(enrollments(rt, cid)) == 1


def test_re_entry_after_a_period_is_allowed_once_it_has_passed(rt):
    _publish(rt, "reentry: {after: 10d}")
    cid = contact(rt, "ann@example.com")
    api = ApiClient(rt)
    api.post("/api/v1/journeys/welcome/enrollments", json={"contact_id": cid})
    _take_out(rt, api, cid)
    soon = problem_of(api.post("/api/v1/journeys/welcome/enrollments",
                               json={"contact_id": cid}), 409)
    assert "enter again from" in soon["detail"]
    rt.clock.advance(timedelta(days=11))
    assert api.post("/api/v1/journeys/welcome/enrollments",
                    json={"contact_id": cid}).status_code == 201
    assert [e.status for e in enrollments(rt, cid)] == ["exited", "active"]


def test_a_contact_outside_the_audience_or_unknown_is_refused(rt):
    publish_text(rt, JOURNEY.replace("{reentry}", "stages: [try]"))
    cid = contact(rt, "ann@example.com", stage="learn")
    api = ApiClient(rt)
    audience = problem_of(api.post("/api/v1/journeys/welcome/enrollments",
                                   json={"contact_id": cid}), 409)
    assert "audience" in audience["detail"]
    problem_of(api.post("/api/v1/journeys/welcome/enrollments",
                        json={"contact_id": 999999}), 404)
    problem_of(api.post("/api/v1/journeys/welcome/enrollments",
                        json={"email": "nobody@example.com"}), 404)
    problem_of(api.post("/api/v1/journeys/nope/enrollments", json={"contact_id": cid}), 404)
    both = problem_of(api.post("/api/v1/journeys/welcome/enrollments",
                               json={"contact_id": cid, "email": "ann@example.com"}), 422)
    assert "either contact_id or email" in both["detail"]
    assert count(rt, Enrollment) == 0


def test_the_list_pages_with_counts_and_a_journey_reads_with_its_etag(rt):
    for name in ("a-one", "b-two", "c-three"):
        _publish(rt, journey_id=name)
    cid = contact(rt, "ann@example.com")
    api = ApiClient(rt, role="sales", scope="read")
    admin = ApiClient(rt)
    admin.post("/api/v1/journeys/b-two/enrollments", json={"contact_id": cid})
    first = api.get("/api/v1/journeys?limit=2")
    assert [j["id"] for j in first.json["data"]] == ["a-one", "b-two"]
    assert first.json["data"][1]["active"] == 1 and first.json["data"][1]["status"] == "live"
    rest = api.get(f"/api/v1/journeys?limit=2&cursor={first.json['next_cursor']}")
    assert [j["id"] for j in rest.json["data"]] == ["c-three"]
    assert rest.json["next_cursor"] is None
    one = api.get("/api/v1/journeys/b-two")
    assert one.json["entered"] == 1 and one.json["version"] == 1
    assert api.get("/api/v1/journeys/b-two",
                   headers={"If-None-Match": one.headers["ETag"]}).status_code == 304
    problem_of(api.get("/api/v1/journeys/none-such"), 404)
    problem_of(api.get("/api/v1/journeys/BAD%20ID"), 404)
    # A read token cannot enter anyone.
    problem_of(api.post("/api/v1/journeys/a-one/enrollments", json={"contact_id": cid}), 403)
    problem_of(api.delete(f"/api/v1/journeys/b-two/enrollments/{cid}"), 403)


def test_versions_page_newest_first_and_enrollments_filter_by_status(rt):
    _publish(rt)
    publish_text(rt, JOURNEY.replace("{reentry}", "").replace("name: Welcome",
                                                              "name: Welcome 2"))
    api = ApiClient(rt)
    versions = api.get("/api/v1/journeys/welcome/versions?limit=1")
    assert [v["version"] for v in versions.json["data"]] == [2]
    older = api.get(f"/api/v1/journeys/welcome/versions?limit=1"
                    f"&cursor={versions.json['next_cursor']}")
    assert [v["version"] for v in older.json["data"]] == [1]
    problem_of(api.get("/api/v1/journeys/none/versions"), 404)
    ids = [contact(rt, f"c{i}@example.com") for i in range(3)]
    for cid in ids:
        api.post("/api/v1/journeys/welcome/enrollments", json={"contact_id": cid})
    _take_out(rt, api, ids[1])
    exited = api.get("/api/v1/journeys/welcome/enrollments?status=exited")
    assert [e["contact_id"] for e in exited.json["data"]] == [ids[1]]
    walked, url = [], "/api/v1/journeys/welcome/enrollments?status=in&limit=1"
    while url:
        page = api.get(url).json
        walked += [e["contact_id"] for e in page["data"]]
        url = page["next_cursor"] and \
            f"/api/v1/journeys/welcome/enrollments?status=in&limit=1&cursor={page['next_cursor']}"
    assert walked == [ids[0], ids[2]]
    problem_of(api.get("/api/v1/journeys/welcome/enrollments?status=gone"), 422)


def test_two_requests_entering_the_same_contact_at_once_make_one_enrollment(rt):
    from concurrent.futures import ThreadPoolExecutor

    _publish(rt)
    cid = contact(rt, "ann@example.com")
    callers = [ApiClient(rt, email=f"caller{i}@example.com") for i in range(2)]
    with ThreadPoolExecutor(2) as pool:
        answers = list(pool.map(lambda api: api.post(
            "/api/v1/journeys/welcome/enrollments", json={"contact_id": cid}).status_code,
            callers))
    assert sorted(answers) == [201, 409]
    assert len(enrollments(rt, cid)) == 1
