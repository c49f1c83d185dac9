"""Draw a journey as a standalone SVG flowchart, written by hand (no graphviz).

A small layered layout: the trigger on top, each step on the layer of its longest path from it
(edges spanning layers pass through invisible waypoints), siblings side by side in their
parents' edge order, placed as near their parents as widths allow (isotonic regression); edges
going back up (loops) run in dashed lanes on the right. All journey text is escaped.
"""

from __future__ import annotations

import itertools
import textwrap
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from xml.sax.saxutils import escape, quoteattr

from journeys import definition as j
from journeys.durations import format_duration

FONT = "'Segoe UI', 'Helvetica Neue', Helvetica, Arial, 'DejaVu Sans', sans-serif"
MARGIN, GAP, PAD_X, PAD_Y, CLIP, TRIGGER = 24, 64, 14, 8, 44, "~entry"
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
EDGE, LOOP = "#64748b", "#7c3aed"
TEXT = {"id": (10, "normal", "#64748b", 14), "head": (12, "bold", "#0f172a", 17),
        "body": (11, "normal", "#334155", 15)}  # role: (size, weight, colour, line height)
COLOURS = {  # kind: (fill, stroke)
    "trigger": ("#1e293b", "#1e293b"), "send": ("#e0edff", "#3b82f6"),
    "wait": ("#fff4dc", "#f59e0b"), "wait_for": ("#f3e8ff", "#a855f7"),
    "branch": ("#ffedd5", "#f97316"), "split": ("#dcf7f2", "#14b8a6"),
    "set": ("#e3f9ec", "#22c55e"), "handoff": ("#fde7f3", "#db2777"),
    "webhook": ("#e8eaff", "#6366f1"), "exit": ("#fee2e2", "#dc2626"),
    "end": ("#f1f5f9", "#64748b"),
}


@dataclass
class _Node:
    key: str
    kind: str
    layer: int = 1
    lines: list[tuple[str, str]] = field(default_factory=list)  # (role in TEXT, text)
    tip: str = ""
    w: float = 12.0
    h: float = 0.0
    lw: float = 12.0  # the width kept free in the layout: the box or its incoming edge label
    x: float = 0.0  # centre
    y: float = 0.0  # top


@dataclass
class _Edge:
    src: str
    dst: str
    label: str = ""
    back: bool = False
    path: list[str] = field(default_factory=list)


def _width(text: str, size: float) -> float:
    return (len(text) + 1) * size * 0.6  # about 7px a character at 12px


def _clip(text: str, limit: int = CLIP) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _pct(weight: int, total: int) -> str:
    return f"{round(100 * weight / total)}%" if total else "0%"


def _duration(value: timedelta) -> str:
    """Whole days as days (`7d`, `14d`, as marketers write them), anything else as usual."""
    whole = value.days > 0 and value == timedelta(days=value.days)
    return f"{value.days}d" if whole else format_duration(value)


def _date(date: j.DateTrigger) -> str:
    if not date.offset:
        return date.attribute
    sign = "\u2212" if date.offset < timedelta() else "+"  # a real minus sign
    return f"{date.attribute} {sign} {_duration(abs(date.offset))}"


def _wait(step: j.Wait) -> str:
    if step.duration is not None:
        return f"Wait {_duration(step.duration)}"
    if step.until_date is not None:
        return f"Wait until {_date(step.until_date)}"
    day = f"{WEEKDAYS[step.weekday]} " if step.weekday is not None else ""
    hour, minute = step.at or (0, 0)
    return f"Wait until {day}{hour:02d}:{minute:02d}"


def _describe(step: j.Step) -> tuple[str, str, list[str]]:
    """The kind, the headline and the detail lines of a step's box."""
    match step:
        case j.Send():
            total = sum(v.weight for v in step.variants)
            body = [f"{v.template} · {_pct(v.weight, total)}" for v in step.variants]
            body += ["to " + ", ".join(step.to)] if step.to != ("contact",) else []
            body += [step.message_class] if step.message_class else []
            what = f"{len(step.variants)} variants" if step.variants else step.template
            return "send", f"✉ Send: {what}", body
        case j.Wait():
            return "wait", "⏱ " + _wait(step), []
        case j.WaitFor():
            body = [f"(timeout {_duration(step.timeout)})"]
            return "wait_for", f"⌛ Wait for {step.event}", body + (
                [f"where {step.where}"] if step.where else [])
        case j.Branch():
            return "branch", "◆ Branch", []
        case j.Split() if sum(1 for p in step.paths if p.weight) == 1:  # a test that ended
            return "split", "⑂ Everyone to the winner", []
        case j.Split():
            return "split", f"⑂ Split {len(step.paths)} ways", []
        case j.SetFields():
            body = [f"{key}={value}" for key, value in step.attributes]
            head = f"stage={step.stage}" if step.stage else (body.pop(0) if body else "fields")
            return "set", f"✎ Set {head}", body
        case j.Handoff():
            return "handoff", "☎ Hand off to sales", [step.reason] if step.reason else []
        case j.Webhook():
            return "webhook", "↗ Webhook", [step.url] + ([step.event] if step.event else [])
        case j.Exit():
            return "exit", f"■ Exit: {step.reason}", []
    raise TypeError(f"Unknown step {step!r}")


