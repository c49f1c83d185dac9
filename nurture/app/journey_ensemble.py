"""Several live journeys simulated together in the console, as `nurture simulate` does
with several files: the collisions under the frequency cap and the sends per contact per
week. Synthetic contacts on a virtual clock; nothing is stored."""

from __future__ import annotations

from journeys.definition import Journey, with_classes
from journeys.ensemble import COHORTS, EnsembleReport, simulate_together
from nurture.app.journey_editing import pacing
from nurture.app.runtime import Runtime
from nurture.errors import Invalid
from nurture.sending.render import store_for

MAX_CONTACTS, MAX_DAYS = 2_000, 365


def live_journeys(rt: Runtime) -> dict[str, Journey]:
    """The newest version of every journey that takes entries, by id, sorted."""
    with rt.db.sessions() as session:
        live = rt.versions.live(session)
    return {j.id: j for j in sorted(live.values(), key=lambda j: j.id)}


def simulated_together(rt: Runtime, ids: list[str], contacts: int, days: int,
                       cohort: str) -> EnsembleReport:
    if not 1 <= contacts <= MAX_CONTACTS:
        raise Invalid(f"Simulate between 1 and {MAX_CONTACTS:,} contacts.")
    if not 1 <= days <= MAX_DAYS:
        raise Invalid(f"Simulate between 1 and {MAX_DAYS} days.")
    if cohort not in COHORTS:
        raise Invalid(f"The contacts are {' or '.join(sorted(COHORTS))}, not {cohort!r}.")
    live = live_journeys(rt)
    unknown = [i for i in ids if i not in live]
    if unknown:
        raise Invalid(f"There is no live journey with the id {unknown[0]!r}.")
    if not ids:
        raise Invalid("Choose at least one journey to simulate.")
    class_of = store_for(rt.settings.templates_dir).message_class
    chosen = [with_classes(live[i], class_of) for i in dict.fromkeys(ids)]
    return simulate_together(chosen, contacts, days, seed=1, pacing=pacing(rt),
                             cohort=cohort)
