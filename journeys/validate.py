"""Graph checks over a parsed journey: targets, reachability, loops that never wait."""

from __future__ import annotations

from journeys.definition import Journey, Wait, WaitFor, successors
from nurture.yamlfile import Violation


def check_graph(journey: Journey, file: str, lines: dict[str, int]) -> list[Violation]:
    out: list[Violation] = []
    ids = {s.id for s in journey.steps}
    for step in journey.steps:
        for target in successors(journey, step):
            if target not in ids:
                out.append(Violation(file, lines.get(step.id, 1),
                                     f"The step '{step.id}' goes to '{target}', "
                                     "which is not a step of this journey."))
    if out:
        return out
    reached = _reachable(journey)
    for step in journey.steps:
        if step.id not in reached:
            out.append(Violation(file, lines.get(step.id, 1),
                                 f"The step '{step.id}' can never be reached."))
    for cycle in _cycles_without_wait(journey):
        out.append(Violation(file, lines.get(cycle[0], 1),
                             "The steps " + " → ".join([*cycle, cycle[0]]) +
                             " form a loop with no wait; add a wait or a wait_for."))
    return out


def _reachable(journey: Journey) -> set[str]:
    seen, stack = set(), [journey.first_step]
    while stack:
        step_id = stack.pop()
        if step_id in seen:
            continue
        seen.add(step_id)
        stack += successors(journey, journey.step(step_id))
    return seen


def _cycles_without_wait(journey: Journey) -> list[list[str]]:
    """Cycles in the graph of steps that run instantly (everything but wait and wait_for)."""
    instant = {s.id for s in journey.steps if not isinstance(s, Wait | WaitFor)}
    graph = {i: [t for t in successors(journey, journey.step(i)) if t in instant]
             for i in instant}
    cycles, state, path = [], {}, []

    def visit(node: str) -> None:
        state[node] = "open"
        path.append(node)
        for nxt in graph[node]:
            if state.get(nxt) == "open":
                cycles.append(path[path.index(nxt):])
            elif nxt not in state:
                visit(nxt)
        path.pop()
        state[node] = "done"

    for node in sorted(instant):
        if node not in state:
            visit(node)
    return cycles
