"""`nurture insights`: reports for marketers, printed as the console shows them."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import click

from nurture.app.cli.ops import command_runtime
from nurture.app.cli.refusals import Group
from nurture.app.reports.acquisition import acquisition_ceiling


@click.group(cls=Group)
def insights() -> None:
    """Reports: what customers are worth, and what winning one may cost."""


@insights.command("acquisition-ceiling")
@click.option("--horizon", type=click.IntRange(min=1), default=52, show_default=True,
              help="Weeks of predicted value counted.")
def acquisition_ceiling_command(horizon: int) -> None:
    """What a new customer may cost to win (average CLV x NURTURE_GROSS_MARGIN) per
    acquisition source, vertical and referral source."""
    with command_runtime() as rt:
        tz = ZoneInfo(rt.settings.timezone)
        margin = rt.settings.scoring.gross_margin
        report = acquisition_ceiling(rt.db, rt.clock.now().astimezone(tz).date(), tz, margin,
                                     horizon)
    if report.error:
        click.echo(f"Not enough purchase history to estimate lifetime value yet. "
                   f"{report.error}")
        return
    click.echo(f"Acquisition-cost ceiling: average CLV over {horizon} weeks x gross margin "
               f"{margin:.0%}.")
    click.echo(f"{'by':<16} {'group':<32} {'customers':>9} {'average CLV':>12} "
               f"{'ceiling':>12}")
    for row in report.rows:
        click.echo(f"{row.dimension:<16} {row.group[:32]:<32} {row.customers:>9} "
                   f"{row.average_clv:>12,.2f} {row.ceiling:>12,.2f}")
