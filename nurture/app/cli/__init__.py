"""The `nurture` command line."""

from __future__ import annotations

import logging

import click

from nurture.app.cli.accounts import accounts
from nurture.app.cli.bench import bench
from nurture.app.cli.bounces import bounces
from nurture.app.cli.broadcasts import broadcasts
from nurture.app.cli.clv import clv
from nurture.app.cli.contacts import contacts
from nurture.app.cli.dkim import dkim
from nurture.app.cli.dns import dns
from nurture.app.cli.doctor import doctor
from nurture.app.cli.guard import guard
from nurture.app.cli.inbound import inbound
from nurture.app.cli.insights import insights
from nurture.app.cli.journeys import journeys, simulate
from nurture.app.cli.nps import nps
from nurture.app.cli.ops import demo, events, init, run, scheduler, web, worker
from nurture.app.cli.referral import referral
from nurture.app.cli.refusals import Group
from nurture.app.cli.scoring import scoring
from nurture.app.cli.scoring_models import approve_command, fit, generate_history, models
from nurture.app.cli.segments import segments
from nurture.app.cli.sends import sends
from nurture.app.cli.sink import smtp_sink
from nurture.app.cli.suppressions import suppressions
from nurture.app.cli.templates import templates
from nurture.app.cli.tokens import tokens
from nurture.app.cli.trials import trials
from nurture.app.cli.users import users

LEVELS = (logging.WARNING, logging.INFO, logging.DEBUG)


def configure_logging(verbosity: int) -> None:
    """Logging for one command, set once here: warnings and errors only, unless asked.
    A command's output is its own lines; what libraries say on the way (Alembic names
    its plugins and its migration context on every upgrade) is for `-v`."""
    logging.basicConfig(level=LEVELS[min(verbosity, len(LEVELS) - 1)],
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")


@click.group(cls=Group)  # a refusal or bad settings: the sentence, exit status 1
@click.option("-v", "--verbose", count=True,
              help="Log more: -v what is happening (info), -vv everything (debug).")
def main(verbose: int) -> None:
    """Nurture: marketing automation and nurture journeys."""
    configure_logging(verbose)


for command in (init, run, web, scheduler, worker, demo, events, journeys, simulate, bench):
    main.add_command(command)
main.add_command(bounces)
main.add_command(doctor)
main.add_command(contacts)
main.add_command(sends)
main.add_command(suppressions)
main.add_command(smtp_sink)
main.add_command(templates)
main.add_command(trials)
main.add_command(accounts)
main.add_command(nps)
main.add_command(users)
main.add_command(tokens)
main.add_command(referral)
main.add_command(clv)
main.add_command(dkim)
main.add_command(dns)
main.add_command(guard)
main.add_command(insights)
main.add_command(inbound)
main.add_command(segments)
main.add_command(broadcasts)
for command in (fit, models, approve_command, generate_history):
    scoring.add_command(command)
main.add_command(scoring)
