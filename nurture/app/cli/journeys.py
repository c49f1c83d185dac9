"""`nurture journeys ...` and `nurture simulate`."""

from __future__ import annotations

import json
import sys
from datetime import timedelta
from pathlib import Path

import click

from journeys.definition import Journey, with_classes
from journeys.draw import draw_svg
from journeys.ensemble import COHORTS, days_needed, simulate_together
from journeys.ensemble_report import EnsembleReport
from journeys.loader import iter_files, known_templates, load_file
from journeys.schedule import Pacing
from journeys.simulator import SimulationReport, load_behavior
from journeys.simulator import simulate as run_simulation
from nurture.app.cli.ops import open_runtime
from nurture.app.cli.refusals import Command, Group
from nurture.app.journeys_ops import (
    journey_source,
    journey_table,
    latest_journey,
    publish_files,
)
from nurture.config import Settings
from nurture.sending.render import store_for


@click.group(cls=Group)
def journeys() -> None:
    """Validate, publish, list and draw journeys."""


@journeys.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path())
def validate(paths: tuple[str, ...]) -> None:
    """Check journey files; print every violation as FILE:LINE: sentence."""
    settings = Settings.from_env()
    templates = known_templates(settings.templates_dir)
    files, bad = iter_files(paths), 0
    if not files:
        raise click.ClickException("No journey files were found at the paths given.")
    for path in files:
        loaded = load_file(path, templates)
        for violation in loaded.violations:
            click.echo(str(violation))
        bad += bool(loaded.violations)
    click.echo(f"{len(files) - bad} of {len(files)} journey files are valid.", err=True)
    sys.exit(1 if bad else 0)


@journeys.command()
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("--based-on", "based_on", type=click.IntRange(0), default=None,
              help="The version this file was edited from (0 for a new journey); publishing "
                   "is refused if another was published since. One file only.")
@click.option("--note", default=None, help="Why: shown with the version in the console.")
def publish(paths: tuple[str, ...], based_on: int | None, note: str | None) -> None:
    """Publish journey files (default: the shipped library) as new versions when changed."""
    rt = open_runtime(with_transport=False)
    files = iter_files(paths or [rt.settings.journeys_dir])
    if based_on is not None and len(files) != 1:
        raise click.UsageError("--based-on names the version of one journey: give one file.")
    problems = publish_files(rt, files, echo=click.echo, based_on=based_on, note=note)
    sys.exit(1 if problems else 0)


@journeys.command()
@click.argument("journey_id")
@click.option("--version", type=click.IntRange(1), default=None,
              help="The version to write [default: the newest].")
@click.option("--out", "out", type=click.Path(dir_okay=False), default=None,
              help="The file to write [default: JOURNEY_ID.yaml in the current folder].")
def export(journey_id: str, version: int | None, out: str | None) -> None:
    """Write a published journey (one edited in the console, say) as a YAML file."""
    rt = open_runtime(with_transport=False)
    source = journey_source(rt, journey_id, version)
    if source is None:
        which = f"version {version} of " if version else ""
        raise click.ClickException(f"There is no {which}journey with the id {journey_id!r}.")
    path = Path(out or f"{journey_id}.yaml")
    path.write_text(source if source.endswith("\n") else source + "\n", encoding="utf-8")
    click.echo(f"Wrote {path}; publish it with --based-on the version it came from.")


@journeys.command("list")
def list_() -> None:
    """Published journeys with their versions and enrollment counts."""
    rt = open_runtime(with_transport=False)
    for line in journey_table(rt):
        click.echo(line)


@journeys.command()
@click.argument("journey_id")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False))
def draw(journey_id: str, out: str) -> None:
    """Draw a journey (a published id, or a file path) as an SVG diagram."""
    journey = _journey_by_id_or_path(journey_id)
    Path(out).write_text(draw_svg(journey), encoding="utf-8")
    click.echo(f"Wrote {out}.")


def _journey_by_id_or_path(ref: str) -> Journey:
    """The journey with each send's class decided, as the engine will run it."""
    settings = Settings.from_env()
    journey = _journey_named(ref, settings)
    return with_classes(journey, store_for(settings.templates_dir).message_class)


