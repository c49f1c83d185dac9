"""`nurture contacts import`: a CSV file of contacts into the database, with a progress
bar, a summary, and the rejected rows to a file of their own."""

from __future__ import annotations

from pathlib import Path

import click
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeRemainingColumn

from nurture.app.cli.ops import command_runtime
from nurture.app.cli.refusals import Group
from nurture.app.runtime import Runtime
from nurture.contacts.imports import mappings, service
from nurture.contacts.imports import queries as import_queries
from nurture.contacts.imports.mapping import parse_pairs, suggest
from nurture.contacts.imports.options import checked


@click.group(cls=Group)
def contacts() -> None:
    """Contacts: import them from a CSV file."""


@contacts.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--list", "list_name", default="", help="Add every imported contact to this "
              "list (made if there is none).")
@click.option("--map", "pairs", multiple=True, metavar="COLUMN=FIELD",
              help="Map a column to a field (email, first_name, ..., attribute, "
                   "attribute:<name>, skip); repeat it. Columns not named keep the "
                   "suggested field.")
@click.option("--mapping", "saved", default="", help="Start from this saved mapping.")
@click.option("--save-mapping", default="", help="Save the mapping used under this name.")
@click.option("--update", "policy", flag_value="update", default=True,
              help="Existing contacts take the file's values (the default).")
@click.option("--fill", "policy", flag_value="fill",
              help="Existing contacts keep their values; only empty fields are filled.")
@click.option("--skip-existing", "policy", flag_value="skip",
              help="Existing contacts are left as they are.")
@click.option("--consent-basis", default="", help="How these people consented to marketing "
              "(\"Signed up at the Berlin fair\"); kept as proof. Without it they get only "
              "service messages.")
@click.option("--consented-at", default="", metavar="DATE",
              help="When they consented (2026-10-02).")
@click.option("--start-journeys", is_flag=True,
              help="Let journeys triggered by new contacts start for these contacts.")
@click.option("--rejects-out", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the rejected rows, with the reason, to this CSV file.")
@click.option("--by", default="cli", help="Who imports (kept on the job).")
def import_(file: Path, list_name: str, pairs: tuple[str, ...], saved: str,
            save_mapping: str, policy: str, consent_basis: str, consented_at: str,
            start_journeys: bool, rejects_out: Path | None, by: str) -> None:
    """Import the contacts of a CSV FILE: the encoding and delimiter are found, the
    columns mapped to fields by their names unless told (--map), bad rows reported with
    their line. Running the same file again after a crash goes on where it stopped."""
    file = file.resolve()
    with command_runtime() as rt:
        _, header = service.header(file)
        mapping = suggest(header)
        if saved:
            with rt.sessions() as session:
                mapping.update(mappings.for_header(mappings.load(session, saved), header))
        mapping.update(parse_pairs(pairs))
        options = checked(policy, list_name, consent_basis, consented_at or None,
                          start_journeys, rt.now())
        job_id = service.unfinished(rt, file, mapping, options)
        if job_id is None:
            job_id = service.create(rt, file, file.name, mapping, options, by,
                                    background=False)
        else:
            click.echo(f"Resuming import #{job_id} from its last committed line.", err=True)
        shown = ", ".join(f"{c} → {f}" for c, f in mapping.items() if f)
        click.echo(f"Import #{job_id}: {shown}", err=True)
        if save_mapping:
            with rt.transaction() as session:
                mappings.save(session, save_mapping, mapping, by, rt.now())
        done = _run(rt, job_id)
        if rejects_out is not None:
            with rejects_out.open("w", newline="", encoding="utf-8") as handle:
                count = import_queries.write_rejects(rt, job_id, handle)
            click.echo(f"{count} rejected rows written to {rejects_out}.", err=True)
    c = done.counts
    click.echo(f"{done.rows_read:,} rows read: {c.created:,} created, {c.updated:,} updated, "
               f"{c.skipped:,} skipped (already there), {c.duplicates:,} repeated in the "
               f"file, {c.rejected:,} rejected; {done.rows_per_second:,.0f} rows/s.")
    if c.created + c.updated == 0:
        raise click.ClickException("Nothing could be imported.")


def _run(rt: Runtime, job_id: int) -> service.Progress:
    columns = (TextColumn("[progress.description]{task.description}"), BarColumn(),
               TaskProgressColumn(), TextColumn("{task.fields[rate]:,.0f} rows/s"),
               TextColumn("{task.fields[errors]:,} errors"), TimeRemainingColumn())
    with Progress(*columns, console=Console(stderr=True), transient=False) as bar:
        task = bar.add_task("Importing", total=None, rate=0.0, errors=0)

        def show(progress: service.Progress) -> None:
            bar.update(task, completed=progress.line, total=progress.total_lines or None,
                       rate=progress.rows_per_second,
                       errors=progress.counts.rejected + progress.counts.duplicates)

        return service.run(rt, job_id, progress=show)
