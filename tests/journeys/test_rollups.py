"""A large journey's page reads the rollup the scheduler's round measured, saying when;
a small journey's is counted at each view."""

from __future__ import annotations

from datetime import timedelta

from journeys import rollups
from nurture.app import journeys_console
from tests.helpers import advance_clock, contact, event, publish_text, signed_in
from tests.web.test_journeys_console import JOURNEY


def _page(rt):
    return journeys_console.journey_page(rt, "welcome", "").page


def test_a_large_journeys_page_shows_its_rollup_until_the_next_round(rt, monkeypatch):
    publish_text(rt, JOURNEY)
    for i in range(3):
        event(rt, contact(rt, f"c{i}@example.com"), "contact.created")
    assert journeys_console.refresh_rollups(rt) == {"rolled_up": 0}  # small: counted live
    monkeypatch.setattr(rollups, "ROLLUP_ABOVE", 3)
    assert journeys_console.refresh_rollups(rt) == {"rolled_up": 1}
    live = journeys_console.listing(rt)[0]
    event(rt, contact(rt, "late@example.com"), "contact.created")
    page = _page(rt)
    assert page.figures.as_of == rt.clock.now()
    assert page.entered == 3 and page.steps["pause"].waiting == 3
    assert page.emails["hello"].sent == 3 and page.versions[0].pinned == 3
    assert journeys_console.listing(rt)[0] == live  # the list reads it too
    shown = signed_in(rt, "marketer").get("/journeys/welcome").text
    assert "its counts were measured at" in shown
    journeys_console.refresh_rollups(rt)  # the next round
    assert _page(rt).entered == 4 and journeys_console.listing(rt)[0].active == 4


def test_a_stale_rollup_is_not_read(rt, monkeypatch):
    publish_text(rt, JOURNEY)
    event(rt, contact(rt, "c@example.com"), "contact.created")
    monkeypatch.setattr(rollups, "ROLLUP_ABOVE", 1)
    journeys_console.refresh_rollups(rt)
    event(rt, contact(rt, "d@example.com"), "contact.created")
    advance_clock(rt, rollups.FRESH + timedelta(minutes=1))
    page = _page(rt)
    assert page.figures.as_of is None and page.entered == 2
