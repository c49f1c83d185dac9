"""Customer account commands: deprovision a customer who leaves, and run the job that
deletes departed accounts' data after their retention period (for cron, beside or instead
of the scheduler)."""

from __future__ import annotations

import click

from nurture.accounts.services import deprovision, run_account_jobs
from nurture.app.cli.ops import command_runtime
from nurture.app.cli.refusals import Group


@click.group(cls=Group)
def accounts() -> None:
    """Customer accounts: deprovision, delete data when due."""


@accounts.command("deprovision")
@click.argument("email")
@click.option("--reason", default="", help="Why the customer left, for the record.")
def deprovision_command(email: str, reason: str) -> None:
    """End service and billing together for the customer EMAIL belongs to; every contact
    of the account gets the end-of-service notice with the data-retention date."""
    with command_runtime() as rt:
        done = deprovision(rt, email, source="cli", reason=reason)
    click.echo(f"Service and billing ended on {done.deprovisioned_at:%Y-%m-%d} for account "
               f"{done.account_id}; its data is kept until {done.retention_until:%Y-%m-%d}, "
               "then deleted.")


@accounts.command("jobs")
def jobs() -> None:
    """Delete the data of departed accounts whose retention period has passed."""
    with command_runtime() as rt:
        done = run_account_jobs(rt)
    click.echo(f"Deleted the data of {done['deleted']} account(s).")
