"""The segment builder: the live answer as a condition is typed (a count and a sample, or
the syntax error with its line and column), saving with CSRF, and the list with counts."""

from __future__ import annotations

from html import unescape

from tests.helpers import contact, csrf, signed_in, table_rows


def test_the_builder_answers_a_count_and_a_sample_or_the_error_with_its_place(rt):
    for name, stage in [("ann", "try"), ("bob", "learn"), ("cy", "try")]:
        contact(rt, f"{name}@example.com", first_name=name.title(), stage=stage)
    browser = signed_in(rt, "marketer")
    found = browser.get("/segments/preview", query_string={"where": "stage == 'try'"})
    assert found.status_code == 200
    assert found.json == {"count": 2, "sample": [
        {"email": "ann@example.com", "name": "Ann", "stage": "try"},
        {"email": "cy@example.com", "name": "Cy", "stage": "try"}]}
    broken = browser.get("/segments/preview",
                         query_string={"where": "stage == 'try' and\n  score >"})
    assert broken.status_code == 422
    assert (broken.json["line"], broken.json["column"]) == (2, 10)
    assert "line 2, column 10" in broken.json["error"]
    unknown = browser.get("/segments/preview", query_string={"where": "colour == 'red'"})
    assert unknown.status_code == 422 and "not a known field" in unknown.json["error"]
    escaped = browser.get("/segments/preview", query_string={"where": r"stage == '\x00'"})
    assert escaped.status_code == 422 and "NUL character" in escaped.json["error"]


def test_a_segment_is_saved_with_csrf_listed_with_its_count_and_deleted(rt):
    contact(rt, "ann@example.com", stage="try")
    browser = signed_in(rt, "marketer")
    page = browser.get("/segments/new").text
    without = browser.post("/segments/new", data={"name": "Trialists",
                                                  "condition": "stage == 'try'"})
    assert without.status_code == 400  # no CSRF token: nothing saved
    bad = browser.post("/segments/new", data={
        "csrf_token": csrf(page), "name": "Trialists", "condition": "stage ==\n 'try' or"})
    assert bad.status_code == 422
    assert "Line 2, column" in bad.text and "stage ==\n &#39;try&#39; or" in bad.text
    saved = browser.post("/segments/new", data={
        "csrf_token": csrf(page), "name": "Trialists", "condition": "stage == 'try'"})
    assert saved.status_code == 303
    edit = browser.get(saved.headers["Location"]).text
    assert "The segment &#39;Trialists&#39; was saved." in edit
    assert "<strong>1</strong> contact match now." in edit
    listed = table_rows(browser.get("/segments").text)
    assert [unescape(cell) for cell in listed[0][:3]] == ["Trialists", "1", "stage == 'try'"]
    gone = browser.post(saved.headers["Location"] + "/delete",
                        data={"csrf_token": csrf(edit)})
    assert gone.status_code == 303
    assert "No segments yet." in browser.get("/segments").text
