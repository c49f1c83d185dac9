"""Predictive scoring commands: fit a model on the history and measure it on later leads,
list and approve model versions, and generate synthetic history to train on."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import click

from nurture.app.cli.ops import open_runtime
from nurture.app.cli.refusals import Command
from scoring.features import LABELS
from scoring.model_store import approve, fit_model, list_models, score_all, write_history
from scoring.synthetic import generate


def _metric(value: Any, spec: str) -> str:
    return "-" if value is None else format(value, spec)


@click.command("fit", cls=Command)
@click.option("--l2", type=click.FloatRange(min=0.0), default=1.0, show_default=True,
              help="L2 penalty on the standardized coefficients.")
@click.option("--cutoff", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="Train on leads before this date, test on later ones "
                   "(default: the 75th percentile of lead dates).")
@click.option("--approve", "approve_now", is_flag=True,
              help="Approve the new version right away and rescore every contact.")
@click.option("--by", default="cli", show_default=True, help="Who approves, with --approve.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
def fit(l2: float, cutoff: datetime | None, approve_now: bool, by: str, as_json: bool) -> None:
    """Train the conversion model on the history and store it as a candidate version."""
    rt = open_runtime(with_transport=False)
    try:
        now = rt.clock.now()
        with rt.db.transaction() as session:
            stored = fit_model(session, now, l2, cutoff.replace(tzinfo=UTC) if cutoff else None)
            scored = None
            if approve_now:
                stored = approve(session, stored.version, by, now)
                scored = score_all(session, now)
    finally:
        rt.close()
    model, metrics = stored.model, stored.metrics
    top = sorted(zip(model.features, model.coefficients, strict=True),
                 key=lambda item: abs(item[1]), reverse=True)[:8]
    if as_json:
        click.echo(json.dumps({"version": stored.version, "status": stored.status,
                               "metrics": metrics, "scored": scored,
                               "top_coefficients": [{"feature": name, "label": LABELS[name],
                                                     "coefficient": round(value, 4)}
                                                    for name, value in top]}, indent=2))
        return
    click.echo(f"Stored predictive model version {stored.version} ({stored.status}).")
    click.echo(f"Trained on {metrics['n_train']} leads before {metrics['cutoff'][:10]}, "
               f"tested on {metrics['n_test']} later leads "
               f"({metrics['positives_test']} converted within 90 days).")
    click.echo(f"Held-out ROC AUC: {_metric(metrics['auc'], '.3f')}; "
               f"lift in the top decile: {_metric(metrics['lift_top_decile'], '.2f')}x.")
    click.echo("Largest coefficients (per standard deviation):")
    for name, value in top:
        click.echo(f"  {value:+.3f}  {LABELS[name]}")
    if scored is not None:
        click.echo(f"Approved; {scored} contacts rescored.")


@click.command("models", cls=Command)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def models(as_json: bool) -> None:
    """The stored model versions, newest first, with their held-out metrics."""
    rt = open_runtime(with_transport=False)
    try:
        with rt.db.sessions() as session:
            stored = list_models(session)
    finally:
        rt.close()
    if as_json:
        click.echo(json.dumps([{"version": item.version, "status": item.status,
                                "metrics": item.metrics,
                                "approved_by": item.approved_by or None} for item in stored],
                              indent=2))
        return
    if not stored:
        click.echo("No predictive models yet; `nurture scoring fit` trains one.")
        return
    click.echo(f"{'version':>7}  {'status':9}  {'AUC':>5}  {'lift':>5}  {'train':>6}  "
               f"{'test':>5}  trained")
    for item in stored:
        m = item.metrics
        click.echo(f"{item.version:>7}  {item.status:9}  {_metric(m.get('auc'), '.3f'):>5}  "
                   f"{_metric(m.get('lift_top_decile'), '.2f'):>5}  {m.get('n_train', 0):>6}  "
                   f"{m.get('n_test', 0):>5}  {str(m.get('trained_at', ''))[:16]}")


@click.command("approve", cls=Command)
@click.argument("version", type=int)
@click.option("--by", default="cli", show_default=True, help="Who approves.")
def approve_command(version: int, by: str) -> None:
    """Make VERSION the live model (the previous one is retired) and rescore contacts."""
    rt = open_runtime(with_transport=False)
    try:
        now = rt.clock.now()
        with rt.db.transaction() as session:
            approve(session, version, by, now)
            scored = score_all(session, now)
    finally:
        rt.close()
    click.echo(f"Predictive model version {version} is approved; {scored} contacts rescored.")


@click.command("generate-history", cls=Command)
@click.option("--leads", type=click.IntRange(1, 1_000_000), default=2000, show_default=True,
              help="How many synthetic leads.")
@click.option("--seed", type=int, default=1, show_default=True,
              help="Random seed: the same seed gives the same people and events.")
@click.option("--signal", type=click.FloatRange(min=0.0), default=1.0, show_default=True,
              help="How strongly fit and early engagement drive conversion (0: pure noise).")
@click.option("--months", type=click.IntRange(4, 120), default=18, show_default=True,
              help="How far back the history goes.")
def generate_history(leads: int, seed: int, signal: float, months: int) -> None:
    """Write realistic synthetic lead history (contacts and events) to train models on."""
    rt = open_runtime(with_transport=False)
    try:
        history = generate(leads, rt.clock.now(), seed, signal, months)
        with rt.db.transaction() as session:
            written = write_history(session, history)
    finally:
        rt.close()
    click.echo(f"Wrote {written.contacts} synthetic contacts and {written.events} events"
               + (f"; {written.skipped} contacts were already there." if written.skipped
                  else "."))
