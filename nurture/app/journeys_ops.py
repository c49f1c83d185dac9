"""Journey operations shared by the CLI and the web app: publish, list, look up."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

from sqlalchemy import func, select

from journeys.definition import Journey
from journeys.errors import StaleBase
from journeys.loader import known_templates, load_file
from journeys.models import Enrollment, JourneyVersion
from journeys.services import backfill, publish
from nurture.app.runtime import Runtime


def publish_files(rt: Runtime, files: Iterable[Path],
                  echo: Callable[[str], None] = print, based_on: int | None = None,
                  note: str | None = None) -> int:
    """Validate every file first; publish only if all are valid. Returns the count of
    violations, or of files refused as stale. `based_on` (one file) is the version it was
    edited from."""
    templates = known_templates(rt.settings.templates_dir)
    loaded = [load_file(path, templates) for path in files]
    problems = [v for item in loaded for v in item.violations]
    for violation in problems:
        echo(str(violation))
    if problems:
        echo("Nothing was published: fix the violations above first.")
        return len(problems)
    now = rt.clock.now()
    refused = 0
    for item in loaded:
        try:
            with rt.db.transaction() as session:
                result = publish(session, item, based_on=based_on, note=note)
        except StaleBase as exc:  # the others are published: each file stands alone
            echo(f"{item.file}: {exc.sentence}")
            refused += 1
            continue
        if not result.created:
            echo(f"{result.journey_id}: unchanged (version {result.version}).")
            continue
        with rt.db.transaction() as session:
            entered = backfill(session, rt.versions, result.journey_id, now)
        echo(f"{result.journey_id}: published version {result.version}"
             + (f"; {entered} contacts entered." if entered else "."))
    return refused


def journey_table(rt: Runtime) -> list[str]:
    with rt.db.sessions() as session:
        versions = session.execute(
            select(JourneyVersion.journey_id, func.max(JourneyVersion.version),
                   JourneyVersion.name).group_by(JourneyVersion.journey_id, JourneyVersion.name)
        ).all()
        counts = dict(session.execute(
            select(Enrollment.journey_id, func.count()).where(Enrollment.next_run_at.isnot(None))
            .group_by(Enrollment.journey_id)).all())
    lines = [f"{'journey':32} {'version':>7} {'in flight':>9}  name"]
    for journey_id, version, name in sorted(versions):
        lines.append(f"{journey_id:32} {version:>7} {counts.get(journey_id, 0):>9}  {name}")
    return lines


def latest_journey(rt: Runtime, journey_id: str) -> Journey | None:
    with rt.db.sessions() as session:
        row_id = session.scalar(
            select(JourneyVersion.id).where(JourneyVersion.journey_id == journey_id)
            .order_by(JourneyVersion.version.desc()).limit(1))
        if row_id is None:
            return None
        return rt.versions.get(session, [row_id])[row_id]


def journey_source(rt: Runtime, journey_id: str, version: int | None = None) -> str | None:
    """The YAML of a journey's newest version (or of `version`), as published."""
    with rt.db.sessions() as session:
        query = select(JourneyVersion.source).where(JourneyVersion.journey_id == journey_id)
        if version is not None:
            query = query.where(JourneyVersion.version == version)
        return session.scalar(query.order_by(JourneyVersion.version.desc()).limit(1))
