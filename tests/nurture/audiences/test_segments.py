"""Segments as a marketer uses them: saved by name, counted over events, people's opens,
lists and NPS answers, and exported from the command line."""

from __future__ import annotations

import csv
from datetime import timedelta

import pytest
from click.testing import CliRunner

from nurture.app.cli import main
from nurture.audiences import services
from nurture.audiences.errors import SegmentInvalid
from nurture.contacts import lists
from nurture.events.bus import NewEvent
from nurture.events.services import record_many
from tests.helpers import contact


def _people(rt) -> dict[str, int]:
    now = rt.clock.now()
    ids = {name: contact(rt, f"{name}@example.com", first_name=name.title(), stage=stage)
           for name, stage in [("ann", "try"), ("bob", "learn"), ("cy", "try"),
                               ("dee", "buy")]}
    record_many(rt, [
        # Ann opened twice herself; Bob's only opens are an image proxy's.
        NewEvent(ids["ann"], "email.opened", {"machine": False}, now - timedelta(days=2)),
        NewEvent(ids["ann"], "email.opened", {"machine": False}, now - timedelta(days=9)),
        NewEvent(ids["bob"], "email.opened", {"machine": True}, now - timedelta(days=1)),
        NewEvent(ids["bob"], "email.opened", {"machine": True}, now - timedelta(days=3)),
        # Cy asked for a demo three times this month, once long ago.
        *[NewEvent(ids["cy"], "demo.requested", {}, now - timedelta(days=d))
          for d in (1, 5, 20, 200)],
        NewEvent(ids["dee"], "nps.answered", {"score": 3, "category": "detractor"},
                 now - timedelta(days=4)),
        NewEvent(ids["ann"], "nps.answered", {"score": 10, "category": "promoter"},
                 now - timedelta(days=4)),
    ])
    with rt.db.transaction() as session:
        vip = lists.ensure(session, "VIP", now)
        lists.add(session, vip, [ids["bob"], ids["dee"]], now)
    return ids


def _who(rt, condition: str, ids: dict[str, int]) -> set[str]:
    names = {v: k for k, v in ids.items()}
    with rt.db.sessions() as session:
        found = session.scalars(services.matching(session, condition, rt.clock.now()))
        return {names[i] for i in found}


def test_segments_over_events_engagement_lists_and_nps_hold_the_right_contacts(rt):
    ids = _people(rt)
    assert _who(rt, "opened('30d') >= 2", ids) == {"ann"}  # the proxy's opens do not count
    assert _who(rt, "count('email.opened', '30d') >= 2", ids) == {"ann", "bob"}
    assert _who(rt, "count('demo.requested', '30d') >= 3", ids) == {"cy"}
    assert _who(rt, "not opened('30d') and stage != 'buy'", ids) == {"bob", "cy"}
    assert _who(rt, "in_list('VIP') and nps.category == 'detractor'", ids) == {"dee"}
    assert _who(rt, "nps.category != 'promoter'", ids) == {"bob", "cy", "dee"}
    with rt.db.sessions() as session:
        shown = services.preview(session, "stage == 'try'", rt.clock.now())
    assert shown.count == 2
    assert [(s.email, s.name, s.stage) for s in shown.sample] == [
        ("ann@example.com", "Ann", "try"), ("cy@example.com", "Cy", "try")]


def test_a_condition_segments_cannot_count_is_refused_and_nothing_is_saved(rt):
    with rt.db.transaction() as session, pytest.raises(SegmentInvalid) as refused:
        services.create(session, "Odd", "attributes.a == attributes.b", rt.clock.now())
    assert "not with another attribute" in str(refused.value)
    with rt.db.transaction() as session, pytest.raises(SegmentInvalid) as broken:
        services.create(session, "Broken", "stage ==\n  ", rt.clock.now())
    assert (broken.value.line, broken.value.column) == (1, 9)  # just after "=="
    with rt.db.sessions() as session:
        assert services.summaries(session, rt.clock.now()) == []


def test_the_command_line_creates_counts_lists_and_exports_a_segment(rt, tmp_path):
    ids = _people(rt)
    runner = CliRunner()
    created = runner.invoke(main, ["segments", "create", "Trialists",
                                   "--where", "stage == 'try'"], obj=rt)
    assert created.exit_code == 0, created.output
    assert "Saved the segment 'Trialists': 2 contacts now." in created.output
    again = runner.invoke(main, ["segments", "create", "Trialists", "--where", "score > 1"],
                          obj=rt)
    assert again.exit_code == 1 and "exists already" in again.output
    counted = runner.invoke(main, ["segments", "count", "Trialists"], obj=rt)
    assert counted.output.strip() == "2"
    where = runner.invoke(main, ["segments", "count", "--where", "in_list('VIP')"], obj=rt)
    assert where.output.strip() == "2"
    listed = runner.invoke(main, ["segments", "list"], obj=rt)
    assert "Trialists" in listed.output and " 2  stage == 'try'" in listed.output
    out = tmp_path / "trialists.csv"
    exported = runner.invoke(main, ["segments", "export", "Trialists", "--out", str(out)],
                             obj=rt)
    assert exported.exit_code == 0, exported.output
    assert "Wrote 2 contacts of 'Trialists'" in exported.output
    with out.open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert [(int(r["id"]), r["email"], r["stage"]) for r in rows] == [
        (ids["ann"], "ann@example.com", "try"), (ids["cy"], "cy@example.com", "try")]
    unknown = runner.invoke(main, ["segments", "export", "Nobody"], obj=rt)
    assert unknown.exit_code == 1 and "There is no segment 'Nobody'." in unknown.output
