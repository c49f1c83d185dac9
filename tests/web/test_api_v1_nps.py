"""`/api/v1/nps`: the answers page by page with their filters, and the report, whose
numbers are the old `/api/nps`'s and the statistics module's."""

from __future__ import annotations

from datetime import timedelta

from nurture.nps import services, stats
from tests.helpers import ApiClient, contact, problem_of


def _answers(rt, scores: list[int], vertical: str = "retail") -> list[int]:
    """Each score answered by a new contact, an hour apart; their contact ids."""
    config = services.NPSConfig.from_settings(rt.settings)
    ids = []
    for score in scores:
        cid = contact(rt, f"c{len(ids)}-{vertical}-{rt.clock.now():%m%d%H}@example.com",
                      industry=vertical)
        services.record_answer(rt, config, cid, f"s{cid}", score)
        ids.append(cid)
        rt.clock.advance(timedelta(hours=1))
    return ids


def test_the_report_is_the_old_endpoints_and_the_statistics(rt):
    _answers(rt, [10] * 20 + [8] * 6 + [3] * 9)
    rt.clock.advance(timedelta(days=40))
    _answers(rt, [9, 2, 6], vertical="healthcare")
    api = ApiClient(rt, role="marketer", scope="read")
    report = api.get("/api/v1/nps/report?period=month")
    assert report.status_code == 200, report.text
    lines = report.json["lines"]
    assert len(lines) == 2 and lines[0]["n"] == 35 and lines[0]["enough"] is True
    expected = stats.nps(20, 6, 9)
    assert lines[0]["nps"] == round(expected.score, 1)
    assert lines[0]["margin"] == round(expected.margin, 1)
    old = api.get("/api/nps?period=month").json["rows"]
    assert lines == old
    split = api.get("/api/v1/nps/report?period=quarter&segment=vertical").json
    assert split["segment"] == "vertical"
    assert split["lines"] == api.get("/api/nps?period=quarter&segment=vertical").json["rows"]
    since = (rt.clock.now() - timedelta(days=5)).isoformat().replace("+", "%2B")
    recent = api.get(f"/api/v1/nps/report?since={since}").json["lines"]
    assert [(line["n"], line["nps"]) for line in recent] == [(3, -33.3)]
    problem_of(api.get("/api/v1/nps/report?period=week"), 422)


def test_answers_page_oldest_first_with_score_and_time_filters(rt):
    ids = _answers(rt, [10, 3, 7, 0, 9])
    api = ApiClient(rt)
    walked, url = [], "/api/v1/nps/answers?limit=2"
    while url:
        page = api.get(url)
        assert page.status_code == 200, page.text
        walked += [a["contact_id"] for a in page.json["data"]]
        cursor = page.json["next_cursor"]
        url = cursor and f"/api/v1/nps/answers?limit=2&cursor={cursor}"
    assert walked == ids
    low = api.get("/api/v1/nps/answers?max_score=6").json["data"]
    assert [(a["score"], a["category"]) for a in low] == [(3, "detractor"), (0, "detractor")]
    cut = (rt.clock.now() - timedelta(hours=3)).isoformat().replace("+", "%2B")
    before = api.get(f"/api/v1/nps/answers?until={cut}").json["data"]
    assert [a["score"] for a in before] == [10, 3]
    bad = problem_of(api.get("/api/v1/nps/answers?min_score=8&max_score=2"), 422)
    assert "min_score" in bad["detail"]
    problem_of(api.get("/api/v1/nps/answers?since=2026-01-01T00:00:00"), 422)  # no zone


def test_a_sales_token_is_refused_as_the_console_refuses_sales(rt):
    sales = ApiClient(rt, role="sales", scope="read")
    assert "marketers and admins" in problem_of(sales.get("/api/v1/nps/answers"), 403)["detail"]
    problem_of(sales.get("/api/v1/nps/report"), 403)
