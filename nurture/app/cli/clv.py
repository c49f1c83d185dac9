"""`nurture clv fit`: fit the BG/NBD purchase model and the Gamma-Gamma spend model to a
transaction log (a CSV file, or Nurture's own purchase events) and print what customers are
worth over a horizon: the parameters, the best customers and the average."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import date
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import click
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from nurture.app.cli.ops import open_runtime
from nurture.app.cli.refusals import Group
from scoring.clv import CLVReport, value_customers
from scoring.clv_data import (
    UNIT_DAYS,
    Columns,
    Transaction,
    contact_emails,
    periods_per_year,
    read_transactions,
    summarize,
    transactions_from_events,
)
from scoring.errors import CLVError

ONE_YEAR = {"days": 365, "weeks": 52}


@click.group(cls=Group)
def clv() -> None:
    """Customer lifetime value (BG/NBD purchases, Gamma-Gamma spend)."""


@clv.command()
@click.option("--transactions", "path", type=click.Path(path_type=Path), metavar="FILE",
              help="CSV file with one purchase a line: customer, date, amount.")
@click.option("--from-events", is_flag=True,
              help="Use Nurture's own purchases: purchase.completed (and trial.converted) "
                   "events with an amount.")
@click.option("--observation-end", metavar="YYYY-MM-DD",
              help="The day the log runs to; later purchases are ignored. Required with "
                   "--transactions; today with --from-events.")
@click.option("--unit", type=click.Choice(list(UNIT_DAYS)), default="weeks", show_default=True,
              help="The time unit of the models and of the horizon.")
@click.option("--customer-column", default="customer_id", show_default=True)
@click.option("--date-column", default="date", show_default=True)
@click.option("--amount-column", default="amount", show_default=True)
@click.option("--date-format", default=None,
              help="strptime format of the dates when they are not ISO, e.g. %d/%m/%Y.")
@click.option("--horizon", type=click.IntRange(min=1), default=None,
              help="How far ahead to value customers, in units.  [default: one year: 52 weeks "
                   "or 365 days]")
@click.option("--discount-rate", type=click.FloatRange(min=0), default=0.10, show_default=True,
              help="Annual discount rate.")
@click.option("--top", type=click.IntRange(min=0), default=5, show_default=True,
              help="How many of the best customers to list.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def fit(path: Path | None, from_events: bool, observation_end: str | None, unit: str,
        customer_column: str, date_column: str, amount_column: str, date_format: str | None,
        horizon: int | None, discount_rate: float, top: int, as_json: bool) -> None:
    """Fit the models and print each customer's lifetime value: the best and the average."""
    if (path is None) == (not from_events):
        raise click.ClickException("Give either --transactions FILE or --from-events.")
    end = _day(observation_end) if observation_end else None
    if path is not None and end is None:
        raise click.ClickException("With --transactions, give --observation-end YYYY-MM-DD: the "
                                   "day the log runs to, from which customers' ages are counted.")
    horizon = horizon or ONE_YEAR[unit]
    emails = None
    if path is not None and end is not None:
        columns = Columns(customer_column, date_column, amount_column)
        report = _value(read_transactions(path, columns, date_format), end, unit, horizon,
                        discount_rate)
    else:
        report, end, emails = _value_own_customers(end, unit, horizon, discount_rate, top)
    result = as_dict(report, end, unit, top, emails)
    if as_json:
        click.echo(json.dumps(result, indent=2))
    else:
        _print(result)


def as_dict(report: CLVReport, end: date, unit: str, top: int,
            emails: dict[str, str] | None = None) -> dict[str, Any]:
    """The report as plain JSON values, with the `top` best customers."""
    best = []
    for customer in report.best(top):
        row = asdict(customer)
        if emails is not None and customer.customer_id in emails:
            row["email"] = emails[customer.customer_id]
        best.append(row)
    return {
        "observation_end": end.isoformat(), "unit": unit, "customers": len(report.customers),
        "bgnbd": {**asdict(report.purchases.params),
                  "log_likelihood": report.purchases.log_likelihood},
        "gamma_gamma": {**asdict(report.spend.params),
                        "log_likelihood": report.spend.log_likelihood,
                        "customers": report.spend.customers},
        "horizon": report.horizon, "discount_rate": report.discount_rate,
        "average_clv": report.average_clv, "total_clv": report.total_clv, "top": best,
    }


def _print(result: dict[str, Any]) -> None:
    bg, gg, unit = result["bgnbd"], result["gamma_gamma"], result["unit"]
    click.echo(f"{result['customers']} customers, observed to {result['observation_end']}, "
               f"time in {unit}.")
    click.echo(f"Purchases (BG/NBD):   r = {bg['r']:.4f}  alpha = {bg['alpha']:.4f}  "
               f"a = {bg['a']:.4f}  b = {bg['b']:.4f}  log-likelihood = "
               f"{bg['log_likelihood']:.2f}")
    click.echo(f"Spend (Gamma-Gamma):  p = {gg['p']:.4f}  q = {gg['q']:.4f}  "
               f"gamma = {gg['gamma']:.4f}  log-likelihood = {gg['log_likelihood']:.2f}  "
               f"({gg['customers']} repeat customers)")
    click.echo(f"Value over {result['horizon']} {unit}, discounted at "
               f"{result['discount_rate']:.1%} a year, in steps of one {unit[:-1]}:")
    click.echo(f"  average CLV  {result['average_clv']:12,.2f}")
    click.echo(f"  total CLV    {result['total_clv']:12,.2f}")
    if not result["top"]:
        return
    click.echo(f"The {len(result['top'])} best customers:")
    click.echo(f"  {'customer':<24} {'CLV':>10} {'P(alive)':>9} {'purchases':>10} "
               f"{'per purchase':>13} {'repeats':>8}")
    for row in result["top"]:
        name = f"{row['customer_id']} {row.get('email', '')}".strip()
        click.echo(f"  {name[:24]:<24} {row['clv']:>10,.2f} {row['p_alive']:>9.2f} "
                   f"{row['expected_purchases']:>10.2f} {row['expected_spend']:>13,.2f} "
                   f"{row['frequency']:>8}")


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise click.ClickException(f"The observation end {text!r} is not a date like "
                                   "1997-09-30.") from None


def _value(transactions: list[Transaction], end: date, unit: str, horizon: int,
           discount_rate: float) -> CLVReport:
    summaries = summarize(transactions, end, unit)
    if not summaries:
        raise CLVError(f"No customer made a purchase on or before {end}.")
    return value_customers(summaries, horizon, discount_rate, periods_per_year(unit))


def _value_own_customers(end: date | None, unit: str, horizon: int, discount_rate: float,
                         top: int) -> tuple[CLVReport, date, dict[str, str]]:
    """Value Nurture's own customers from their purchase events, up to `end` or today in
    Nurture's time zone; with the emails of the `top` best."""
    rt = open_runtime(with_transport=False)
    try:
        tz = ZoneInfo(rt.settings.timezone)
        with rt.db.sessions() as session:
            transactions = transactions_from_events(session, tz=tz)
        end = end or rt.clock.now().astimezone(tz).date()
        report = _value(transactions, end, unit, horizon, discount_rate)
        with rt.db.sessions() as session:
            emails = contact_emails(session, [c.customer_id for c in report.best(top)])
        return report, end, emails
    except SQLAlchemyError as exc:
        reason = str(exc.orig if isinstance(exc, DBAPIError) else exc).splitlines()[0]
        raise CLVError(f"Nurture's database could not be read ({reason}); is it set up? "
                       "`nurture init` creates it.") from None
    finally:
        rt.close()