def _journey_named(ref: str, settings: Settings) -> Journey:
    path = Path(ref)
    if not path.exists():
        for candidate in iter_files([settings.journeys_dir]):
            loaded = load_file(candidate)
            if loaded.journey is not None and loaded.journey.id == ref:
                return loaded.journey

        journey = latest_journey(open_runtime(with_transport=False), ref)
        if journey is None:
            raise click.ClickException(f"There is no journey with the id {ref!r}.")
        return journey
    loaded = load_file(path, known_templates(settings.templates_dir))
    if loaded.journey is None:
        for violation in loaded.violations:
            click.echo(str(violation), err=True)
        raise click.ClickException(f"{ref} is not a valid journey.")
    return loaded.journey


@click.command(cls=Command)
@click.argument("journey_files", nargs=-1, type=click.Path(exists=True, dir_okay=False))
@click.option("--all", "every", is_flag=True,
              help="Run every shipped journey (the journeys folder) together.")
@click.option("--cohort", type=click.Choice(sorted(COHORTS)), default=None,
              help="Who the contacts are: prospects (created in learn, the default) or "
                   "customers (who purchase on the first day).")
@click.option("--weeks-after", "weeks_after", type=click.Choice(["purchase"]), default=None,
              help="Count the sends per contact per week from each contact's purchase "
                   "(weeks 1 to 13; implies --cohort customers).")
@click.option("--contacts", default=1000, show_default=True, type=click.IntRange(1, 1_000_000))
@click.option("--days", type=click.IntRange(1, 3650),
              help="Days of virtual time [default: 90; 92 with --weeks-after purchase].")
@click.option("--seed", default=1, show_default=True, type=int)
@click.option("--behavior", type=click.Path(exists=True, dir_okay=False),
              help="A YAML file of open, click, convert and unsubscribe probabilities.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def simulate(journey_files: tuple[str, ...], every: bool, cohort: str | None,
             weeks_after: str | None, contacts: int, days: int | None, seed: int,
             behavior: str | None, as_json: bool) -> None:
    """Run the real engine on synthetic contacts with a virtual clock.

    One journey file shows its funnel. Several files, or --all, run together on the same
    contacts and show the collisions between them under the frequency cap and quiet hours,
    the sends per contact per week, and each journey's funnel.
    """
    settings = Settings.from_env()
    if not journey_files and not every:
        raise click.UsageError("Name one or more journey files, or --all for every shipped "
                               "journey.")
    try:
        behaviour = load_behavior(behavior) if behavior else None
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    paths = [*journey_files, *(iter_files([settings.journeys_dir]) if every else [])]
    loaded = _distinct([_journey_by_id_or_path(str(path)) for path in paths])
    together = len(loaded) > 1 or every or cohort or weeks_after
    if weeks_after:
        cohort = cohort or "customers"
        if cohort != "customers":
            raise click.UsageError("--weeks-after purchase needs the customers cohort.")
    period = days or days_needed(weeks_after or "") or 90
    if together:
        report: SimulationReport | EnsembleReport = simulate_together(
            loaded, contacts, period, seed, behaviour, pacing=_pacing(settings),
            cohort=cohort or "prospects", weeks_after=weeks_after or "")
    else:
        report = run_simulation(loaded[0], contacts, period, seed, behaviour,
                                pacing=_pacing(settings))
    if as_json:
        click.echo(json.dumps(report.to_json(), indent=2, default=str))
    else:
        click.echo(report.format_text())


def _distinct(loaded: list[Journey]) -> list[Journey]:
    """Each journey once: the same id named twice (a file and --all) runs once."""
    seen: dict[str, Journey] = {}
    for journey in loaded:
        seen.setdefault(journey.id, journey)
    return list(seen.values())


def _pacing(settings: Settings) -> Pacing:
    """The frequency cap and quiet hours the installation runs with."""
    return Pacing(cap=settings.frequency_cap,
                  window=timedelta(days=settings.frequency_window_days),
                  quiet_start=settings.quiet_hours_start, quiet_end=settings.quiet_hours_end,
                  default_tz=settings.timezone)