def _out(journey: j.Journey, step: j.Step) -> list[tuple[str, str]]:
    """Where a step leads, each destination once, with its edge label."""
    match step:
        case j.WaitFor():
            pairs = [(step.on_event, "on event"), (step.on_timeout, "timeout")]
        case j.Branch():
            pairs = [(c.goto, c.when) for c in step.cases] + [(step.default, "otherwise")]
        case j.Split():
            total = sum(p.weight for p in step.paths)
            pairs = [(p.goto, _pct(p.weight, total)) for p in step.paths]
        case _:
            pairs = [(dst, "") for dst in j.successors(journey, step)]
    merged: dict[str, list[str]] = {}
    for dst, label in pairs:
        merged.setdefault(dst, []).append(label)
    return [(dst, " / ".join(x for x in labels if x)) for dst, labels in merged.items()]


def _box(node: _Node, head: str, body: list[str], small: str | None = None) -> _Node:
    node.tip = "\n".join([small or "", head, *body]).strip()
    node.lines = [("id", small)] if small else []
    node.lines.append(("head", _clip(head)))
    for text in body:  # details wrap onto a second line, then are clipped
        rows = textwrap.wrap(text, CLIP) or [""]
        node.lines += [("body", _clip(row)) for row in [rows[0], " ".join(rows[1:])] if row]
    text_w = max(_width(t, TEXT[r][0]) for r, t in node.lines)
    text_h = sum(TEXT[r][3] for r, _ in node.lines)
    if node.kind == "branch":  # a diamond around the text block
        node.w, node.h = max(1.7 * text_w + 10, 120), text_h / 0.41
    else:
        node.w, node.h = max(text_w + 2 * PAD_X, 120), text_h + 2 * PAD_Y
    node.lw = node.w
    return node


def _trigger(journey: j.Journey) -> tuple[_Node, list[str]]:
    match trigger := journey.trigger:
        case j.EventTrigger():
            head, body = f"When {trigger.event}", [f"where {trigger.where}"] * bool(trigger.where)
        case j.ConditionTrigger():
            head, body = f"When {trigger.when}", []
        case j.SegmentTrigger():
            verb = "enters" if trigger.on == "enter" else "leaves"
            head, body = f"When a contact {verb} {trigger.segment}", []
        case _:
            head, body = f"On {_date(trigger)}", []
    re = journey.reentry
    note = ["Re-entry: " + (f"after {_duration(re.after)}" if re.after else re.mode)]
    note += ["Stages: " + ", ".join(journey.stages)] if journey.stages else []
    note += [f"Vertical: {journey.vertical}"] if journey.vertical else []
    note += ["Exit goals:"] if journey.exit_goals else []
    note += [f"• {g.event}" + (f" where {g.where}" if g.where else "") for g in journey.exit_goals]
    return _box(_Node(TRIGGER, "trigger", 0), head, body, "Entry"), [_clip(n, 48) for n in note]


def _graph(journey: j.Journey, counts: Mapping[str, list[str]]
           ) -> tuple[dict[str, _Node], list[_Edge], list[str]]:
    trigger, note = _trigger(journey)
    nodes, edges = {TRIGGER: trigger}, [_Edge(TRIGGER, journey.first_step)]
    for step in journey.steps:
        kind, head, body = _describe(step)
        nodes[step.id] = _box(_Node(step.id, kind), head, [*body, *counts.get(step.id, [])],
                              step.id)
        edges += [_Edge(step.id, dst, label) for dst, label in _out(journey, step)]
        if not j.successors(journey, step) and not isinstance(step, j.Exit):
            end = f"~end~{step.id}"  # `~` is never in a step id
            nodes[end] = _box(_Node(end, "end"), "End (completed)", [])
            edges.append(_Edge(step.id, end))
    return nodes, [e for e in edges if e.dst in nodes], note  # bad targets: the loader's job


