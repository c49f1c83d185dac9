"""`nurture scoring`: check the rules file, explain a contact's score, run the decay, hand a
lead to sales by hand, and (from `scoring_models`) train and approve the predictive model."""

from __future__ import annotations

import json
from pathlib import Path

import click
from sqlalchemy import select

from nurture.app.cli.ops import running
from nurture.app.cli.refusals import Group
from nurture.config import Settings
from nurture.contacts.models import Contact
from nurture.contacts.services import email_key
from scoring.loader import DEFAULT_FILE, load_rules_file
from scoring.queries import score_card
from scoring.services import hand_off, open_for, refit_everyone, run_scoring_jobs


@click.group(cls=Group)
def scoring() -> None:
    """Lead scoring, hand-offs to sales and the predictive model."""


@scoring.command()
@click.argument("path", required=False, type=click.Path(dir_okay=False, path_type=Path))
def validate(path: Path | None) -> None:
    """Check a scoring rules file (default: the one in use) and list every problem."""
    path = path or Settings.from_env().scoring.rules_file or DEFAULT_FILE
    loaded = load_rules_file(path)
    rules = loaded.rules  # there are rules exactly when nothing is wrong
    for violation in loaded.violations:
        click.echo(str(violation), err=True)
    if rules is None:
        raise click.ClickException(f"{path} has {len(loaded.violations)} problem(s).")
    click.echo(f"{path}: {len(rules.fit)} fit and {len(rules.engagement)} engagement rules, "
               f"half-life {rules.half_life.days} days, hand-off at {rules.handoff.threshold:g}.")


@scoring.command()
@click.argument("email")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def explain(email: str, as_json: bool) -> None:
    """Why a contact has the score it has: the rules that earned the points."""
    with running() as rt:
        card = score_card(rt, rt.settings, email=email)
    if card is None:
        raise click.ClickException(f"There is no contact with the email address {email}.")
    if as_json:
        click.echo(json.dumps(card, indent=2, default=str))
        return
    click.echo(f"{card['email']}: score {card['score']}, grade {card['grade']} "
               f"(fit {card['fit']:g}, engagement now {card['engagement']:.1f})")
    if card["predictive"] is not None:
        click.echo(f"Predicted chance to convert within 90 days: {card['predictive']:.0%}")
    for item in card["explanation"]:
        click.echo(f"  {item['points']:>+7.1f}  {item['label']}"
                   + (f" ({item['events']} events)" if item["events"] else ""))


@scoring.command()
def decay() -> None:
    """Bring every score to now (the scheduler does this hourly)."""
    with running() as rt:
        done = run_scoring_jobs(rt, rt.settings, rt.db)
    if not done:
        raise click.ClickException("The scoring rules file is not valid; run "
                                   "`nurture scoring validate`.")
    click.echo(f"Fitted {done['fitted']} new contacts; {done['decayed']} scores changed.")


@scoring.command()
def refit() -> None:
    """Re-evaluate every contact's fit after the rules file changed (ledger deltas)."""
    with running() as rt:
        count = refit_everyone(rt, rt.settings)
    click.echo(f"Fit re-evaluated for {count} contacts.")


@scoring.command()
@click.argument("email")
@click.option("--reason", required=True, help="Why sales should call now.")
def handoff(email: str, reason: str) -> None:
    """Hand a lead to sales now (cool-down and one open hand-off still apply)."""
    with running() as rt:
        with rt.db.sessions() as session:
            cid = session.scalar(select(Contact.id).where(Contact.email_key == email_key(email)))
        if cid is None:
            raise click.ClickException(f"There is no contact with the email address {email}.")
        ids = hand_off(rt, rt.settings, cid, reason.strip() or "Handed off by hand.")
        if not ids:
            existing = open_for(rt, cid)
            raise click.ClickException(
                f"{email} already has hand-off {existing} open." if existing else
                f"{email} was handed off recently and is in its cool-down.")
    click.echo(f"Hand-off {ids[0]} opened for {email}.")
