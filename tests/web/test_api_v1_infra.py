"""What every /api/v1 resource shares, shown on segments: cursor pages that stay stable
while rows are added, cursors that cannot be forged or moved to other filters, ETags that
save a re-read and refuse a blind overwrite, and idempotency keys that make a retried create
harmless."""

from __future__ import annotations

from datetime import timedelta

import pytest

from nurture.audiences.models import Segment
from nurture.errors import Conflict
from nurture.idempotency import services as keys
from nurture.idempotency.models import IdempotencyKey
from tests.helpers import ApiClient, count, problem_of


def _segments(api: ApiClient, n: int, start: int = 0) -> None:
    for i in range(start, start + n):
        made = api.post("/api/v1/segments", json={"name": f"seg {i:03}",
                                                  "condition": f"score >= {i}"})
        assert made.status_code == 201, made.text


def _walk(api: ApiClient, path: str, between=None) -> list[str]:
    names, url, pages = [], path, 0
    while url:
        page = api.get(url)
        assert page.status_code == 200, page.text
        names += [s["name"] for s in page.json["data"]]
        cursor, pages = page.json["next_cursor"], pages + 1
        if cursor:
            assert page.headers["Link"].endswith('rel="next"')
            url = f"{path}{'&' if '?' in path else '?'}cursor={cursor}"
            if between:
                between()
        else:
            url = None
    return names


def test_a_walk_sees_every_row_once_while_rows_are_added_and_removed(rt):
    api = ApiClient(rt)
    _segments(api, 25)
    added = iter(range(100, 200))

    def meanwhile():  # another client adds two and deletes the first
        _segments(api, 1, next(added))
        _segments(api, 1, next(added))

    names = _walk(api, "/api/v1/segments?limit=7", meanwhile)
    original = [f"seg {i:03}" for i in range(25)]
    assert names[:25] == original  # in order, none skipped, none twice
    assert len(names) == len(set(names))


def test_a_filtered_list_pages_through_its_matches_only(rt):
    api = ApiClient(rt)
    _segments(api, 12)
    assert _walk(api, "/api/v1/segments?limit=2&name_contains=SEG%2000") == \
        [f"seg {i:03}" for i in range(10)]


def test_a_forged_or_moved_cursor_is_a_422_sentence(rt):
    api = ApiClient(rt)
    _segments(api, 3)
    cursor = api.get("/api/v1/segments?limit=1").json["next_cursor"]
    forged = problem_of(api.get(f"/api/v1/segments?limit=1&cursor={cursor[:-2]}xx"), 422)
    assert forged["errors"][0]["field"] == "cursor"
    moved = problem_of(api.get(f"/api/v1/segments?name_contains=x&cursor={cursor}"), 422)
    assert "other filters" in moved["detail"]
    # A different page size keeps the same list: allowed.
    assert api.get(f"/api/v1/segments?limit=2&cursor={cursor}").json["data"][0]["name"] == \
        "seg 001"


def test_an_etag_saves_a_reread_and_if_match_refuses_a_blind_overwrite(rt):
    api = ApiClient(rt)
    made = api.post("/api/v1/segments", json={"name": "trials", "condition": "score >= 1"})
    url, tag = made.headers["Location"], made.headers["ETag"]
    again = api.get(url, headers={"If-None-Match": tag})
    assert again.status_code == 304 and again.data == b""
    first = api.patch(url, json={"description": "Leads in trial"}, headers={"If-Match": tag})
    assert first.status_code == 200 and first.json["description"] == "Leads in trial"
    stale = api.patch(url, json={"name": "renamed"}, headers={"If-Match": tag})
    assert "changed since you read it" in problem_of(stale, 412)["detail"]
    assert api.get(url).json["name"] == "trials"
    assert api.get(url, headers={"If-None-Match": tag}).status_code == 200


def test_a_retried_create_with_its_key_makes_one_segment_and_replays_the_answer(rt):
    api = ApiClient(rt)
    body = {"name": "hot leads", "condition": "score >= 60"}
    first = api.post("/api/v1/segments", json=body, headers={"Idempotency-Key": "k-1"})
    retry = api.post("/api/v1/segments", json=body, headers={"Idempotency-Key": "k-1"})
    assert first.status_code == retry.status_code == 201
    assert retry.json == first.json and retry.headers["Location"] == first.headers["Location"]
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert count(rt, Segment) == 1
    other = api.post("/api/v1/segments", json={**body, "name": "warm"},
                     headers={"Idempotency-Key": "k-1"})
    assert "different request" in problem_of(other, 422)["detail"]
    # Without a key, the same call is a new request: the name is taken.
    problem_of(api.post("/api/v1/segments", json=body), 422)
    # Keys are the caller's own: another token's k-1 is a new request.
    other_api = ApiClient(rt, email="second@example.com")
    made = other_api.post("/api/v1/segments", json={**body, "name": "second"},
                          headers={"Idempotency-Key": "k-1"})
    assert made.status_code == 201 and "Idempotent-Replayed" not in made.headers


def test_a_refused_create_is_not_kept_so_its_retry_runs_again(rt):
    api = ApiClient(rt)
    bad = {"name": "broken", "condition": "score >="}
    problem_of(api.post("/api/v1/segments", json=bad, headers={"Idempotency-Key": "k"}), 422)
    assert count(rt, IdempotencyKey) == 0
    problem_of(api.post("/api/v1/segments", json={"name": "x", "condition": "score >= 1"},
                        headers={"Idempotency-Key": "z" * 256}), 422)


def test_a_key_in_flight_is_a_409_until_it_is_abandoned_then_expires(rt):
    now = rt.clock.now()
    with rt.db.transaction() as session:
        assert keys.claim(session, "token:1", "k", "f", now) is None
    with rt.db.transaction() as session, pytest.raises(Conflict):
        keys.claim(session, "token:1", "k", "f", now + timedelta(seconds=30))
    with rt.db.transaction() as session:  # the first process died: a retry takes over
        assert keys.claim(session, "token:1", "k", "f", now + keys.ABANDONED * 2) is None
        keys.answer(session, "token:1", "k", keys.Answer(201, "application/json", b"{}", None))
    with rt.db.transaction() as session:
        assert keys.claim(session, "token:1", "k", "f", now + keys.KEPT).status == 201
        assert keys.prune(session, now + keys.KEPT * 2) == 1


def test_segments_need_write_scope_to_change_and_answer_404_for_none(rt):
    reader = ApiClient(rt, role="marketer", scope="read")
    assert reader.get("/api/v1/segments").status_code == 200
    problem_of(reader.post("/api/v1/segments", json={"name": "a", "condition": "score >= 1"}),
               403)
    problem_of(reader.get("/api/v1/segments/999"), 404)
    writer = ApiClient(rt, role="marketer", scope="write", email="w@example.com")
    made = writer.post("/api/v1/segments", json={"name": "a", "condition": "score >= 1"})
    assert writer.delete(made.headers["Location"]).status_code == 204
    problem_of(writer.get(made.headers["Location"]), 404)