def _layout(nodes: dict[str, _Node], edges: list[_Edge]) -> list[list[str]]:
    """Layer, order and place the nodes; returns the layers, each left to right."""
    out = {key: [e for e in edges if e.src == key] for key in nodes}
    state: dict[str, int] = {}
    post: list[str] = []

    def visit(key: str) -> None:  # depth first: an edge into the current path is a loop
        state[key] = 1
        for edge in out[key]:
            if state.get(edge.dst) == 1:
                edge.back = True
            elif edge.dst not in state:
                visit(edge.dst)
        state[key] = 2
        post.append(key)

    for key in list(nodes):
        if key not in state:
            visit(key)
    for key in reversed(post):  # longest-path layering over the forward edges
        for edge in (e for e in out[key] if not e.back):
            nodes[edge.dst].layer = max(nodes[edge.dst].layer, nodes[key].layer + 1)
    parents: dict[str, list[tuple[str, int]]] = {}
    for index, edge in enumerate(e for e in edges if not e.back):
        edge.path = [edge.src]
        for layer in range(nodes[edge.src].layer + 1, nodes[edge.dst].layer):
            dummy = nodes[f"~{len(nodes)}"] = _Node(f"~{len(nodes)}", "dummy", layer)
            edge.path.append(dummy.key)
        edge.path.append(edge.dst)
        if edge.label:
            first = nodes[edge.path[1]]
            first.lw = max(first.lw, _width(_clip(edge.label, 30), 11) + 24)
        for a, b in itertools.pairwise(edge.path):
            parents.setdefault(b, []).append((a, index))
    layers = [[k for k, n in nodes.items() if n.layer == layer]
              for layer in range(max(n.layer for n in nodes.values()) + 1)]
    rank = {key: i for i, key in enumerate(nodes)}
    pos: dict[str, float] = {}
    for keys in layers:
        def order(key: str, size: int = len(keys)) -> tuple[float, int, int]:
            ps = parents.get(key, [])  # the parents' mean position, then the edge order
            if not ps:
                return size + rank[key], 0, rank[key]
            return sum(pos[p] for p, _ in ps) / len(ps), min(i for _, i in ps), rank[key]

        keys.sort(key=order)
        pos.update((key, i) for i, key in enumerate(keys))
        _place([nodes[k] for k in keys], [
            [nodes[p].x for p, _ in parents.get(k, [])] for k in keys])
    return layers


def _place(row: list[_Node], wanted: list[list[float]]) -> None:
    """Put a layer's nodes as near the mean of their parents as their order and widths allow."""
    offsets, blocks = [0.0], []
    for a, b in itertools.pairwise(row):
        gap = 20 if "dummy" in (a.kind, b.kind) else 36
        offsets.append(offsets[-1] + (a.lw + b.lw) / 2 + gap)
    for xs, offset in zip(wanted, offsets, strict=True):  # pool adjacent violators
        blocks.append([(sum(xs) / len(xs) if xs else 0.0) - offset, 1])
        while len(blocks) > 1 and blocks[-2][0] / blocks[-2][1] > blocks[-1][0] / blocks[-1][1]:
            total, count = blocks.pop()
            blocks[-1][0] += total
            blocks[-1][1] += count
    shifts = [total / count for total, count in blocks for _ in range(int(count))]
    for node, offset, shift in zip(row, offsets, shifts, strict=True):
        node.x = offset + shift


def _el(tag: str, body: str = "", /, **attrs: object) -> str:
    """One SVG element: `_` in names becomes `-`, values are quoted and escaped."""
    pairs = "".join(f" {k.rstrip('_').replace('_', '-')}="
                    + quoteattr(f"{v:.1f}" if isinstance(v, float) else str(v))
                    for k, v in attrs.items())
    return f"<{tag}{pairs}>{body}</{tag}>" if body else f"<{tag}{pairs}/>"


