"""Trial commands: list and show trials, record usage, and run the expiry and deletion jobs
(for cron, beside or instead of the scheduler)."""

from __future__ import annotations

import json

import click

from nurture.app.cli.ops import open_runtime
from nurture.app.cli.refusals import Group
from nurture.trials.lifecycle import (
    conversion_token,
    list_trials,
    overview,
    record_usage,
    run_trial_jobs,
)
from nurture.trials.models import STATUSES


@click.group(cls=Group)
def trials() -> None:
    """Trials: list, show, record usage, expire and delete when due."""


@trials.command("list")
@click.option("--status", type=click.Choice(STATUSES), help="Only trials in this status.")
@click.option("--limit", default=100, show_default=True, type=click.IntRange(1, 100000))
def list_command(status: str | None, limit: int) -> None:
    """Trials, newest first."""
    rt = open_runtime(with_transport=False)
    try:
        rows = list_trials(rt, status, limit)
    finally:
        rt.close()
    if not rows:
        click.echo("No trials.")
    for trial, email in rows:
        click.echo(f"{trial.id:>8}  {trial.status:9}  ends {trial.ends_at:%Y-%m-%d}  "
                   f"{trial.seats:>2} seats  {trial.choice or '-':16}  {email}  {trial.company}")


@trials.command("show")
@click.argument("trial_id", type=int)
def show(trial_id: int) -> None:
    """One trial, with its usage and a conversion link to send to the customer."""
    rt = open_runtime(with_transport=False)
    try:
        trial, contact, seats = overview(rt, trial_id)
        token = conversion_token(rt.tokens, contact.id, contact.email_key, trial.id)
        link = f"{rt.settings.base_url}/trial/{token}/convert"
    finally:
        rt.close()
    dates = ("ends_at", "converted_at", "expired_at", "retention_until", "deleted_at")
    click.echo(f"Trial {trial.id} for {contact.email}" + (f" ({trial.company})"
                                                          if trial.company else ""))
    click.echo(f"  status           {trial.status}" + (f", chose {trial.choice}"
                                                       if trial.choice else ""))
    click.echo(f"  seats activated  {seats} of {trial.seats}")
    click.echo(f"  services         {', '.join(trial.services) or '-'}")
    for name in dates:
        moment = getattr(trial, name)
        if moment is not None:
            click.echo(f"  {name:16} {moment.isoformat()}")
    if trial.status in ("active", "expired"):
        click.echo(f"  conversion link  {link}")


@trials.command("usage")
@click.argument("trial_id", type=int)
@click.argument("kind", type=click.Choice(["seat", "service"]))
@click.argument("value")
def usage(trial_id: int, kind: str, value: str) -> None:
    """Record a seat activation (an email or account id) or the use of a service."""
    rt = open_runtime()
    try:
        result = record_usage(rt, trial_id, f"{kind}_activated" if kind == "seat"
                              else "service_used", value, source="cli")
    finally:
        rt.close()
    if not result.recorded:
        click.echo(f"The seat {value} was already activated; nothing recorded.")
    else:
        click.echo(f"Recorded event {result.event_id}.")
    if kind == "seat":
        click.echo(f"Seats activated: {result.seats_activated}.")


@trials.command("expire")
def expire() -> None:
    """Expire trials past their end and mark data deleted past retention; prints JSON."""
    rt = open_runtime()
    try:
        click.echo(json.dumps(run_trial_jobs(rt, rt.settings)))
    finally:
        rt.close()
