"""Predictive models against the database: synthetic history in, a versioned model out, live
scores written to contact_scores, approvals retiring the previous model, and the commands."""

from __future__ import annotations

import json
import sys
from datetime import timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from nurture.app.cli.scoring_models import approve_command, fit, generate_history, models
from nurture.contacts.models import Contact
from nurture.contacts.services import upsert_contacts
from nurture.events.models import Event
from scoring import model_store
from scoring.models import ContactScore, PredictiveModel
from scoring.predictive import logits
from scoring.synthetic import generate


@pytest.fixture
def history(rt):
    """800 synthetic leads with a planted signal, written as history."""
    generated = generate(800, rt.clock.now(), seed=3, signal=1.0)
    with rt.db.transaction() as session:
        written = model_store.write_history(session, generated)
    assert written.contacts == 800 and written.events == len(generated.events)
    return generated


def _ids(rt) -> list[int]:
    with rt.db.sessions() as session:
        return list(session.scalars(select(Contact.id).order_by(Contact.id)))


def test_a_fitted_model_is_stored_as_the_next_candidate_with_its_held_out_metrics(rt, history):
    now = rt.clock.now()
    with rt.db.transaction() as session:
        first = model_store.fit_model(session, now)
        second = model_store.fit_model(session, now, l2=10.0)
    assert (first.version, first.status, second.version) == (1, "candidate", 2)
    metrics = first.metrics
    assert metrics["n_train"] > 300 and metrics["n_test"] > 150 and metrics["positives"] > 50
    assert metrics["auc"] > 0.6 and metrics["lift_top_decile"] > 1.0
    assert metrics["trained_at"] == now.isoformat()
    with rt.db.sessions() as session:
        row = session.scalar(select(PredictiveModel).where(PredictiveModel.version == 1))
        assert len(row.features) == len(row.coefficients) == len(row.means) == len(row.scales)
        assert row.metrics == metrics and row.approved_at is None
        assert model_store.latest_approved(session) is None


def test_without_an_approved_model_there_is_no_live_score_and_nothing_breaks(rt, history):
    ids = _ids(rt)[:5]
    with rt.db.transaction() as session:
        model_store.fit_model(session, rt.clock.now())  # a candidate is not live
        assert model_store.score_contacts(session, ids, rt.clock.now()) == {}
        assert model_store.explain_contact(session, ids[0], rt.clock.now()) is None
        assert session.scalar(select(func.count()).select_from(ContactScore)) == 0


def test_approving_a_model_makes_it_live_and_retires_the_one_before(rt, history):
    now = rt.clock.now()
    with rt.db.transaction() as session:
        model_store.fit_model(session, now)
        model_store.fit_model(session, now)
        model_store.approve(session, 1, "ann@example.com", now)
        assert model_store.latest_approved(session).version == 1
        model_store.approve(session, 2, "bob@example.com", now + timedelta(minutes=1))
    with rt.db.sessions() as session:
        statuses = dict(session.execute(select(PredictiveModel.version,
                                               PredictiveModel.status)).all())
        live = model_store.latest_approved(session)
    assert statuses == {1: "retired", 2: "approved"}
    assert (live.version, live.approved_by) == (2, "bob@example.com")
    with rt.db.transaction() as session, pytest.raises(model_store.ModelStoreError,
                                                       match="no predictive model version 9"):
        model_store.approve(session, 9, "ann@example.com", now)


def test_live_scores_are_written_for_contacts_and_keep_the_rule_based_parts(rt, history):
    now = rt.clock.now()
    ids = _ids(rt)
    with rt.db.transaction() as session:
        session.add(ContactScore(contact_id=ids[0], fit=12.0, grade="B"))
    with rt.db.transaction() as session:
        model_store.approve(session, model_store.fit_model(session, now).version, "ann", now)
        scores = model_store.score_contacts(session, [*ids[:300], 10**9], now)
    assert set(scores) == set(ids[:300]), "unknown ids are skipped"
    assert all(0 < p < 1 for p in scores.values())
    with rt.db.sessions() as session:
        rows = {r.contact_id: r for r in session.scalars(select(ContactScore))}
    assert len(rows) == 300
    assert rows[ids[0]].fit == 12.0 and rows[ids[0]].grade == "B"
    assert all(r.model_version == 1 and r.predictive == pytest.approx(scores[cid])
               for cid, r in rows.items())
    with rt.db.transaction() as session:
        assert model_store.score_all(session, now) == len(ids)


