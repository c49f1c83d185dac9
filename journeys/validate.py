"""Graph checks over a journey's steps as written: targets, reachability, loops that never
wait.

They read the steps' skeleton (ids, where each may go, at which line) straight from the
file, not the parsed journey, so a step whose own value is wrong (`wait: 2x`) still takes
part: every violation shows in one pass instead of hiding the graph's until it is fixed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from nurture.yamlfile import Violation, line_of

# The keys of a step that name another step; branch and split cases name theirs in `goto`.
TARGET_KEYS = ("next", "on_event", "on_timeout", "default")
# Kinds that never fall through to the following step.
NO_FALL_THROUGH = ("wait_for", "branch", "split", "exit")
# Kinds that take time, so a loop through one of them is not a busy loop.
WAITING = ("wait", "wait_for")


@dataclass(frozen=True)
class Node:
    """A step as written: its id and line, where it may go (target, line) and whether it
    waits."""

    id: str
    line: int
    edges: tuple[tuple[str, int], ...]
    waits: bool


def skeleton(raw: list[Any], ids: dict[str, int]) -> list[Node]:
    """The steps of `raw` whose id is in `ids` (the loader's first line of each id), in
    order, with the following step as the target of those that fall through."""
    nodes: list[Node] = []
    order = list(ids)
    for index, node in enumerate(raw):
        if not isinstance(node, dict):
            continue
        step_id = str(node.get("id") or f"step-{index + 1}")
        line = line_of(raw, index)
        if ids.get(step_id) != line:
            continue  # a second step with a used id: reported by the loader
        edges = [(str(node[key]), line_of(node, key, line))
                 for key in TARGET_KEYS if node.get(key) is not None]
        for kind in ("branch", "split"):
            edges += _cases(node.get(kind), line_of(node, kind, line))
        kinds = [k for k in node if k in (*NO_FALL_THROUGH, *WAITING, "send", "set",
                                          "handoff", "webhook")]
        falls = node.get("next") is None and not any(k in NO_FALL_THROUGH for k in kinds)
        position = order.index(step_id)
        if falls and position + 1 < len(order):
            edges.append((order[position + 1], line))
        nodes.append(Node(step_id, line, tuple(edges), any(k in WAITING for k in kinds)))
    return nodes


def _cases(value: Any, line: int) -> list[tuple[str, int]]:
    if not isinstance(value, list):
        return []
    return [(str(item["goto"]), line_of(value, index, line))
            for index, item in enumerate(value)
            if isinstance(item, dict) and item.get("goto") is not None]


def check_graph(nodes: list[Node], file: str) -> list[Violation]:
    """Every target that is not a step, every step that cannot be reached from the first,
    and every loop through steps that run at once."""
    out: list[Violation] = []
    ids = {n.id for n in nodes}
    for node in nodes:
        for target, line in node.edges:
            if target not in ids:
                out.append(Violation(file, line, f"The step '{node.id}' goes to '{target}', "
                                                 "which is not a step of this journey."))
    if not nodes:
        return out
    by_id = {n.id: n for n in nodes}
    reached = _reachable(by_id, nodes[0].id)
    for node in nodes:
        if node.id not in reached:
            out.append(Violation(file, node.line, f"The step '{node.id}' can never be "
                                                  "reached."))
    for cycle in _cycles_without_wait(by_id):
        out.append(Violation(file, by_id[cycle[0]].line,
                             "The steps " + " → ".join([*cycle, cycle[0]]) +
                             " form a loop with no wait; add a wait or a wait_for."))
    return out


def _reachable(by_id: dict[str, Node], first: str) -> set[str]:
    seen, stack = set(), [first]
    while stack:
        step_id = stack.pop()
        if step_id in seen or step_id not in by_id:
            continue
        seen.add(step_id)
        stack += [target for target, _ in by_id[step_id].edges]
    return seen


def _cycles_without_wait(by_id: dict[str, Node]) -> list[list[str]]:
    """Cycles in the graph of steps that run instantly (everything but wait and wait_for)."""
    instant = {i for i, n in by_id.items() if not n.waits}
    graph = {i: [t for t, _ in by_id[i].edges if t in instant] for i in instant}
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
