"""Old events are pruned, a batch at a time, counted into daily rollups first: the charts
keep their totals, and what conditions read of a contact's history (the last event of each
type) and the record of money and consent stay."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from sqlalchemy import insert, select

from nurture.app.reports import home
from nurture.events.models import Event
from nurture.events.retention import KEPT, retention, run_retention_jobs
from tests.helpers import contact


def _event(cid: int, type_: str, at, **properties) -> dict:
    return {"contact_id": cid, "type": type_, "occurred_at": at, "recorded_at": at,
            "properties": properties, "source": "api"}


def _types_left(rt) -> list[tuple[int, str]]:
    with rt.db.sessions() as session:
        return sorted((c, t) for c, t in session.execute(select(Event.contact_id, Event.type)))


def _settings(rt, days: int):
    return rt.settings.with_(retention=replace(rt.settings.retention, event_days=days))


def test_old_events_go_but_the_last_of_each_kind_and_the_record_of_money_stay(rt):
    ann, bob = contact(rt, "ann@example.com"), contact(rt, "bob@example.com")
    now = rt.clock.now()
    old, young = now - timedelta(days=800), now - timedelta(days=10)
    rows = [_event(ann, "email.opened", old - timedelta(days=i)) for i in range(5)]
    rows += [_event(ann, "email.opened", young)]  # ann's newest open: her old ones go
    rows += [_event(bob, "email.opened", old)]  # bob's only open: has() still sees it
    rows += [_event(ann, "purchase.completed", old - timedelta(days=i)) for i in range(3)]
    rows += [_event(ann, "page.visited", old - timedelta(days=i)) for i in range(4)]
    with rt.db.transaction() as session:
        session.execute(insert(Event), rows)

    assert run_retention_jobs(rt, rt.settings) == {"pruned": 5 + 3}
    assert _types_left(rt) == sorted(
        [(ann, "email.opened"), (bob, "email.opened"), (ann, "page.visited")]
        + [(ann, "purchase.completed")] * 3)
    assert run_retention_jobs(rt, rt.settings) == {"pruned": 0}
    assert "purchase.completed" in KEPT and "consent.given" in KEPT


def test_a_chart_over_two_years_shows_the_same_totals_before_and_after_a_prune(rt):
    ann, bob = contact(rt, "ann@example.com"), contact(rt, "bob@example.com")
    now = rt.clock.now()
    rows = []
    for days_ago in (799, 700, 500, 500, 450, 20):  # recorded in order, as they happened
        at = now - timedelta(days=days_ago)
        rows += [_event(ann, "email.opened", at), _event(bob, "email.clicked", at),
                 _event(ann, "email.opened", at, machine=True),
                 _event(bob, "trial.started", at)]
    with rt.db.transaction() as session:
        session.execute(insert(Event), rows)
    before = home.daily(rt.db, now, 800)

    pruned = run_retention_jobs(rt, _settings(rt, 400))
    assert pruned["pruned"] > 0
    after = home.daily(rt.db, now, 800)
    assert after == before
    assert sum(d.opened for d in after) == 6 and sum(d.trials for d in after) == 6


def test_a_long_backlog_goes_over_several_runs_a_batch_at_a_time(rt):
    ann = contact(rt, "ann@example.com")
    old = rt.clock.now() - timedelta(days=900)
    with rt.db.transaction() as session:
        session.execute(insert(Event), [_event(ann, "page.visited", old + timedelta(minutes=i))
                                        for i in range(12_000)])
    assert run_retention_jobs(rt, rt.settings, batches=2) == {"pruned": 10_000}
    assert run_retention_jobs(rt, rt.settings, batches=2) == {"pruned": 1_999}
    assert _types_left(rt) == [(ann, "page.visited")]


def test_the_retention_is_never_shorter_than_the_longest_look_back(rt):
    assert retention(_settings(rt, 30)) == timedelta(days=400)  # an email's links
    assert retention(_settings(rt, 730)) == timedelta(days=730)
    longer_nps = rt.settings.with_(nps=replace(rt.settings.nps, throttle_days=500),
                                   retention=replace(rt.settings.retention, event_days=30))
    assert retention(longer_nps) == timedelta(days=500)