def test_an_explanation_adds_up_to_the_contacts_live_score(rt, history):
    now = rt.clock.now()
    with rt.db.transaction() as session:
        cid = upsert_contacts(session, [{
            "email": "cto@bank.example", "role": "CTO", "industry": "financial-services",
            "company_size": 400, "country": "DE"}])["cto@bank.example"]
    with rt.db.transaction() as session:
        model_store.approve(session, model_store.fit_model(session, now).version, "ann", now)
        score = model_store.score_contacts(session, [cid], now)[cid]
        explained = model_store.explain_contact(session, cid, now)
        model = model_store.latest_approved(session).model
    assert explained.version == 1 and explained.probability == pytest.approx(score)
    parts = explained.contributions
    total = explained.baseline + sum(p.contribution for p in parts)
    assert total == pytest.approx(logits(model, [_row(parts, model)])[0])
    labels = {p.feature: p.label for p in parts}
    assert labels["industry_financial_services"] == "Industry: financial services"
    assert {"feature", "label", "value", "contribution"} <= set(explained.as_dicts()[0])


def _row(parts, model) -> list[float]:
    values = {p.feature: p.value for p in parts}
    return [values[name] for name in model.features]


def test_writing_the_same_history_twice_adds_nothing(rt, history):
    with rt.db.transaction() as session:
        again = model_store.write_history(session, history)
        assert (again.contacts, again.events, again.skipped) == (0, 0, 800)
        sources = set(session.scalars(select(Event.source).distinct()))
    assert sources == {"synthetic"}


class _Kept:
    """The test's runtime, handed to a command, which must not close it."""

    def __init__(self, rt):
        self._rt = rt

    def __getattr__(self, name):
        return getattr(self._rt, name)

    def close(self) -> None:
        pass


def test_operators_generate_fit_list_and_approve_models_from_the_command_line(rt, monkeypatch):
    monkeypatch.setattr(sys.modules["nurture.app.cli.scoring_models"], "open_runtime",
                        lambda **_: _Kept(rt))
    runner = CliRunner()
    assert "No predictive models yet" in runner.invoke(models, []).output
    made = runner.invoke(generate_history, ["--leads", "700", "--seed", "4"])
    assert made.exit_code == 0 and "Wrote 700 synthetic contacts" in made.output
    trained = runner.invoke(fit, [])
    assert trained.exit_code == 0, trained.output
    assert "Stored predictive model version 1 (candidate)." in trained.output
    assert "Held-out ROC AUC: 0." in trained.output and "top decile" in trained.output
    assert "Largest coefficients" in trained.output
    approved = runner.invoke(fit, ["--approve", "--json", "--cutoff", "2025-09-01"])
    assert approved.exit_code == 0, approved.output
    result = json.loads(approved.output)
    assert result["version"] == 2 and result["status"] == "approved"
    assert result["metrics"]["cutoff"].startswith("2025-09-01") and result["scored"] == 700
    back = runner.invoke(approve_command, ["1", "--by", "ann"])
    assert back.output == "Predictive model version 1 is approved; 700 contacts rescored.\n"
    table = runner.invoke(models, []).output.splitlines()
    assert [line.split()[:2] for line in table[1:]] == [["2", "retired"], ["1", "approved"]]
    missing = runner.invoke(approve_command, ["7"])
    assert missing.exit_code == 1 and "There is no predictive model version 7." in missing.output
    too_late = runner.invoke(fit, ["--cutoff", "2030-01-01"])
    assert too_late.exit_code == 1 and "both need some" in too_late.output
