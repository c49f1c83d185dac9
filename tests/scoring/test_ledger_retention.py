"""Old engagement rows of the score ledger are folded into one row per contact and rule that
is worth what they were worth: the score and its explanation do not move, and the number
of events behind each rule stays."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from sqlalchemy import func, select

from nurture.events.bus import NewEvent
from nurture.events.services import record_many
from scoring.engine import explain, score_from_ledger
from scoring.handoffs import explanation
from scoring.models import ScoreEntry
from scoring.retention import MIN_DAYS, fold_ledger, retention, run_retention_jobs
from scoring.scorer import rules_from
from scoring.services import run_scoring_jobs
from tests.helpers import contact, get_contact

FIT = dict(industry="retail", company_size=120, role="Head of IT", country="FR")


def _engage_for_a_year_and_a_half(rt, cid: int) -> None:
    for _week in range(80):
        record_many(rt, [NewEvent(cid, t, {"path": "/pricing"})
                         for t in ("email.clicked", "page.visited", "demo.requested")])
        rt.clock.advance(timedelta(days=7))


def _ledger(rt, cid: int) -> list:
    with rt.db.sessions() as session:
        return session.execute(select(ScoreEntry.rule, ScoreEntry.kind, ScoreEntry.delta,
                                      ScoreEntry.at, ScoreEntry.entries)
                               .where(ScoreEntry.contact_id == cid)).all()


def _rows(rt) -> int:
    with rt.db.sessions() as session:
        return session.scalar(select(func.count()).select_from(ScoreEntry))


def test_folding_the_old_ledger_leaves_the_score_and_its_explanation_as_they_were(rt):
    rules = rules_from()
    ann, bob = contact(rt, "ann@retail.example", **FIT), contact(rt, "bob@retail.example")
    _engage_for_a_year_and_a_half(rt, ann)
    record_many(rt, [NewEvent(bob, "email.clicked", {})])
    run_scoring_jobs(rt, rt.settings, rt.db)
    now, score = rt.clock.now(), get_contact(rt, ann).score
    with rt.db.sessions() as session:
        explained = explanation(session, rules, ann, now)
    before, rows = score_from_ledger([r[1:4] for r in _ledger(rt, ann)], now,
                                     rules.half_life), _rows(rt)

    folded = run_retention_jobs(rt, rt.settings)["folded"]
    assert folded > 0 and _rows(rt) == rows - folded
    after = _ledger(rt, ann)
    old = now - retention(rt.settings)
    assert sorted(r.rule for r in after if r.kind == "engagement" and r.at < old) == sorted(
        {r.rule for r in after if r.kind == "engagement"}), "one row per rule before the cut"
    assert abs(score_from_ledger([r[1:4] for r in after], now, rules.half_life) - before) < 1e-9
    with rt.db.sessions() as session:
        assert explanation(session, rules, ann, now) == explained
    run_scoring_jobs(rt, rt.settings, rt.db)
    assert get_contact(rt, ann).score == score
    assert run_retention_jobs(rt, rt.settings) == {"folded": 0}


def test_a_folded_rule_still_counts_every_event_and_its_points_under_a_long_half_life(rt):
    rules = replace(rules_from(), half_life=timedelta(days=365))
    ann = contact(rt, "ann@retail.example")
    _engage_for_a_year_and_a_half(rt, ann)
    now = rt.clock.now()
    explained = explain(rules, _ledger(rt, ann), now)
    with rt.db.transaction() as session:
        assert fold_ledger(session, 0, now - timedelta(days=200), rules.half_life) is not None
    assert len(_ledger(rt, ann)) < 3 * 80
    assert explain(rules, _ledger(rt, ann), now) == explained
    assert {c.rule: c.events for c in explained}["demo-request"] == 80


def test_the_fold_never_reaches_the_rows_the_caps_and_velocity_read(rt):
    short = rt.settings.with_(retention=replace(rt.settings.retention, score_ledger_days=1))
    assert retention(short) == timedelta(days=MIN_DAYS)
