"""`nurture referral`: sources, the rewards file, the report, and the hold-period job."""

from __future__ import annotations

import json
import sys
from dataclasses import asdict
from datetime import UTC, datetime, timedelta

import click

from nurture.app.cli.ops import running
from nurture.app.cli.refusals import Group
from nurture.config import Settings
from referral import analytics
from referral import services as referral_services
from referral.config import ReferralConfig
from referral.loader import load_rewards_file
from referral.sources import share_link


@click.group(cls=Group)
def referral() -> None:
    """Referral program: sources, rewards and the report."""


@referral.command()
@click.argument("path", required=False)
def validate(path: str | None) -> None:
    """Check the rewards file (default: NURTURE_REFERRAL_RULES or referral/rewards.yaml);
    every problem as FILE:LINE: sentence."""
    file = path or str(ReferralConfig.from_settings(Settings.from_env()).rules_file)
    loaded = load_rewards_file(file)
    rules = loaded.rules  # there are rules exactly when nothing is wrong
    for violation in loaded.violations:
        click.echo(str(violation), err=True)
    if rules is None:
        sys.exit(1)
    click.echo(f"{file}: {len(rules.rewards)} rewards and {len(rules.milestones)} "
               "milestones, no problems.")


@referral.group()
def sources() -> None:
    """Referral sources (customers get theirs automatically)."""


@sources.command("create")
@click.option("--type", "type_", type=click.Choice(["partner", "influencer"]), required=True)
@click.option("--name", required=True)
@click.option("--email", default="")
@click.option("--campaign", default="", help="The utm_campaign tag of the share link.")
@click.option("--landing", default="trial", show_default=True, help="Landing page slug.")
@click.option("--expires", "expires_on", default="", help="Last day of the code, YYYY-MM-DD.")
def create_source(type_: str, name: str, email: str, campaign: str, landing: str,
                  expires_on: str) -> None:
    """Create a partner's or influencer's source and print its share link."""
    expires = None
    if expires_on:
        try:
            expires = datetime.fromisoformat(expires_on).replace(tzinfo=UTC) \
                + timedelta(days=1)
        except ValueError:
            raise click.UsageError("Give --expires as YYYY-MM-DD.") from None
    with running() as rt:
        _, code = referral_services.create_source(rt, type_, name, email, campaign, landing,
                                                  "cli", expires)
        click.echo(share_link(rt.settings.base_url, code))


@sources.command("backfill")
def backfill() -> None:
    """Give every existing customer without a referral code their own."""
    with running() as rt:
        click.echo(f"{referral_services.backfill_codes(rt)} customers got a referral code.")


@referral.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of CSV.")
def report(as_json: bool) -> None:
    """Clicks, sign-ups, conversions, revenue and rewards per source (CSV on stdout)."""
    with running() as rt, rt.db.sessions() as session:
        funnels = analytics.per_source(session)
    if as_json:
        click.echo(json.dumps({"sources": [asdict(f) for f in funnels],
                               "types": [asdict(f) for f in analytics.per_type(funnels)]},
                              indent=2))
    else:
        click.echo(analytics.to_csv(funnels), nl=False)


@referral.command("approve-due")
def approve_due() -> None:
    """Approve rewards whose hold period is over (the scheduler does this every minute)."""
    with running() as rt:
        click.echo(f"{referral_services.approve_due(rt)} rewards approved.")
