"""YAML → Journey, collecting every violation with its line. A broken file never half-loads."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path as FilePath
from typing import Any

from ruamel.yaml.comments import CommentedMap

from journeys import definition as j
from journeys.reader import STEP_KINDS, TOP_KEYS, Reader
from journeys.steps import parse_step
from journeys.validate import check_graph, skeleton
from nurture import yamlfile
from nurture.yamlfile import ID_PATTERN, line_of

OWNER = re.compile(r"[^@\s,;<>]+@[^@\s,;<>]+\.[^@\s,;<>]+")
# Its top keys are checked with the journey, in a sentence of their own.
JOURNEY_FILE = yamlfile.Kind("The file", "A journey file must be a mapping with id, name, entry "
                                         "and steps.")


@dataclass
class Loaded(yamlfile.Loaded[j.Journey]):
    """A journey file as read; its source is what a published version stores."""

    step_lines: dict[str, int] = field(default_factory=dict)

    @property
    def journey(self) -> j.Journey | None:
        return self.value


def load_text(text: str, file: str = "<journey>", templates: set[str] | None = None) -> Loaded:
    step_lines: dict[str, int] = {}
    loaded = yamlfile.load_text(Reader(file, templates), text, JOURNEY_FILE,
                                partial(_checked, step_lines=step_lines), Loaded)
    loaded.step_lines = step_lines
    return loaded


def load_file(path: str | FilePath, templates: set[str] | None = None) -> Loaded:
    return yamlfile.load_file(path, JOURNEY_FILE, partial(load_text, templates=templates),
                              Loaded)


def _checked(r: Reader, doc: CommentedMap, step_lines: dict[str, int]) -> j.Journey | None:
    """The journey, with its graph checked as written, even where a step's own value is
    wrong: whoever edits it sees every violation at once."""
    journey = _journey(r, doc, step_lines)
    raw = doc.get("steps")
    if isinstance(raw, list):
        r.violations += check_graph(skeleton(raw, step_lines), r.file)
    return journey


def _journey(r: Reader, doc: CommentedMap, step_lines: dict[str, int]) -> j.Journey | None:
    for key in doc:
        if key not in TOP_KEYS:
            r.bad(line_of(doc, key), f"The key '{key}' is not part of a journey; "
                                     f"expected one of {', '.join(sorted(TOP_KEYS))}.")
    journey_id = r.text(doc, "id", 1)
    if journey_id and not ID_PATTERN.match(journey_id):
        r.bad(line_of(doc, "id"), "The journey id must be lower-case letters, digits, '-', "
                                  "'_' or '.'.")
    name = r.text(doc, "name", 1) or ""
    stages = _list(doc.get("stages", []))
    for stage in stages:
        if stage not in j.STAGES:
            r.bad(line_of(doc, "stages"), f"The stage {stage!r} is unknown; stages are "
                                          f"{', '.join(j.STAGES)}.")
    topic = str(doc.get("topic") or "")
    if topic and topic not in j.TOPICS:
        r.bad(line_of(doc, "topic"), f"The topic {topic!r} is unknown; topics are "
                                     f"{', '.join(j.TOPICS)}.")
    owner = _owner(r, doc)
    trigger = _trigger(r, doc)
    reentry = _reentry(r, doc)
    goals = _goals(r, doc)
    steps = _steps(r, doc, step_lines)
    if journey_id is None or trigger is None or reentry is None or not steps:
        return None
    return j.Journey(
        id=journey_id, name=name, trigger=trigger, steps=tuple(steps),
        stages=tuple(stages), vertical=doc.get("vertical") or None, topic=topic,
        description=str(doc.get("description") or ""), reentry=reentry,
        exit_goals=tuple(goals), owner=owner,
    )


def _owner(r: Reader, doc: CommentedMap) -> str | None:
    value = doc.get("owner")
    if value is None:
        return None
    if not isinstance(value, str) or not OWNER.fullmatch(value.strip()):
        r.bad(line_of(doc, "owner"), "'owner' must be one email address, such as "
                                     "marketing@example.com: it is emailed when the journey "
                                     "is paused.")
        return None
    return value.strip()


def _list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


def _trigger(r: Reader, doc: CommentedMap) -> j.Trigger | None:
    entry = doc.get("entry")
    line = line_of(doc, "entry")
    if not isinstance(entry, dict):
        r.bad(line, "'entry' is required: an event (with optional 'where'), a 'when' "
                    "condition, a 'date' such as 'trial.ends_at - 5d', or a 'segment'.")
        return None
    kinds = [k for k in ("event", "when", "date", "segment") if k in entry]
    if len(kinds) != 1:
        r.bad(line, "'entry' needs exactly one of 'event', 'when', 'date' or 'segment'.")
        return None
    if kinds[0] == "segment":
        return _segment_trigger(r, entry, line)
    if kinds[0] == "event":
        event = r.event_type(entry["event"], line_of(entry, "event", line))
        where = entry.get("where")
        where = r.condition(where, line_of(entry, "where", line)) if where is not None else None
        return j.EventTrigger(event, where) if event else None
    if kinds[0] == "when":
        when = r.condition(entry["when"], line_of(entry, "when", line))
        return j.ConditionTrigger(when) if when else None
    return r.date_offset(entry["date"], line_of(entry, "date", line), "entry date")


def _segment_trigger(r: Reader, entry: dict, line: int) -> j.SegmentTrigger | None:
    """`entry: {segment: NAME, on: enter|leave}`: a saved segment's name (checked when the
    sweep runs: segments live in the database, not in the file)."""
    name, on = entry.get("segment"), entry.get("on", "enter")
    if not isinstance(name, str) or not name.strip():
        r.bad(line_of(entry, "segment", line), "'segment' must name a saved segment, "
              "such as 'Engaged trialists'.")
        return None
    if on not in ("enter", "leave"):
        r.bad(line_of(entry, "on", line), "'on' must be 'enter' or 'leave'.")
        return None
    return j.SegmentTrigger(name.strip(), on)


def _reentry(r: Reader, doc: CommentedMap) -> j.ReEntry | None:
    value = doc.get("reentry", "once")
    line = line_of(doc, "reentry")
    if value in ("once", "always"):
        return j.ReEntry(value)
    if isinstance(value, dict) and set(value) == {"after"}:
        after = r.duration(value["after"], line, "re-entry period")
        return j.ReEntry("after", after) if after else None
    r.bad(line, "'reentry' must be 'once', 'always' or {after: DURATION}, e.g. {after: 90d}.")
    return None


def _goals(r: Reader, doc: CommentedMap) -> list[j.ExitGoal]:
    goals = []
    raw = doc.get("exit_on") or []
    if not isinstance(raw, list):
        r.bad(line_of(doc, "exit_on"), "'exit_on' must be a list of event types.")
        return []
    for index, item in enumerate(raw):
        line = line_of(raw, index)
        if isinstance(item, dict):
            event = r.event_type(item.get("event"), line)
            where = r.condition(item["where"], line) if item.get("where") is not None else None
        else:
            event, where = r.event_type(item, line), None
        if event:
            goals.append(j.ExitGoal(event, where))
    return goals


def _steps(r: Reader, doc: CommentedMap, step_lines: dict[str, int]) -> list[j.Step]:
    raw = doc.get("steps")
    if not isinstance(raw, list) or not raw:
        r.bad(line_of(doc, "steps"), "'steps' must be a non-empty list of steps.")
        return []
    steps: list[j.Step] = []
    for index, node in enumerate(raw):
        line = line_of(raw, index)
        if not isinstance(node, dict):
            r.bad(line, "Each step must be a mapping with one of "
                        f"{', '.join(STEP_KINDS)}.")
            continue
        step_id = str(node.get("id") or f"step-{index + 1}")
        if step_id in step_lines:
            r.bad(line, f"The step id '{step_id}' is used twice; step ids must be unique.")
            continue
        step_lines[step_id] = line
        step = parse_step(r, node, step_id, line)
        if step is not None:
            steps.append(step)
    return steps


def known_templates(templates_dir: str | FilePath) -> set[str]:
    root = FilePath(templates_dir) / "email"
    return {p.name for p in root.iterdir() if p.is_dir()} if root.is_dir() else set()


def iter_files(paths: Iterable[str | FilePath]) -> list[FilePath]:
    files: list[FilePath] = []
    for path in map(FilePath, paths):
        files += sorted(path.glob("*.y*ml")) if path.is_dir() else [path]
    return files


