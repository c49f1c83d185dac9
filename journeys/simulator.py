"""Run a journey on synthetic contacts with a virtual clock: the real engine, no I/O.

    report = simulate(load_file("journeys/library/trial-nurture.yaml").journey,
                      contacts=1000, days=90, seed=1)
    print(report.format_text())

Contacts are drawn from `random.Random(seed)`, so one seed always gives the same report
(only `seconds` differs, and it is left out of comparisons). Each contact receives the
journey's trigger (an event, a condition check, or a synthesized contact date) and then
behaves as the behaviour file says (see `journeys.behavior`): it opens, clicks and
unsubscribes from the emails it is sent, and produces lifecycle events that move its stage
and attributes through `nurture.events.effects`, end the journey through its exit goals, and
wake steps waiting for them. The simulator keeps one enrollment per contact at a time.

The run is the one `journeys.ensemble` uses for several journeys, with a single lane and a
cohort drawn for this journey.
"""

from __future__ import annotations

import time
from datetime import datetime

from journeys import behavior as b
from journeys import definition as j
from journeys.behavior import Behavior, BehaviorError, load_behavior
from journeys.ensemble_run import Cohort, Run
from journeys.schedule import Pacing
from journeys.simulation_report import START, STEP_COUNTS, SimulationReport

__all__ = ["START", "STEP_COUNTS", "Behavior", "BehaviorError", "SimulationReport",
           "cohort_for", "load_behavior", "simulate"]


def simulate(journey: j.Journey, contacts: int, days: int, seed: int,
             behavior: Behavior | None = None, start: datetime | None = None,
             pacing: Pacing | None = None) -> SimulationReport:
    """Run `journey` for `contacts` synthetic contacts over `days` days of virtual time."""
    began = time.perf_counter()
    behavior, start = behavior or b.default_behavior(), start or START
    sim = Run([journey], contacts, days, seed, behavior, start, pacing or Pacing(),
              cohort_for(journey, behavior, start))
    sim.run()
    report = sim.lanes[0].report
    report.events = dict(sim.events)
    report.seconds = round(time.perf_counter() - began, 3)
    return report


def cohort_for(journey: j.Journey, behavior: Behavior, start: datetime) -> Cohort:
    """The contacts one journey is simulated on: in the stage its trigger finds them in,
    drawn for its vertical (and, for a date trigger, with a date in the period), appearing
    with its trigger event; a date-triggered journey's contacts are all there at the start."""
    trigger = journey.trigger
    return Cohort(b.initial_stage(journey, behavior, start),
                  trigger.event if isinstance(trigger, j.EventTrigger) else "",
                  0.0 if isinstance(trigger, j.DateTrigger) else None, journey)
