"""The winners of a journey's A/B splits: each arm's rate on the split's metric, with its
interval and the decision of the A/B module (nurture/abtest.py: the probability to beat the
other arms, the same minimum sample and threshold as broadcasts), and the new source that
ends a test by sending everyone down the winner's path.

A split's arm is a path; its contacts are those who entered the path's first step in any
version of the journey. The metric is the journey's exit goal reached (`goal`) or a click
on the arm's email (`clicks`: the first send step down the path); a split names its own
with `metric:`, else it is the goal when the journey has one, clicks otherwise.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

from ruamel.yaml import YAML
from sqlalchemy import case, distinct, func, select
from sqlalchemy.orm import Session

from journeys import definition as j
from journeys.models import REACHED, REACHED_GOAL, Activity, ActivityRollup, Enrollment
from nurture.abtest import Arm, decide
from nurture.events.models import Event
from nurture.sending.models import Send

GOAL, CLICKS = "goal", "clicks"
CLICKED = "email.clicked"


class TestNotEnded(ValueError):
    """Raised when a split's test cannot be ended: no such split, or no winner yet."""


@dataclass(frozen=True)
class ArmResult:
    goto: str
    weight: int
    trials: int
    successes: int
    rate: float
    interval: tuple[float, float]
    probability: float  # to beat the other arms


@dataclass(frozen=True)
class SplitResult:
    step_id: str
    metric: str
    arms: list[ArmResult]
    winner: str | None  # the winning path's goto
    reason: str
    ended: bool  # one path left: the test was ended


def metric_of(journey: j.Journey, split: j.Split) -> str:
    return split.metric or (GOAL if journey.exit_goals else CLICKS)


def arm_send(journey: j.Journey, start: str) -> str | None:
    """The first send step down a path: what `clicks` judges the arm on."""
    seen: set[str] = set()
    step_id: str | None = start
    while step_id is not None and step_id not in seen and step_id in journey.step_map:
        seen.add(step_id)
        step = journey.step(step_id)
        if isinstance(step, j.Send):
            return step.id
        if not isinstance(step, j.Wait | j.SetFields | j.Webhook):  # a fork: no single email
            return None
        step_id = journey.next_of(step_id)
    return None


def results(session: Session, journey: j.Journey, version_ids: list[int],
            counts: dict[str, dict[str, tuple[int, int]]] | None = None) -> list[SplitResult]:
    """Every split of the journey's newest definition, judged on every version's contacts
    (or on `counts`, a rollup's)."""
    found = counts if counts is not None else arm_counts(session, journey, version_ids)
    return [judge(journey, step, found.get(step.id, {})) for step in journey.steps
            if isinstance(step, j.Split)]


def arm_counts(session: Session, journey: j.Journey,
               version_ids: list[int]) -> dict[str, dict[str, tuple[int, int]]]:
    """Per split, per path: (contacts down it, successes on the split's metric)."""
    return {step.id: _count(session, journey, step, version_ids) for step in journey.steps
            if isinstance(step, j.Split)}


def _count(session: Session, journey: j.Journey, split: j.Split,
           version_ids: list[int]) -> dict[str, tuple[int, int]]:
    metric = metric_of(journey, split)
    gotos = [p.goto for p in split.paths]
    entered = (select(Activity.step_id, Activity.enrollment_id)
               .where(Activity.journey_version_id.in_(version_ids), Activity.step_id.in_(gotos),
                      Activity.kind == "entered").distinct().subquery())
    trials = {step: n for step, n in session.execute(
        select(entered.c.step_id, func.count()).group_by(entered.c.step_id))}
    if metric == GOAL:
        goal = case((Enrollment.exit_reason.startswith("goal:"), 1), else_=0)
        successes = {step: int(n or 0) for step, n in session.execute(
            select(entered.c.step_id, func.sum(goal))
            .join(Enrollment, Enrollment.id == entered.c.enrollment_id)
            .group_by(entered.c.step_id))}
    else:
        successes = {}
        machine = func.coalesce(Event.properties["machine"].as_boolean(), False)
        for goto in gotos:
            send_step = arm_send(journey, goto)
            if send_step is None:
                continue
            successes[goto] = session.scalar(
                select(func.count(distinct(Send.enrollment_id)))
                .join(Event, Event.properties["send"].as_string() == Send.send_key)
                .join(entered, (entered.c.enrollment_id == Send.enrollment_id)
                      & (entered.c.step_id == goto))
                .where(Send.journey_id == journey.id, Send.step_id == send_step,
                       Event.type == CLICKED, machine.is_(False))) or 0
    # The arms' enrollments that finished long ago, counted when their activity was pruned
    # (journeys.retention); a click on the arm's email is judged on live sends only.
    for step, kind, n in session.execute(
            select(ActivityRollup.step_id, ActivityRollup.kind, ActivityRollup.count)
            .where(ActivityRollup.journey_version_id.in_(version_ids),
                   ActivityRollup.step_id.in_(gotos),
                   ActivityRollup.kind.in_((REACHED, REACHED_GOAL)))):
        if kind == REACHED:
            trials[step] = trials.get(step, 0) + n
        elif metric == GOAL:
            successes[step] = successes.get(step, 0) + n
    return {goto: (trials.get(goto, 0), min(successes.get(goto, 0), trials.get(goto, 0)))
            for goto in gotos}


def judge(journey: j.Journey, split: j.Split, counts: dict[str, tuple[int, int]]
          ) -> SplitResult:
    """The A/B module's decision on a split's counts."""
    metric = metric_of(journey, split)
    gotos = [p.goto for p in split.paths]
    arms = []
    for goto in gotos:
        trials, successes = counts.get(goto, (0, 0))
        arms.append(Arm(goto, successes, trials))
    live = [p.goto for p in split.paths if p.weight]
    if len(set(gotos)) < 2:  # two paths to one step: no test to judge
        return SplitResult(split.id, metric, [], None,
                           "The paths of this split lead to the same step: nothing to judge.",
                           True)
    decision = decide(arms)
    ended = len(live) == 1
    return SplitResult(split.id, metric, [
        ArmResult(arm.name, path.weight, arm.trials, arm.successes, decision.rates[arm.name],
                  decision.intervals[arm.name], decision.probabilities[arm.name])
        for arm, path in zip(arms, split.paths, strict=True)],
        live[0] if ended else decision.winner,
        f"The test was ended: everyone goes to {live[0]}." if ended else decision.reason,
        ended)


def ended_source(source: str, split_id: str, winner: str) -> str:
    """The journey's YAML with the split `split_id` sending everyone to `winner` (the other
    paths weigh 0: their steps stay for the contacts on them); the rest of the file,
    comments included, as it was."""
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    doc = yaml.load(source)
    for node in doc.get("steps") or []:
        if isinstance(node, dict) and str(node.get("id")) == split_id and "split" in node:
            if winner not in {str(p.get("goto")) for p in node["split"]}:
                raise TestNotEnded(f"{winner!r} is not a path of the split {split_id!r}.")
            for path in node["split"]:
                path["weight"] = 1 if str(path.get("goto")) == winner else 0
            out = io.StringIO()
            yaml.dump(doc, out)
            return out.getvalue()
    raise TestNotEnded(f"The journey has no split {split_id!r}.")
