"""Lead scoring through the event pipeline: fit, capped and decaying engagement, the ledger
as the source of truth, and the explanation sales sees."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from sqlalchemy import select

from nurture.events.bus import NewEvent
from nurture.events.services import record_many
from scoring.engine import score_from_ledger
from scoring.handoffs import explanation
from scoring.models import ContactScore, ScoreEntry
from scoring.scorer import rules_from
from scoring.services import run_scoring_jobs
from tests.helpers import contact, get_contact

FIT = dict(industry="retail", company_size=120, role="Head of IT", country="FR")


def record(rt, cid, *types, **properties):
    record_many(rt, [NewEvent(cid, t, dict(properties)) for t in types])


def ledger(rt, cid):
    with rt.db.sessions() as session:
        return session.execute(select(ScoreEntry.kind, ScoreEntry.delta, ScoreEntry.at)
                               .where(ScoreEntry.contact_id == cid)).all()


def test_fit_counts_once_and_follows_changes_to_the_contact(rt):
    cid = contact(rt, "ann@retail.example", **FIT)
    record(rt, cid, "contact.created")
    # vertical 15 + mid-market 10 + decision-maker 10 + IT 5 + country 5
    assert get_contact(rt, cid).score == 45
    record(rt, cid, "contact.updated", industry="mining")
    assert get_contact(rt, cid).score == 30
    kinds = [(k, d) for k, d, _ in ledger(rt, cid)]
    assert ("fit", -15.0) in kinds


def test_capped_engagement_gives_at_most_the_cap_per_period(rt):
    cid = contact(rt, "ben@example.com")
    record(rt, cid, *["page.visited"] * 8)  # 2 points each, at most 10 a day
    assert get_contact(rt, cid).score == 10
    rt.clock.advance(timedelta(days=1))
    record(rt, cid, "page.visited")
    assert get_contact(rt, cid).score == 12  # a new day; yesterday's 10 barely decayed


def test_machine_opens_do_not_count_as_engagement(rt):
    cid = contact(rt, "cy@example.com")
    record(rt, cid, "email.opened", machine=True)
    assert get_contact(rt, cid).score == 0
    record(rt, cid, "email.opened", machine=False)
    assert get_contact(rt, cid).score == 1


def test_engagement_halves_every_half_life_and_penalties_stay(rt):
    cid = contact(rt, "dee@example.com")
    record(rt, cid, "demo.requested", "webinar.attended")  # 25 + 10
    record(rt, cid, "email.unsubscribed")  # -20, permanent
    assert get_contact(rt, cid).score == 15
    rt.clock.advance(timedelta(days=30))
    run_scoring_jobs(rt, rt.settings, rt.db)
    assert get_contact(rt, cid).score == -3  # 17.5 - 20 = -2.5, half away from zero
    rt.clock.advance(timedelta(days=300))
    run_scoring_jobs(rt, rt.settings, rt.db)
    assert get_contact(rt, cid).score == -20


def test_the_score_is_derivable_from_the_ledger_at_any_time(rt):
    rules = rules_from()
    cid = contact(rt, "eve@retail.example", **FIT)
    for day, types in enumerate([("email.opened", "email.clicked"), ("page.visited",) * 3,
                                 ("content.downloaded",), ("email.clicked", "trial.started")]):
        record(rt, cid, *types, path="/pricing" if day == 1 else "/blog")
        rt.clock.advance(timedelta(days=day * 5 + 1))
    record(rt, cid, "contact.updated", company_size=5000)
    for later in (0, 7, 45, 200):
        now = rt.clock.now() + timedelta(days=later)
        from_ledger = score_from_ledger(ledger(rt, cid), now, rules.half_life)
        with rt.db.sessions() as session:
            part = session.get(ContactScore, cid)
        stored = part.fit + part.engagement * 0.5 ** (
            (now - part.engagement_at) / rules.half_life)
        assert abs(from_ledger - stored) < 1e-6
    rt.clock.advance(timedelta(days=45))
    run_scoring_jobs(rt, rt.settings, rt.db)
    assert get_contact(rt, cid).score == round(
        score_from_ledger(ledger(rt, cid), rt.clock.now(), rules.half_life))


def test_explanation_lists_the_biggest_contributions_first(rt):
    cid = contact(rt, "fay@retail.example", **FIT)
    record(rt, cid, "demo.requested", "email.clicked", "email.clicked")
    with rt.db.sessions() as session:
        items = explanation(session, rules_from(), cid, rt.clock.now())
    assert [i["rule"] for i in items[:2]] == ["demo-request", "target-vertical"]
    assert items[0]["points"] == 25 and items[0]["label"] == "Asked for a demo"
    clicks = next(i for i in items if i["rule"] == "email-click")
    assert clicks["points"] == 6 and clicks["events"] == 2


def test_the_api_explains_a_score_to_an_integrator(rt):
    from web import create_app

    cid = contact(rt, "gus@retail.example", **FIT)
    record(rt, cid, "webinar.attended")
    client = create_app(rt).test_client()
    assert client.get("/api/scores?email=gus@retail.example").status_code == 401
    auth = {"Authorization": "Bearer test-api-key"}
    card = client.get("/api/scores?email=GUS@retail.example", headers=auth).get_json()
    assert (card["score"], card["grade"], card["fit"]) == (55, "A", 45.0)
    assert card["explanation"][0] == {"rule": "target-vertical", "kind": "fit", "events": 0,
                                      "label": "Industry is one of our verticals",
                                      "points": 15.0}
    missing = client.get("/api/scores?email=nobody@example.com", headers=auth)
    assert missing.status_code == 404 and "no contact" in missing.get_json()["detail"]


def test_a_changed_rules_file_is_applied_to_everyone_with_refit(rt, tmp_path):
    from scoring.services import refit_everyone

    cid = contact(rt, "hal@retail.example", **FIT)
    record(rt, cid, "contact.created")
    assert get_contact(rt, cid).score == 45
    rules = tmp_path / "rules.yaml"
    rules.write_text("fit:\n  - {id: target-vertical, points: 30, when: {industry: [retail]}}\n")
    object.__setattr__(rt, "settings", rt.settings.with_(
        scoring=replace(rt.settings.scoring, rules_file=rules)))
    assert refit_everyone(rt, rt.settings) == 1
    assert get_contact(rt, cid).score == 30
    fit = sorted(d for k, d, _ in ledger(rt, cid) if k == "fit")
    # first +15 +10 +10 +5 +5; then the vertical is worth 15 more and the rest go
    assert fit == [-10.0, -10.0, -5.0, -5.0, 5.0, 5.0, 10.0, 10.0, 15.0, 15.0]
