"""`nurture nps report`: NPS per month or quarter, and per vertical or stage, with the number
of answers and its 95% interval, or "too few to judge" where the answers are too few for
the interval to say anything."""

from __future__ import annotations

import json

import click

from nurture.app.cli.refusals import Group
from nurture.app.composition import build
from nurture.config import Settings
from nurture.nps import queries, stats


@click.group(cls=Group)
def nps() -> None:
    """Net Promoter Score answers."""


@nps.command()
@click.option("--period", type=click.Choice(["month", "quarter"]), default="month",
              show_default=True, help="Group answers by calendar month or quarter.")
@click.option("--segment", type=click.Choice(["vertical", "stage"]), default=None,
              help="Split each period by the contact's vertical or stage at answer time.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def report(period: str, segment: str | None, as_json: bool) -> None:
    """NPS per period (and segment), with the adjusted-Wald 95% interval."""
    rt = build(Settings.from_env(), with_transport=False)
    try:
        rows = queries.answer_rows(rt.db)
    finally:
        rt.close()
    lines = [stats.as_dict(item) for item in stats.by_period_and_segment(rows, period, segment)]
    if as_json:
        click.echo(json.dumps({"period": period, "segment": segment or stats.ALL,
                               "rows": lines}, indent=2))
        return
    if not lines:
        click.echo("No NPS answers yet.")
        return
    click.echo(f"{'period':<9} {'segment':<20} {'n':>5} {'NPS':>7}  95% interval")
    for line in lines:
        head = f"{line['period']:<9} {line['segment'][:20]:<20} {line['n']:>5} {line['nps']:>+7.1f}"
        if not line["enough"]:  # a margin of ±30 points or more says nothing yet
            click.echo(f"{head}  too few to judge (fewer than {stats.TOO_FEW} answers)")
            continue
        click.echo(f"{head}  {line['low']:+.1f} to {line['high']:+.1f} "
                   f"(±{line['margin']:.1f})")
    click.echo(f"\n{stats.INTERVAL}")
