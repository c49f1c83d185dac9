"""`nurture inbound imap`: read the mailbox of the unsubscribe address and of bounces."""

from __future__ import annotations

import time

import click

from nurture.app.cli.ops import running
from nurture.app.cli.refusals import Group
from nurture.inbound.errors import MailboxError
from nurture.inbound.imap import poll_mailbox


@click.group(cls=Group)
def inbound() -> None:
    """Mail that comes back: unsubscribes by email, bounces, complaints, replies."""


@inbound.command("imap")
@click.option("--watch", is_flag=True, help="Keep polling, every --interval seconds.")
@click.option("--interval", type=click.IntRange(min=5), default=60, show_default=True,
              help="Seconds between polls with --watch.")
def imap(watch: bool, interval: int) -> None:
    """Handle the unseen messages of NURTURE_INBOUND_IMAP_URL once (or keep polling)."""
    with running() as rt:
        if rt.settings.inbound.imap_url is None:
            raise click.ClickException(
                "NURTURE_INBOUND_IMAP_URL is not set: set it to the mailbox that receives "
                "unsubscribe@ and bounces, such as imaps://user:password@host:993/INBOX.")
        while True:
            try:
                counts = poll_mailbox(rt, rt.settings)
            except MailboxError as exc:
                if not watch:
                    raise
                click.echo(f"{exc} Trying again in {interval} s.", err=True)
            else:
                summary = ", ".join(f"{n} {k}" for k, n in sorted(counts.items()))
                click.echo(f"Inbound mail: {summary or 'nothing new'}.")
            if not watch:
                return
            time.sleep(interval)
