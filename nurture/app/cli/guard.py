"""`nurture guard`: each journey's complaint and hard-bounce rates, and its pause."""

from __future__ import annotations

import click

from nurture.app import guard as guarding
from nurture.app.cli.ops import command_runtime
from nurture.app.cli.refusals import Group


@click.group(cls=Group)
def guard() -> None:
    """The rates that pause a journey's marketing mail, and the pauses."""


@guard.command()
def status() -> None:
    """Each journey's sends, complaint and hard-bounce rates in the window, and pauses."""
    with command_runtime() as rt:
        found = guarding.status(rt)
    limits = found.thresholds
    click.echo(f"Window {found.window_days} days; judged from {limits.min_sends} sends; "
               f"limits {limits.complaint_rate:.2%} complaints, "
               f"{limits.bounce_rate:.2%} hard bounces.")
    if not found.rows:
        click.echo("No journey sent mail in the window.")
    for row in found.rows:
        state = (f"PAUSED since {row.paused.paused_at:%Y-%m-%d %H:%M} by "
                 f"{row.paused.paused_by} ({row.paused.reason}), {row.held} sends held"
                 if row.paused else ("over: " + row.over if row.over else
                                     "ok" if row.judged else "too few sends to judge"))
        click.echo(f"journey:{row.source}  sent {row.sent}  complaints {row.complaints} "
                   f"({row.complaint_rate:.2%})  hard bounces {row.bounces} "
                   f"({row.bounce_rate:.2%})  {state}")


@guard.command()
@click.argument("source")
@click.option("--reason", required=True, help="Why it is paused (kept in the history).")
@click.option("--by", "by", default="cli", show_default=True,
              help="Who pauses it, such as your email.")
def pause(source: str, reason: str, by: str) -> None:
    """Pause SOURCE (a journey id, or journey:ID): its marketing sends are held and its
    contacts wait where they are."""
    with command_runtime() as rt:
        row = guarding.pause(rt, source, reason, by)
    click.echo(f"The journey {row.source_id} is paused ({row.reason}).")


@guard.command()
@click.argument("source")
@click.option("--reason", required=True, help="What was fixed (kept in the history).")
@click.option("--by", "by", default="cli", show_default=True,
              help="Who resumes it, such as your email.")
def resume(source: str, reason: str, by: str) -> None:
    """Resume SOURCE: its held sends go out again, under the frequency cap and quiet hours,
    and its contacts move on."""
    with command_runtime() as rt:
        released = guarding.resume(rt, source, reason, by)
    click.echo(f"Resumed: {released['sends']} held sends released, "
               f"{released['enrollments']} contacts moving on.")
