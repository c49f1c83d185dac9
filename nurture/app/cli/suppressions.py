"""`nurture suppressions`: import a suppression list from CSV, export it, lift a bounce."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from nurture.app.cli.ops import in_transaction
from nurture.app.cli.refusals import Group
from nurture.consent.errors import ListError
from nurture.consent.lists import apply, read_entries, write_csv
from nurture.consent.lists import export as rows
from nurture.consent.lists import lift as lift_one
from nurture.consent.models import REASONS


@click.group(cls=Group)
def suppressions() -> None:
    """The suppression list: import it from another tool, export it, lift a bounce."""


@suppressions.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--reason", type=click.Choice(REASONS),
              help="The reason for every address (else the file's `reason` column).")
@click.option("--email-column", default="email", show_default=True,
              help="The column that holds the addresses.")
def import_(file: Path, reason: str | None, email_column: str) -> None:
    """Add the addresses of a CSV file to the suppression list. The whole file is checked
    first: a bad row is reported by its line and nothing is added."""
    try:
        with file.open(newline="", encoding="utf-8-sig") as handle:
            entries = read_entries(handle, reason, email_column)
    except UnicodeDecodeError:
        raise click.ClickException(f"{file} is not UTF-8 text.") from None
    except ListError as exc:  # presentation: the sentence names the file it is about
        raise click.ClickException(f"{file}: {exc}") from None
    counts = in_transaction(lambda session, rt: apply(session, entries, f"import:{file.name}"[:60],
                                              rt.clock.now()))
    click.echo(f"{len(entries)} addresses: {counts['added']} added, "
               f"{counts['strengthened']} given a stronger reason, {counts['unchanged']} "
               f"already listed; {counts['sends_stopped']} queued sends stopped.")


@suppressions.command()
@click.option("--reason", type=click.Choice(REASONS), help="Only this reason.")
def export(reason: str | None) -> None:
    """Write the suppression list as CSV to stdout."""
    count = in_transaction(lambda session, _rt: write_csv(rows(session, reason), sys.stdout))
    click.echo(f"{count} addresses exported.", err=True)


@suppressions.command()
@click.argument("email")
def lift(email: str) -> None:
    """Take a bounced or complaining address off the list (an unsubscribe stays)."""
    reason = in_transaction(lambda session, _rt: lift_one(session, email))
    click.echo(f"{email} is no longer suppressed (it was {reason}).")
