"""/referrals lists the sources a page at a time with links to the other pages, and sources
of the same name are told apart by their email."""

from __future__ import annotations

import re

from referral import services as referral_services
from referral.analytics import SOURCES_PER_PAGE
from tests.helpers import signed_in


def _partners(rt, count: int) -> None:
    for n in range(count):
        referral_services.create_source(rt, "partner", f"Partner {n:03}",
                                        email=f"partner{n:03}@example.org")


def _source_rows(page: str) -> list[str]:
    table = page.split("<h2>By source</h2>", 1)[1]
    return re.findall(r'<th scope="row" class="long">([^<]+)', table)


def test_the_sources_table_shows_one_page_and_links_to_the_others(rt):
    _partners(rt, SOURCES_PER_PAGE + 5)
    web = signed_in(rt, "marketer")
    first = web.get("/referrals")
    assert first.status_code == 200
    assert len(_source_rows(first.text)) == SOURCES_PER_PAGE
    assert f"page 1 of 2, {SOURCES_PER_PAGE + 5} sources" in first.text
    assert 'href="/referrals?page=2" rel="next">Next</a>' in first.text
    second = web.get("/referrals?page=2")
    assert len(_source_rows(second.text)) == 5
    assert 'aria-label="Page 2" aria-current="page"' in second.text
    assert 'href="/referrals?page=1" rel="prev">Previous</a>' in second.text
    # Every source is on exactly one page.
    assert not set(_source_rows(first.text)) & set(_source_rows(second.text))


def test_a_page_past_the_end_or_not_a_number_shows_a_page_not_an_error(rt):
    _partners(rt, 3)
    web = signed_in(rt, "marketer")
    for value in ("99", "-1", "abc", "99999999999999999999"):
        page = web.get(f"/referrals?page={value}")
        assert page.status_code == 200 and len(_source_rows(page.text)) == 3
        assert "Pages of sources" not in page.text  # one page: no page links


def test_sources_of_the_same_name_show_their_email(rt):
    referral_services.create_source(rt, "partner", "Acme", email="sales@acme.example")
    referral_services.create_source(rt, "influencer", "Acme", email="jo@acme-blog.example")
    page = signed_in(rt, "marketer").get("/referrals").text
    rows = _source_rows(page)
    assert "Acme &lt;sales@acme.example&gt;" in rows
    assert "Acme &lt;jo@acme-blog.example&gt;" in rows
