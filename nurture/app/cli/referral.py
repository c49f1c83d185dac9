"""`nurture referral`: sources, the rewards file, the report, and the hold-period job."""

from __future__ import annotations

import json
import sys
from dataclasses import asdict
from datetime import UTC, datetime, timedelta

import click

from nurture.app.cli.ops import command_runtime, running
from nurture.app.cli.refusals import Group
from nurture.config import Settings
from referral import analytics, queries
from referral import services as referral_services
from referral.config import ReferralConfig
from referral.loader import load_rewards_file
from referral.rules import KIND_LABELS, format_money
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


@referral.command()
@click.option("--pending", is_flag=True, help="Only the rewards awaiting fulfilment.")
def rewards(pending: bool) -> None:
    """The thank-yous, referrals back, features and gifts: what each asks for, and who
    fulfilled it when."""
    with command_runtime() as rt:
        rows = queries.fulfilments(rt.db, ReferralConfig.from_settings(rt.settings).rules,
                                   awaiting_only=pending)
    if not rows:
        click.echo("No reward awaits fulfilment." if pending else
                   "No reward to fulfil has been earned yet.")
        return
    for row in rows:
        what = KIND_LABELS.get(row.kind, row.kind)
        value = f" worth {format_money(row.value_cents, row.currency)}" \
            if row.value_cents else ""
        click.echo(f"#{row.id}  {row.status:<9}  {what}{value} for {row.referrer}"
                   f"{f' <{row.referrer_email}>' if row.referrer_email else ''}, "
                   f"who referred {row.friend}")
        click.echo(f"      {row.label}: {row.detail}" if row.detail else f"      {row.label}")
        if row.ship_to:
            click.echo(f"      ship to {row.ship_to}")
        if row.fulfilled_at is not None:
            click.echo(f"      fulfilled {row.fulfilled_at:%Y-%m-%d %H:%M} by "
                       f"{row.fulfilled_by}: {row.note}")
        else:
            click.echo(f"      awaiting fulfilment by a {row.by}; earned "
                       f"{row.created_at:%Y-%m-%d}")


@referral.command()
@click.argument("reward_id", type=int, metavar="ID")
@click.option("--note", default="", help="What was done: the lead passed, the parcel sent.")
@click.option("--by", "actor", default="cli", show_default=True,
              help="Who fulfilled it, for the ledger.")
def fulfil(reward_id: int, note: str, actor: str) -> None:
    """Mark a thank-you, a referral back, a feature or a gift fulfilled."""
    with command_runtime() as rt:
        referral_services.fulfil(rt, reward_id, actor, note or "Fulfilled.")
    click.echo(f"Reward {reward_id} is fulfilled.")
