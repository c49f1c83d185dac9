"""`nurture broadcasts`: send a one-off campaign to a segment or a list, now, at a moment
or at a time of day in each contact's zone, with an A/B test if asked; follow it, pause,
resume or cancel it, and send a test's winner to the rest."""

from __future__ import annotations

import click

from nurture.app.cli.ops import command_runtime
from nurture.app.cli.refusals import Group
from nurture.broadcasts import plan, queries, services
from nurture.sending import subjects as subject_lines
from nurture.sending.render import store_for

BY = "cli"


@click.group(cls=Group)
def broadcasts() -> None:
    """Broadcasts: one-off campaigns to a segment or a list."""


@broadcasts.command()
@click.argument("name")
@click.option("--segment", default=None, help="The audience: a segment's name or id.")
@click.option("--list", "list_name", default=None, help="The audience: a list's name or id.")
@click.option("--template", "templates", multiple=True, required=True,
              help="The email template; give it twice or more for an A/B test (arm A, B…).")
@click.option("--subject", "subjects", multiple=True,
              help="A subject line in place of the template's, a Jinja line like "
                   "subject.txt; give it twice or more to test subjects (arm A, B…): "
                   "arms with a line and no --template of their own send the first "
                   "template. Translations keep their own subjects.")
@click.option("--topic", default="", help="The topic readers can opt out of, e.g. news.")
@click.option("--at", "send_at", default="", metavar="'YYYY-MM-DD HH:MM'",
              help="Send at this moment (UTC) rather than now.")
@click.option("--local", "local_time", default="", metavar="HH:MM",
              help="Send at this time of day in each contact's own zone.")
@click.option("--sample", "sample_percent", default="", metavar="PERCENT",
              help="The A/B test's sample (default 20).")
@click.option("--metric", type=click.Choice(plan.METRICS), default=plan.CLICKS,
              help="What the test counts: human clicks (default) or human opens.")
@click.option("--window", "window_hours", default="", metavar="HOURS",
              help="Hours the sample is watched before the winner goes (default 4).")
def create(name: str, segment: str | None, list_name: str | None, templates: tuple[str, ...],
           subjects: tuple[str, ...], topic: str, send_at: str, local_time: str,
           sample_percent: str, metric: str, window_hours: str) -> None:
    """Create broadcast NAME and make its sends."""
    if (segment is None) == (list_name is None):
        raise click.UsageError("Give the audience: --segment NAME or --list NAME (one).")
    if send_at and local_time:
        raise click.UsageError("Give --at or --local, not both.")
    with command_runtime() as rt:
        now = rt.clock.now()
        checked = plan.check(
            name=name, audience=plan.SEGMENT if segment is not None else plan.LIST,
            audience_ref=segment or list_name or "", templates=list(templates), topic=topic,
            timing=plan.AT if send_at else plan.LOCAL if local_time else plan.NOW,
            send_at=send_at, local_time=local_time, sample_percent=sample_percent,
            metric=metric, window_hours=window_hours, now=now, subjects=list(subjects),
            subject_problem=subject_lines.problem,
            known_templates=set(services.choosable(store_for(rt.settings.templates_dir))))
        made = services.created(rt.db, checked, now, by=BY, default_tz=rt.settings.timezone)
        shown = queries.shown(rt.db, made)
    click.echo(f"Broadcast #{made} {checked.name!r}: {shown.broadcast.recipients} "
               f"recipients" + (f", {shown.progress.queued} in the A/B sample first."
                                if checked.tested else "."))


@broadcasts.command("list")
def list_() -> None:
    """Every broadcast, newest first."""
    with command_runtime() as rt:
        rows = queries.listed(rt.db)
    if not rows:
        click.echo("No broadcasts yet; `nurture broadcasts create NAME ...` makes one.")
    for row in rows:
        click.echo(f"#{row.id:<5} {row.status:<10} {row.recipients:>9}  {row.name} "
                   f"({row.audience})")


@broadcasts.command()
@click.argument("broadcast_id", type=int)
def show(broadcast_id: int) -> None:
    """A broadcast's progress, A/B test and report."""
    with command_runtime() as rt:
        detail = queries.shown(rt.db, broadcast_id)
    row, progress, report = detail.broadcast, detail.progress, detail.report
    click.echo(f"#{row.id} {row.name}: {row.status}"
               + (f", paused ({detail.paused})" if detail.paused else ""))
    click.echo("progress: " + ", ".join(
        f"{name} {value}" for name, value in progress.as_dict().items()
        if not isinstance(value, dict)))
    for reason, count in sorted(progress.skipped.items()):
        click.echo(f"  skipped {count}: {reason}")
    if row.never_sent is not None:
        click.echo(f"cancelled by {row.cancelled_by}: {row.never_sent} never sent")
    if detail.test is not None:
        for arm in detail.test.arms:
            low, high = arm.interval
            line = f", subject {arm.subject!r}" if arm.subject else ""
            click.echo(f"arm {arm.name} ({arm.template}{line}): {arm.successes}/{arm.sent} "
                       f"{detail.test.metric} = {arm.rate:.1%} [{low:.1%}, {high:.1%}], "
                       f"P(best) {arm.probability:.1%}")
        click.echo(row.winner_reason or detail.test.reason)
    click.echo(f"report: delivered {report.delivered}, bounced {report.bounced}, opened "
               f"{report.opened_human} (+{report.opened_machine} by machines), clicked "
               f"{report.clicked}, unsubscribed {report.unsubscribed}, complaints "
               f"{report.complaints}, trials {report.trials}")


@broadcasts.command()
@click.argument("broadcast_id", type=int)
@click.option("--reason", required=True, help="Why, e.g. \"the link is wrong\".")
def pause(broadcast_id: int, reason: str) -> None:
    """Hold the broadcast's queued sends; nothing is dropped."""
    with command_runtime() as rt:
        done = services.paused(rt.db, broadcast_id, BY, reason, rt.clock.now())
    click.echo(f"Broadcast #{broadcast_id} " + ("paused." if done else "was paused already."))


@broadcasts.command()
@click.argument("broadcast_id", type=int)
@click.option("--reason", required=True, help="What was fixed.")
def resume(broadcast_id: int, reason: str) -> None:
    """Release the broadcast's held sends."""
    with command_runtime() as rt:
        released = services.resumed(rt.db, broadcast_id, BY, reason, rt.clock.now())
    click.echo(f"Broadcast #{broadcast_id} resumed: {released} sends released.")


@broadcasts.command()
@click.argument("broadcast_id", type=int)
def cancel(broadcast_id: int) -> None:
    """Stop everything not yet handed to the mail server."""
    with command_runtime() as rt:
        never = services.cancelled(rt.db, broadcast_id, BY, rt.clock.now())
    click.echo(f"Broadcast #{broadcast_id} cancelled: {never} sends will never be sent.")


@broadcasts.command("send-winner")
@click.argument("broadcast_id", type=int)
def send_winner(broadcast_id: int) -> None:
    """Decide the A/B test now and send the winner to the rest."""
    with command_runtime() as rt:
        arm = services.winner_sent(rt.db, broadcast_id, BY, rt.clock.now(),
                                   rt.settings.timezone)
        reason = queries.shown(rt.db, broadcast_id).broadcast.winner_reason
    click.echo(f"Arm {arm} goes to the rest. {reason}")
