"""`nurture bounces import FILE...`: delivery status notifications (RFC 3464), ARF
complaints and plain bounce messages, one message or an mbox per file."""

from __future__ import annotations

from pathlib import Path

import click

from nurture.app.cli.refusals import Group
from nurture.app.composition import build
from nurture.app.guard import intake
from nurture.config import Settings
from nurture.inbound.services import mailboxes, reports_in_file
from nurture.sending.errors import DSNError


@click.group(cls=Group)
def bounces() -> None:
    """Bounce and complaint intake."""


@bounces.command("import")
@click.argument("files", nargs=-1, required=True,
                type=click.Path(exists=True, dir_okay=False, path_type=Path))
def import_(files: tuple[Path, ...]) -> None:
    """Read bounce messages and suppress hard-bounced and complaining addresses."""
    found = []
    rt = build(Settings.from_env(), with_transport=False)
    try:
        ours = mailboxes(rt.settings)
        for path in files:
            try:  # a report to a VERP return path is matched to its send
                parsed = reports_in_file(rt, ours, path.read_bytes())
            except DSNError as exc:  # presentation: the sentence names the file it is about
                raise click.ClickException(f"{path}: {exc}") from None
            if not parsed:
                click.echo(f"{path}: no bounce or complaint found; nothing recorded.",
                           err=True)
            found += parsed
        counts = intake(rt, found, "dsn-import")
    finally:
        rt.close()
    summary = ", ".join(f"{n} {kind}" for kind, n in sorted(counts.items())) or "nothing"
    click.echo(f"Recorded {len(found)} bounce reports: {summary}.")
