"""`nurture segments`: save a condition over contacts under a name, list segments with
how many contacts each holds, count a segment or a condition, and export its contacts."""

from __future__ import annotations

import csv
import sys
from pathlib import Path

import click

from nurture.app.cli.ops import command_runtime, in_transaction
from nurture.app.cli.refusals import Group
from nurture.audiences import services

WHERE = click.option("--where", "condition", metavar="EXPR",
                     help="A condition in the journeys' language, such as "
                          "\"stage == 'try' and opened('30d') >= 2\".")


@click.group(cls=Group)
def segments() -> None:
    """Segments: named conditions over contacts, counted in SQL."""


@segments.command()
@click.argument("name")
@click.option("--where", "condition", metavar="EXPR", required=True,
              help="The condition, such as \"grade in ['A', 'B'] and in_list('VIP')\".")
@click.option("--description", default="", help="What the segment is for.")
def create(name: str, condition: str, description: str) -> None:
    """Save the condition as segment NAME (checked first: nothing is saved that cannot be
    counted)."""
    def work(session, rt) -> int:
        services.create(session, name, condition, rt.clock.now(), by="cli",
                        description=description)
        return services.count(session, condition, rt.clock.now())

    found = in_transaction(work)
    click.echo(f"Saved the segment {name.strip()!r}: {found} contact"
               f"{'' if found == 1 else 's'} now.")


@segments.command("list")
def list_() -> None:
    """Every segment, with how many contacts it holds now."""
    views = in_transaction(lambda session, rt: services.summaries(session, rt.clock.now()))
    if not views:
        click.echo("No segments yet; `nurture segments create NAME --where EXPR` saves one.")
        return
    width = max(len(v.name) for v in views)
    for view in views:
        shown = "?" if view.count is None else str(view.count)
        click.echo(f"{view.name:<{width}}  {shown:>9}  {view.condition}")


@segments.command()
@click.argument("name", required=False)
@WHERE
def count(name: str | None, condition: str | None) -> None:
    """How many contacts are in segment NAME, or match --where EXPR."""
    if (name is None) == (condition is None):
        raise click.UsageError("Give a segment's name or --where EXPR (one of the two).")

    def work(session, rt) -> int:
        text = condition if condition is not None else services.find(session, str(name)).condition
        return services.count(session, text, rt.clock.now())

    click.echo(str(in_transaction(work)))


@segments.command()
@click.argument("name")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="The CSV file to write (default: standard output).")
def export(name: str, out: Path | None) -> None:
    """Write segment NAME's contacts as CSV, read and written in batches."""
    written = 0
    with command_runtime() as rt, rt.db.transaction() as session:
        segment = services.find(session, name)
        rows = services.export_rows(session, segment.condition, rt.clock.now())
        stream = out.open("w", newline="", encoding="utf-8") if out else sys.stdout
        try:
            writer = csv.writer(stream)
            writer.writerow(services.EXPORT_COLUMNS)
            for row in rows:
                writer.writerow(row)
                written += 1
        finally:
            if out:
                stream.close()
    if out:
        click.echo(f"Wrote {written} contact{'' if written == 1 else 's'} of "
                   f"{segment.name!r} to {out}.")
