"""What the console's journey editor does: open a journey's newest version as a draft,
check a draft as it is typed, simulate it, and publish it from the version it started from.

A draft is only text until it is published: checking and simulating it write nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select

from journeys.definition import Journey, with_classes
from journeys.errors import NotValid
from journeys.loader import Loaded, known_templates, load_text
from journeys.models import JourneyVersion
from journeys.schedule import Pacing
from journeys.services import Published, backfill, publish
from journeys.simulator import SimulationReport, simulate
from nurture.app.runtime import Runtime
from nurture.errors import Invalid, NotFound
from nurture.sending.render import store_for
from nurture.yamlfile import Violation

MAX_SOURCE = 200_000  # characters; the longest shipped journey is under 5,000
MAX_CONTACTS, MAX_DAYS = 5_000, 365  # a console request, not a batch job
NEW_JOURNEY = """\
id: my-journey
name: My journey
entry:
  event: contact.created
steps:
  - id: welcome
    send: trial-welcome
  - id: pause
    wait: 2d
  - id: done
    exit: finished
"""


@dataclass(frozen=True)
class Draft:
    """The text being edited and the version it started from (0: a new journey)."""

    journey_id: str
    based_on: int
    source: str
    name: str = ""


def draft(rt: Runtime, journey_id: str) -> Draft:
    """The newest published version of a journey, to edit."""
    with rt.db.sessions() as session:
        row = session.execute(
            select(JourneyVersion.version, JourneyVersion.source, JourneyVersion.name)
            .where(JourneyVersion.journey_id == journey_id)
            .order_by(JourneyVersion.version.desc()).limit(1)).first()
    if row is None:
        raise NotFound(f"There is no journey with the id {journey_id!r}.")
    return Draft(journey_id, row.version, row.source, row.name)


def checked(rt: Runtime, text: str) -> Loaded:
    """The draft as the loader reads it: every violation at its line, or the journey."""
    if len(text) > MAX_SOURCE:
        raise Invalid(f"The journey is longer than {MAX_SOURCE:,} characters; split it.")
    return load_text(text, "draft", known_templates(rt.settings.templates_dir))


def violations(rt: Runtime, text: str) -> list[Violation]:
    return checked(rt, text).violations


def simulated(rt: Runtime, text: str, contacts: int, days: int,
              seed: int = 1) -> SimulationReport:
    """The draft run by the real engine on synthetic contacts, with the installation's cap
    and quiet hours; nothing is stored."""
    if not 1 <= contacts <= MAX_CONTACTS:
        raise Invalid(f"Simulate between 1 and {MAX_CONTACTS:,} contacts.")
    if not 1 <= days <= MAX_DAYS:
        raise Invalid(f"Simulate between 1 and {MAX_DAYS} days.")
    return simulate(_runnable(rt, text), contacts, days, seed, pacing=pacing(rt))


def published(rt: Runtime, text: str, based_on: int, by: str, note: str,
              journey_id: str | None = None) -> tuple[Published, int]:
    """Publish the draft as a new version (refused if `based_on` is stale), then enter the
    contacts a date or condition trigger now finds. Contacts in flight stay on the version
    they entered."""
    loaded = checked(rt, text)
    if loaded.journey is None:
        raise NotValid(f"The journey has {len(loaded.violations)} problem"
                       f"{'s' if len(loaded.violations) != 1 else ''}; fix "
                       f"{'them' if len(loaded.violations) != 1 else 'it'} first: "
                       f"line {loaded.violations[0].line}: {loaded.violations[0].message}")
    if journey_id is not None and loaded.journey.id != journey_id:
        raise Invalid(f"The id in the text is {loaded.journey.id!r}, not {journey_id!r}; "
                      "to make a new journey, start from New journey.")
    if len(note) > 2000:
        raise Invalid("The note is longer than 2,000 characters; keep it short.")
    with rt.db.transaction() as session:
        result = publish(session, loaded, based_on=based_on, by=by, note=note.strip())
    entered = 0
    if result.created:
        with rt.db.transaction() as session:
            entered = backfill(session, rt.versions, result.journey_id, rt.clock.now())
    return result, entered


def pacing(rt: Runtime) -> Pacing:
    """The frequency cap and quiet hours the installation runs with."""
    s = rt.settings
    return Pacing(cap=s.frequency_cap, window=timedelta(days=s.frequency_window_days),
                  quiet_start=s.quiet_hours_start, quiet_end=s.quiet_hours_end,
                  default_tz=s.timezone)


def _runnable(rt: Runtime, text: str) -> Journey:
    loaded = checked(rt, text)
    if loaded.journey is None:
        raise NotValid("The journey cannot be simulated until it is valid: line "
                       f"{loaded.violations[0].line}: {loaded.violations[0].message}")
    return with_classes(loaded.journey, store_for(rt.settings.templates_dir).message_class)