def _node(node: _Node, href: str | None = None) -> str:
    fill, stroke = COLOURS[node.kind]
    left, mid = node.x - node.w / 2, node.y + node.h / 2
    style = {"fill": fill, "stroke": stroke, "stroke_width": 1.5}
    if node.kind == "branch":
        points = [(node.x, node.y), (left + node.w, mid), (node.x, node.y + node.h), (left, mid)]
        shape = _el("polygon", points=" ".join(f"{x:.1f},{y:.1f}" for x, y in points), **style)
    else:
        radius = node.h / 2 if node.kind in ("trigger", "exit", "end") else 10
        shape = _el("rect", x=left, y=node.y, width=node.w, height=node.h, rx=radius, **style)
    y, texts = mid - sum(TEXT[r][3] for r, _ in node.lines) / 2, []
    for role, text in node.lines:
        size, weight, colour, height = TEXT[role]
        y += height
        texts.append(_el("text", escape(text), x=node.x, y=y - 4, font_size=size,
                         font_weight=weight, text_anchor="middle",
                         fill="#ffffff" if node.kind == "trigger" else colour))
    body = _el("title", escape(node.tip)) + shape + "".join(texts)
    if href is not None:  # the console: a step leads to the contacts at it
        body = _el("a", body, href=href)  # named by its visible text
    return _el("g", body, class_=f"step {node.kind}", data_id=node.key)


def _label(x: float, y: float, label: str, colour: str) -> str:
    text = _clip(label, 30)
    w = _width(text, 11) + 4
    return _el("g", _el("title", escape(label)) + _el(
        "rect", x=x - w / 2, y=y - 9, width=w, height=18, rx=9, fill="#ffffff", stroke=colour)
        + _el("text", escape(text), x=x, y=y + 4, font_size=11, fill="#1e293b",
              text_anchor="middle"), class_="label")


def _path(d: str, colour: str, title: str, dashed: bool = False) -> str:
    return _el("path", _el("title", escape(title)), d=d, fill="none", stroke=colour,
               stroke_width=1.5, **({"stroke_dasharray": "6 4"} if dashed else {}),
               marker_end=f"url(#nurture-{'loop' if dashed else 'arrow'})")


def _forward(edge: _Edge, nodes: dict[str, _Node]) -> tuple[str, str]:
    """A forward edge as smooth curves through its waypoints, and its label near its head."""
    src = nodes[edge.src]
    x, y, label = src.x, src.y + src.h, ""
    d = f"M{x:.1f},{y:.1f}"
    for n in (nodes[key] for key in edge.path[1:]):
        dy = (n.y - y) / 2
        d += f" C{x:.1f},{y + dy:.1f} {n.x:.1f},{n.y - dy:.1f} {n.x:.1f},{n.y:.1f}"
        if edge.label and not label:  # the point at t=0.8 of the first curve
            label = _label(0.104 * x + 0.896 * n.x, y + 1.504 * dy, edge.label, EDGE)
        x, y = n.x, n.y + n.h
        d += f" L{x:.1f},{y:.1f}" if n.kind == "dummy" else ""
    ends = (nodes[edge.src], nodes[edge.dst])
    title = " → ".join({"trigger": "entry", "end": "end"}.get(n.kind, n.key) for n in ends)
    return _path(d, EDGE, title), label


def _loop(edge: _Edge, nodes: dict[str, _Node], layers: list[list[str]],
          bottoms: list[float], lane: float) -> list[str]:
    """A loop in its lane on the right: out of the source's side if nothing stands to its
    right, else out of its bottom; into the target's side, else into its top."""
    src, dst = nodes[edge.src], nodes[edge.dst]

    def clear(n: _Node) -> bool:
        return all(nodes[k].x <= n.x or nodes[k].kind == "dummy" for k in layers[n.layer])

    if clear(src):
        sy = src.y + src.h * (0.7 if src is dst else 0.5)
        d = f"M{src.x + src.w / 2:.1f},{sy:.1f}"
    else:
        sx, sy = src.x + src.w / 4, bottoms[src.layer] + 14
        d = (f"M{sx:.1f},{src.y + src.h * (0.75 if src.kind == 'branch' else 1):.1f} "
             f"V{sy - 12:.1f} Q{sx:.1f},{sy:.1f} {sx + 12:.1f},{sy:.1f}")
    ty = dst.y + dst.h * (0.3 if src is dst else 0.5) if clear(dst) else dst.y - GAP + 14
    r = min(12.0, (sy - ty) / 2)
    d += (f" H{lane - r:.1f} Q{lane:.1f},{sy:.1f} {lane:.1f},{sy - r:.1f} V{ty + r:.1f} "
          f"Q{lane:.1f},{ty:.1f} {lane - r:.1f},{ty:.1f}")
    if clear(dst):
        d += f" H{dst.x + dst.w / 2:.1f}"
    else:
        tx = dst.x + dst.w / 4
        d += (f" H{tx + 12:.1f} Q{tx:.1f},{ty:.1f} {tx:.1f},{ty + 12:.1f} "
              f"V{dst.y + dst.h * (0.25 if dst.kind == 'branch' else 0):.1f}")
    parts = [_path(d, LOOP, f"{edge.src} loops back to {edge.dst}", dashed=True)]
    return parts + ([_label(lane, (sy + ty) / 2, edge.label, LOOP)] if edge.label else [])


