"""`nurture bench WHAT`: each benchmark in its module of nurture/app/bench/, given what it
takes of the options, its JSON printed on standard output and its progress on standard error."""

from __future__ import annotations

import importlib
import json
import sys
from collections.abc import Callable
from typing import Any

import click

from nurture.app.cli.refusals import Command
from nurture.config import Settings

Options = dict[str, Any]
BOTH = ("sqlite", "postgresql")


def _databases(default: tuple[str, ...] = BOTH) -> Callable[[Options], tuple[str, ...]]:
    return lambda o: tuple(dict.fromkeys(o["databases"])) or default


def _segments_choice(o: Options) -> str:
    chosen = _databases()(o)
    return chosen[0] if len(chosen) == 1 else "both"


# What -> (module, function, its arguments after the settings). Each module is imported only
# when its bench runs: several are heavy.
BENCHES: dict[str, tuple[str, str, Callable[[Options], tuple[Any, ...]]]] = {
    "engine": ("engine", "run_engine_bench", lambda o: (o["contacts"], o["sim_contacts"])),
    "send": ("send", "run_send_bench", lambda o: (o["contacts"],)),
    "web": ("web", "run_web_bench", lambda o: ()),
    "scoring": ("scoring", "run_scoring_bench", lambda o: ()),
    "guard": ("guard", "run_guard_bench", lambda o: (o["contacts"],)),
    "segments": ("segments", "run_segments_bench",
                 lambda o: (o["contacts"], _segments_choice(o))),
    "import": ("imports", "run_import_bench", lambda o: (o["rows"], _databases()(o))),
    "broadcasts": ("broadcasts", "run_broadcast_bench",
                   lambda o: (o["contacts"], _databases()(o))),
    "latency": ("latency", "run_latency_bench",
                lambda o: (o["signups"], o["broadcast"], _databases()(o))),
    "bulk": ("bulk", "run_bulk_bench", lambda o: (o["contacts"], _databases()(o))),
    "charts": ("charts", "run_charts_bench", lambda o: (o["contacts"], _databases()(o))),
    "journeys": ("journeys", "run_journeys_bench",
                 lambda o: (o["enrollments"], _databases(("postgresql",))(o))),
    "partitions": ("partitions", "run_partitions_bench", lambda o: (o["rows"],)),
    "scale": ("scale", "run_scale_bench",
              lambda o: (o["contacts"], o["workers"], o["kill_worker"])),
    "api": ("api", "run_api_bench",
            lambda o: (o["contacts"], o["events"], _databases(("postgresql",))(o))),
}
NO_SETTINGS = {"web"}  # runs the installed `nurture` commands, with their own settings


@click.command(cls=Command)
@click.argument("what", type=click.Choice(list(BENCHES)))
@click.option("--contacts", default=100_000, show_default=True, type=int)
@click.option("--sim-contacts", default=10_000, show_default=True, type=int)
@click.option("--rows", default=100_000, show_default=True, type=click.IntRange(1),
              help="import: rows in the generated CSV file; partitions: events and sends.")
@click.option("--database", "databases", multiple=True,
              type=click.Choice(list(BOTH)),
              help="segments, import, latency, bulk, charts, broadcasts, journeys, api: which "
                   "database to fill (default both; journeys and api: PostgreSQL).")
@click.option("--signups", default=20, show_default=True, type=click.IntRange(1, 1000),
              help="latency: sign-ups timed idle, and as many under the broadcast.")
@click.option("--broadcast", default=100_000, show_default=True,
              type=click.IntRange(0, 10_000_000),
              help="latency: marketing sends due at once, draining while sign-ups are timed.")
@click.option("--enrollments", default=100_000, show_default=True,
              type=click.IntRange(1, 10_000_000),
              help="journeys: enrollments of the journey whose console page is timed.")
@click.option("--workers", default=2, show_default=True, type=click.IntRange(1, 64),
              help="scale: worker processes.")
@click.option("--kill-worker", is_flag=True,
              help="scale: kill a worker (SIGKILL) half way and report what was lost.")
@click.option("--events", default=100_000, show_default=True,
              type=click.IntRange(1000, 10_000_000),
              help="api: events posted, in batches of 1,000.")
def bench(what: str, **options: Any) -> None:
    """Measure the engine (or `send`: rendering, MIME, the SMTP tick; `web`: the public
    pages under gunicorn; `scoring`: events scored per second, decay for 1M; `guard`: the
    guard's queries with --contacts sends on PostgreSQL; `segments`: counting typical
    segments over --contacts; `broadcasts`: a broadcast's sends made for --contacts;
    `import`: contacts imported per second from a CSV file, and peak memory; `latency`:
    from a trial sign-up to its welcome accepted by the mail server, idle and while a
    --broadcast of marketing sends drains; `bulk`: the contact list's bulk actions on a
    segment of --contacts; `charts`: the home page's charts over a year of email to
    --contacts; `journeys`: a journey's console page with --enrollments, on PostgreSQL
    unless --database says otherwise; `scale`: --contacts imported, a broadcast to all,
    delivered by a scheduler and --workers processes through Redis on PostgreSQL;
    `partitions`: pruning and claiming over --rows events and sends, plain and partitioned
    by month; `api`: --events posted to /api/v1/events in batches of 1,000 under
    gunicorn, for --contacts, on PostgreSQL unless --database says otherwise) and print
    JSON."""
    module, function, arguments = BENCHES[what]
    run = getattr(importlib.import_module(f"nurture.app.bench.{module}"), function)
    settings = () if what in NO_SETTINGS else (Settings.from_env(),)
    result = run(*settings, *arguments(options), echo=lambda m: click.echo(m, err=True))
    click.echo(json.dumps(result, indent=2))
    sys.exit(0)
