"""Run several journeys together on the same synthetic contacts: the real engine, one
virtual clock, no I/O.

    report = simulate_together([onboarding, nps_survey, quarterly_review], contacts=500,
                               days=92, seed=1, cohort="customers", weeks_after="purchase")
    print(report.format_text())

Each contact may be in every journey at once (one enrollment per journey at a time), and
all of them share its facts: stage, attributes, events and the emails already sent, so the
frequency cap and quiet hours hold across journeys as they do live. That is what one
journey simulated alone cannot show: which journey's emails hold back another's, and how
many emails a contact gets in a week from all of them.

A cohort says who the contacts are when they appear (see `COHORTS`): `prospects` are
created in `learn` (the behaviour's `initial_stage` wins); `customers` purchase on the
first day (`purchase.completed`), so that the weeks after purchase can be read. Contacts
then behave as the behaviour file says (`journeys.behavior`). `journeys.simulator` runs one
journey on this same run, with a cohort drawn for that journey.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import datetime

from journeys import behavior as b
from journeys import definition as j
from journeys.behavior import Behavior
from journeys.ensemble_report import WEEK, EnsembleReport, weekly_table
from journeys.ensemble_run import Cohort, Run
from journeys.schedule import Pacing
from journeys.simulation_report import START

__all__ = ["COHORTS", "Cohort", "EnsembleReport", "days_needed", "simulate_together"]

WEEKS_AFTER_PURCHASE = 13  # the first 90 days

COHORTS = {
    "prospects": Cohort("learn", "contact.created"),
    "customers": Cohort("buy", "purchase.completed", 1.0),
}


def days_needed(weeks_after: str) -> int:
    """The period that shows every week after purchase for a cohort that buys on day one."""
    return WEEKS_AFTER_PURCHASE * 7 + 1 if weeks_after == "purchase" else 0


def simulate_together(journeys: Sequence[j.Journey], contacts: int, days: int, seed: int,
                      behavior: Behavior | None = None, start: datetime | None = None,
                      pacing: Pacing | None = None, cohort: str = "prospects",
                      weeks_after: str = "") -> EnsembleReport:
    """Run `journeys` together for `contacts` synthetic contacts over `days` days."""
    began = time.perf_counter()
    sim = Run(list(journeys), contacts, days, seed, behavior or b.default_behavior(),
              start or START, pacing or Pacing(), COHORTS[cohort])
    sim.run()
    report = _report(sim, cohort, weeks_after)
    report.seconds = round(time.perf_counter() - began, 3)
    return report


def _report(sim: Run, cohort: str, weeks_after: str) -> EnsembleReport:
    """What the run shows; weeks count from the start, or from each purchase."""
    keys = [lane.journey.id for lane in sim.lanes]
    first = sim.lanes[0].report
    if weeks_after == "purchase":
        anchors = [c.anchor or sim.end for c in sim.contacts]
        last = max(anchors, default=sim.start)
        weeks = min(WEEKS_AFTER_PURCHASE, int((sim.end - last) / WEEK))
    else:
        anchors, weeks = [sim.start] * len(sim.contacts), sim.days // 7
    sends = [[(t, cls) for t, cls, _ in c.sent] for c in sim.contacts]
    return EnsembleReport(
        keys, cohort, first.contacts, sim.days, sim.seed, sim.start, sim.pacing.cap,
        first.window_days, {lane.journey.id: lane.report for lane in sim.lanes},
        {(keys[a], keys[o]): n for (a, o), n in sim.held.items()},
        {(keys[a], keys[o]): n for (a, o), n in sim.same_day.items()},
        weekly_table(sends, anchors, weeks, sim.pacing.cap), weeks_after,
        dict(sim.events), sim.max_in_window,
        {key: {cls: n for (k, cls), n in sorted(sim.by_class.items()) if keys[k] == key}
         for key in keys})