def draw_svg(journey: j.Journey, counts: Mapping[str, list[str]] | None = None,
             links: Mapping[str, str] | None = None) -> str:
    """A standalone SVG flowchart of the journey, top to bottom from its trigger; the
    console adds lines of live `counts` to steps' boxes and `links` on them, by step id."""
    nodes, edges, note = _graph(journey, counts or {})
    links = links or {}
    layers = _layout(nodes, edges)
    note_w, note_h = max(_width(n, 11) for n in note) + 2 * PAD_X, 15 * len(note) + 2 * PAD_Y
    description = _clip(journey.description, 110)
    top: float = MARGIN + (60 if description else 42)
    bottoms: list[float] = []
    for keys in layers:  # each layer as tall as its tallest box, boxes aligned at the top
        height = max([nodes[k].h for k in keys] + [note_h] * (TRIGGER in keys))
        for node in (nodes[k] for k in keys):
            node.y, node.h = top, height if node.kind == "dummy" else node.h
        bottoms.append(top + height)
        top += height + GAP
    shift = MARGIN - min(n.x - max(n.w, n.lw) / 2 for n in nodes.values())
    for node in nodes.values():
        node.x += shift
    trigger = nodes[TRIGGER]
    note_x = trigger.x + trigger.w / 2 + 24
    right = max([n.x + max(n.w, n.lw) / 2 for n in nodes.values()] + [note_x + note_w])
    forward = [_forward(edge, nodes) for edge in edges if not edge.back]
    body, labels = [path for path, _ in forward], [label for _, label in forward if label]
    lanes = 0.0  # loops in lanes on the right, the shortest innermost
    loops = sorted((e for e in edges if e.back),
                   key=lambda e: nodes[e.src].layer - nodes[e.dst].layer)
    for edge in loops:
        low, high = sorted((nodes[edge.src].layer, nodes[edge.dst].layer))
        half = (_width(_clip(edge.label, 30), 11) + 4) / 2 if edge.label else 0
        span = max(n.x + max(n.w, n.lw) / 2 for n in nodes.values() if low <= n.layer <= high)
        lane = max(span + 24 + half, lanes + 16 + half)
        body += _loop(edge, nodes, layers, bottoms, lane)
        lanes = lane + half
        right = max(right, lanes)
    body += [_node(n, links.get(n.key)) for n in nodes.values() if n.kind != "dummy"]
    body.append(_el("g", _el("rect", x=note_x, y=trigger.y, width=note_w, height=note_h, rx=4,
                             fill="#fffbea", stroke="#eab308") + "".join(
        _el("text", escape(line), x=note_x + PAD_X, y=trigger.y + PAD_Y + 15 * i + 11,
            font_size=11, fill="#422006") for i, line in enumerate(note)), class_="note"))
    title = _clip(journey.name or journey.id, 80)
    width = max(right + MARGIN, 2 * MARGIN + _width(title, 18) + _width(journey.id, 12) + 12,
                2 * MARGIN + _width(description, 11))
    height = top - GAP + MARGIN
    body[:0] = [_el("rect", width=width, height=height, fill="#ffffff"), _el(
        "text", escape(title) + _el("tspan", escape(journey.id), font_size=12, font_weight="normal",
                                  fill="#64748b", dx=10),
        x=MARGIN, y=MARGIN + 18, font_size=18, font_weight="bold", fill="#0f172a")]
    if description:
        body.insert(2, _el("text", escape(description), x=MARGIN, y=MARGIN + 38, font_size=11,
                           fill="#475569"))
    markers = "".join(_el("marker", _el("path", d="M0,0 L10,5 L0,10 z", fill=colour),
                          id=f"nurture-{name}", viewBox="0 0 10 10", refX=10, refY=5,
                          markerUnits="userSpaceOnUse", markerWidth=10, markerHeight=10,
                          orient="auto") for name, colour in (("arrow", EDGE), ("loop", LOOP)))
    title_el = _el("title", escape(f"{journey.name} ({journey.id})"))
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + _el(
        "svg", "\n".join([title_el, _el("defs", markers), *body, *labels, ""]),
        xmlns="http://www.w3.org/2000/svg", viewBox=f"0 0 {width:.0f} {height:.0f}",
        width=f"{width:.0f}", height=f"{height:.0f}", font_family=FONT) + "\n"
