"""The contact list: a marketer searches, filters and sorts every contact, a page at a
time; walking the pages shows each matching contact once; a damaged page address or an
unknown list is answered with a sentence, never a 500."""

from __future__ import annotations

import html
import re

from nurture.contacts import lists
from nurture.contacts.services import upsert_contacts
from tests.helpers import signed_in


def _emails(page: str) -> list[str]:
    body = page.split("<tbody>")[1].split("</tbody>")[0]
    return re.findall(r'<a href="/contacts\?email=[^"]+">([^<]+)</a>', body)


def _next(page: str) -> str | None:
    found = re.search(r'<a rel="next" href="([^"]+)">', page)
    return html.unescape(found.group(1)) if found else None


def _walk(client, url: str) -> list[str]:
    seen: list[str] = []
    while url:
        page = client.get(url)
        assert page.status_code == 200, page.text
        seen += _emails(page.text)
        url = _next(page.text)
    return seen


def _people(rt, n: int = 200) -> None:
    stages = ("learn", "try", "buy")
    with rt.db.transaction() as session:
        ids = upsert_contacts(session, [{
            "email": f"p{i:03d}@example.com", "first_name": "Ann" if i % 2 else "Bob",
            "last_name": f"Lee{i % 7}", "company": "Acme" if i % 3 == 0 else "Globex",
            "stage": stages[i % 3], "industry": "retail" if i % 5 == 0 else "saas",
            "consent_marketing": i % 4 == 0} for i in range(n)])
        vip = lists.ensure(session, "VIP", rt.clock.now())
        lists.add(session, vip, [ids[f"p{i:03d}@example.com"] for i in range(0, n, 10)],
                  rt.clock.now())


def test_walking_the_pages_shows_every_matching_contact_once_in_order(rt):
    _people(rt)
    client = signed_in(rt, "marketer")
    expected = [f"p{i:03d}@example.com" for i in range(200) if i % 3 == 1]
    first = client.get("/contacts?stage=try&sort=email&order=asc")
    assert f"{len(expected)} contacts match." in first.text
    assert len(_emails(first.text)) == 50 and _next(first.text)
    walked = _walk(client, "/contacts?stage=try&sort=email&order=asc")
    assert walked == expected
    newest = _walk(client, "/contacts?stage=try")
    assert newest == expected[::-1]
    by_score_then_id = _walk(client, "/contacts?sort=score&order=desc&stage=try")
    assert sorted(by_score_then_id) == expected


def test_search_filters_and_lists_narrow_the_list_and_the_count(rt):
    _people(rt)
    client = signed_in(rt, "marketer")
    found = client.get("/contacts?q=p01")
    assert sorted(_emails(found.text)) == [f"p01{i}@example.com" for i in range(10)]
    assert "10 contacts match." in found.text
    assert "0 contacts match." in client.get("/contacts?q=%25").text  # % is a letter here
    retail_consent = _walk(client, "/contacts?vertical=retail&consent=yes&sort=email&order=asc")
    assert retail_consent == [f"p{i:03d}@example.com" for i in range(200)
                              if i % 5 == 0 and i % 4 == 0]
    vip = _walk(client, "/contacts?list=VIP&sort=email&order=asc")
    assert vip == [f"p{i:03d}@example.com" for i in range(0, 200, 10)]
    named = client.get("/contacts?q=bob+lee3&sort=email&order=asc")
    assert _emails(named.text) == [f"p{i:03d}@example.com" for i in range(200)
                                   if i % 2 == 0 and i % 7 == 3]


def test_a_damaged_page_address_or_unknown_list_gets_a_sentence(rt):
    _people(rt, 5)
    client = signed_in(rt, "marketer")
    for url, status, sentence in (
            ("/contacts?after=bm90LWpzb24", 400, "The page asked for does not exist"),
            ("/contacts?sort=email&after=WzEsMl0", 400, "The page asked for does not exist"),
            ("/contacts?list=Nope", 400, "There is no list called &#39;Nope&#39;."),
            ("/contacts?segment=Nope", 404, "Nope")):
        page = client.get(url)
        assert page.status_code == status, (url, page.text)
        assert sentence in page.text
    assert signed_in(rt, "sales").get("/contacts").status_code == 403
