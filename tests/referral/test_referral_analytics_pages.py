"""The per-source funnels a page at a time: the busiest first, a page out of range is the
nearest one, and the page links show the first, the last and the neighbours."""

from __future__ import annotations

from referral.analytics import Funnel, page_of


def _funnels(count: int) -> list[Funnel]:
    return [Funnel(f"code{n}", f"Source {n}", "partner") for n in range(count)]


def test_the_first_page_holds_the_first_sources_in_their_ranked_order():
    shown = page_of(_funnels(120), 1, size=50)
    assert (shown.number, shown.pages, shown.total) == (1, 3, 120)
    assert [f.name for f in shown.rows] == [f"Source {n}" for n in range(50)]


def test_the_last_page_holds_what_is_left():
    shown = page_of(_funnels(120), 3, size=50)
    assert [f.name for f in shown.rows] == [f"Source {n}" for n in range(100, 120)]


def test_a_page_out_of_range_is_the_nearest_page():
    assert page_of(_funnels(120), 99, size=50).number == 3
    assert page_of(_funnels(120), -4, size=50).number == 1
    assert page_of([], 2).rows == [] and page_of([], 2).pages == 1


def test_the_page_links_are_the_first_the_last_and_two_either_side():
    assert page_of(_funnels(1000), 10, size=50).around == [1, 8, 9, 10, 11, 12, 20]
    assert page_of(_funnels(120), 1, size=50).around == [1, 2, 3]
