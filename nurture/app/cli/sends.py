"""`nurture sends ...`: the sends whose outcome is unknown, and their retry on an
operator's word (see nurture/sending/retries.py and docs/delivery.md)."""

from __future__ import annotations

import click

from nurture.app.cli.ops import command_runtime, in_transaction
from nurture.app.cli.refusals import Group
from nurture.sending.retries import retry, unknown


@click.group(cls=Group)
def sends() -> None:
    """Sends whose outcome is unknown: list them, retry the ones you decide to."""


@sends.command("unknown")
def unknown_() -> None:
    """List the sends whose outcome is unknown that nobody has retried yet: id, key,
    recipient, template and since when (the start of their hand-off)."""
    with command_runtime() as rt, rt.db.sessions() as session:
        rows = unknown(session)
    if not rows:
        click.echo("No send has an unknown outcome.")
        return
    click.echo(f"{'ID':>10}  {'SINCE':<20}  {'TEMPLATE':<28}  {'TO':<32}  KEY")
    for row in rows:
        since = row.since.strftime("%Y-%m-%d %H:%M:%S") if row.since else "-"
        click.echo(f"{row.id:>10}  {since:<20}  {row.template:<28}  {row.to_email:<32}  "
                   f"{row.send_key}")
    click.echo(f"{len(rows)} sends may or may not have reached the mail server; "
               "`nurture sends retry ID... --by YOU` sends the ones you choose again.",
               err=True)


@sends.command("retry")
@click.argument("ids", nargs=-1, required=True, type=click.IntRange(1, 2**63 - 1))
@click.option("--by", "by", required=True,
              help="Who decided to send them again (kept on each retry), such as your email.")
def retry_(ids: tuple[int, ...], by: str) -> None:
    """Send again the sends IDS, whose outcome is unknown, on your word: each becomes a new
    send (key ORIGINAL:retry-N) that goes at most once, like any send. All or none: a send
    whose outcome is known, or that was already retried, refuses the lot."""
    def work(session, rt):
        return [(r.retry_of, r.id, r.send_key) for r in retry(session, ids, by,
                                                                  rt.clock.now())]

    for original, new_id, key in in_transaction(work):
        click.echo(f"Send {new_id} ({key}) is queued: a retry of send {original}, "
                   f"decided by {by.strip()}.")
