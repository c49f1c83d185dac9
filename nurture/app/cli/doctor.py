"""`nurture doctor`: one line per check, and what to do about each that fails."""

from __future__ import annotations

import json
import sys

import click

from nurture.app.doctor import FAIL, examine
from nurture.config import Settings


@click.command()
@click.option("--json", "as_json", is_flag=True, help="One JSON object per check.")
def doctor(as_json: bool) -> None:
    """Check the settings, database, migrations, Redis, SMTP relay, clocks and queues.
    Exits with status 1 when a check fails (warnings do not), so it can be a health check."""
    failed = False
    for finding in examine(Settings.from_env):
        failed |= finding.status == FAIL
        click.echo(json.dumps(finding.__dict__) if as_json else finding.line())
        sys.stdout.flush()
    if failed:
        raise SystemExit(1)
