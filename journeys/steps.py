"""Parsing of each step kind from YAML; one function per kind of the closed union."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlparse

from journeys import definition as j
from journeys.reader import _LOCAL, STEP_KEYS, STEP_KINDS, WEEKDAYS, Reader
from nurture.contacts.stages import STAGES
from nurture.yamlfile import line_of


def parse_step(r: Reader, node: dict[str, Any], step_id: str, line: int) -> j.Step | None:
    kinds = [k for k in STEP_KINDS if k in node]
    if len(kinds) != 1:
        r.bad(line, f"The step '{step_id}' must have exactly one of {', '.join(STEP_KINDS)}"
                    f" (it has {', '.join(kinds) or 'none'}).")
        return None
    for key in node:
        if key not in STEP_KEYS:
            r.bad(line_of(node, key, line), f"The key '{key}' is not valid in step '{step_id}'.")
    kind = kinds[0]
    value = node[kind]
    at = line_of(node, kind, line)
    nxt = _target(r, node, "next", line, required=False)
    if kind == "send":
        return _send(r, node, step_id, value, at, nxt)
    if kind == "wait":
        return _wait(r, step_id, value, at, nxt)
    if kind == "wait_for":
        return _wait_for(r, node, step_id, value, at, line)
    if kind == "branch":
        return _branch(r, node, step_id, value, at, line)
    if kind == "split":
        return _split(r, node, step_id, value, at)
    if kind == "set":
        return _set(r, step_id, value, at, nxt)
    if kind == "handoff":
        reason = value.get("reason", "") if isinstance(value, dict) else (value or "")
        return j.Handoff(step_id, str(reason), nxt)
    if kind == "webhook":
        return _webhook(r, step_id, value, at, nxt)
    return j.Exit(step_id, str(value or "exit"), nxt)


def _target(r: Reader, node: dict[str, Any], key: str, line: int,
            required: bool = True) -> str | None:
    value = node.get(key)
    if value is None:
        if required:
            r.bad(line, f"'{key}' is required here: the id of the step to go to.")
        return None
    return str(value)


def _send(r: Reader, node: dict[str, Any], step_id: str, value: Any, at: int,
          nxt: str | None) -> j.Send | None:
    template = r.template(value, at)
    variants = []
    for index, item in enumerate(node.get("variants") or []):
        vline = line_of(node["variants"], index, at)
        if not isinstance(item, dict) or "template" not in item:
            r.bad(vline, "Each variant needs a 'template' and a 'weight'.")
            continue
        weight = item.get("weight", 1)
        if not isinstance(weight, int) or isinstance(weight, bool) or weight <= 0:
            r.bad(vline, "A variant weight must be a whole number above zero.")
            continue
        name = r.template(item["template"], vline)
        if name:
            variants.append(j.Variant(name, weight))
    to = node.get("to", ["contact"])
    to = [to] if isinstance(to, str) else to
    if not isinstance(to, list) or not to or not all(isinstance(t, str) for t in to):
        r.bad(at, "'to' must be 'contact' or a list of contact roles such as technical_contact.")
        to = ["contact"]
    message_class = _message_class(r, node, at)
    if template is None:
        return None
    return j.Send(step_id, template, tuple(variants), tuple(to), message_class, nxt)


def _message_class(r: Reader, node: dict[str, Any], at: int) -> str | None:
    """The step's `class`, or None for the template's own; `transactional: true` is the
    old way of writing `class: transactional`."""
    value = node.get("class")
    if value is not None and value not in j.MESSAGE_CLASSES:
        r.bad(at, f"'class' must be one of {', '.join(j.MESSAGE_CLASSES)}; leave it out to "
                  "use the class the template declares.")
        value = None
    legacy = node.get("transactional")
    if legacy is None:
        return value
    if not isinstance(legacy, bool):
        r.bad(at, "'transactional' must be true or false; write 'class: transactional' "
                  "instead.")
    elif value is not None and legacy != (value == "transactional"):
        r.bad(at, f"'transactional: {str(legacy).lower()}' contradicts 'class: {value}'; "
                  "keep 'class' alone.")
    elif legacy and value is None:
        return "transactional"
    return value


def _wait(r: Reader, step_id: str, value: Any, at: int, nxt: str | None) -> j.Wait | None:
    if isinstance(value, dict) and set(value) == {"until"}:
        until = value["until"]
        match = _LOCAL.match(until.strip()) if isinstance(until, str) else None
        if match:
            day, hour, minute = match.groups()
            weekday = WEEKDAYS.index(day.lower()) if day else None
            return j.Wait(step_id, weekday=weekday, at=(int(hour), int(minute)), next=nxt)
        date = r.date_offset(until, at, "wait date")
        return j.Wait(step_id, until_date=date, next=nxt) if date else None
    if isinstance(value, dict):
        r.bad(at, "A wait is a duration like '2d', or {until: 'monday 09:00'}, "
                  "{until: '09:00'} or {until: 'trial.ends_at - 5d'}.")
        return None
    duration = r.duration(value, at, "wait duration")
    return j.Wait(step_id, duration=duration, next=nxt) if duration else None


def _wait_for(r: Reader, node: dict[str, Any], step_id: str, value: Any, at: int,
              line: int) -> j.WaitFor | None:
    where = None
    if isinstance(value, dict):
        event = r.event_type(value.get("event"), at)
        if value.get("where") is not None:
            where = r.condition(value["where"], at)
    else:
        event = r.event_type(value, at)
    if "timeout" not in node:
        r.bad(line, f"The wait_for step '{step_id}' needs a 'timeout', e.g. timeout: 5d.")
        timeout = None
    else:
        timeout = r.duration(node["timeout"], line_of(node, "timeout", line), "timeout")
    on_event = _target(r, node, "on_event", line)
    on_timeout = _target(r, node, "on_timeout", line)
    if event is None or timeout is None or on_event is None or on_timeout is None:
        return None
    return j.WaitFor(step_id, event, timeout, on_event, on_timeout, where)


def _branch(r: Reader, node: dict[str, Any], step_id: str, value: Any, at: int,
            line: int) -> j.Branch | None:
    if not isinstance(value, list) or not value:
        r.bad(at, "A branch is a list of {when: CONDITION, goto: STEP} cases.")
        return None
    cases = []
    for index, item in enumerate(value):
        cline = line_of(value, index, at)
        if not isinstance(item, dict) or set(item) != {"when", "goto"}:
            r.bad(cline, "Each branch case needs exactly 'when' and 'goto'.")
            continue
        when = r.condition(item["when"], line_of(item, "when", cline))
        if when:
            cases.append(j.Case(when, str(item["goto"])))
    default = _target(r, node, "default", line)
    if default is None or len(cases) != len(value):
        return None
    return j.Branch(step_id, tuple(cases), default)


def _split(r: Reader, node: dict[str, Any], step_id: str, value: Any,
           at: int) -> j.Split | None:
    if not isinstance(value, list) or len(value) < 2:
        r.bad(at, "A split needs at least two paths, each {weight: N, goto: STEP}.")
        return None
    metric = node.get("metric")
    if metric is not None and metric not in j.SPLIT_METRICS:
        r.bad(line_of(node, "metric", at), "A split's metric is 'goal' (the journey's exit "
                                           "goals) or 'clicks' (clicks on each arm's email).")
        return None
    paths = []
    for index, item in enumerate(value):
        pline = line_of(value, index, at)
        weight = item.get("weight") if isinstance(item, dict) else None
        if not isinstance(item, dict) or "goto" not in item:
            r.bad(pline, "Each split path needs a 'weight' and a 'goto'.")
        elif not isinstance(weight, int) or isinstance(weight, bool) or weight < 0:
            r.bad(pline, "A split weight must be a whole number, zero or more.")
        else:
            paths.append(j.Path(weight, str(item["goto"])))
    # A weight of 0 is an arm whose test ended: no one goes there any more, and its steps
    # stay for the contacts already on them.
    if len(paths) == len(value) and not any(p.weight for p in paths):
        r.bad(at, "At least one path of a split needs a weight above zero.")
        return None
    return (j.Split(step_id, tuple(paths), metric=metric) if len(paths) == len(value)
            else None)


def _set(r: Reader, step_id: str, value: Any, at: int, nxt: str | None) -> j.SetFields | None:
    if not isinstance(value, dict) or not set(value) <= {"stage", "attributes"} or not value:
        r.bad(at, "'set' takes a 'stage' and/or 'attributes' (a mapping of names to values).")
        return None
    stage = value.get("stage")
    if stage is not None and stage not in STAGES:
        r.bad(at, f"The stage {stage!r} is unknown; stages are {', '.join(STAGES)}.")
        return None
    attributes: Any = value.get("attributes") or {}
    if not isinstance(attributes, dict):
        r.bad(at, "'attributes' must be a mapping of names to values.")
        return None
    plain = tuple((str(k), _plain(v)) for k, v in attributes.items())
    return j.SetFields(step_id, stage, plain, nxt)


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value if value is None or isinstance(value, bool | int | float) else str(value)


def _webhook(r: Reader, step_id: str, value: Any, at: int, nxt: str | None) -> j.Webhook | None:
    url = value.get("url") if isinstance(value, dict) else value
    parsed = urlparse(url) if isinstance(url, str) else None
    local = parsed is not None and parsed.hostname in ("localhost", "127.0.0.1")
    if parsed is None or not parsed.netloc or not (
        parsed.scheme == "https" or (parsed.scheme == "http" and local)
    ):
        r.bad(at, "A webhook needs an https:// URL (http:// only for localhost).")
        return None
    event = value.get("event", "") if isinstance(value, dict) else ""
    return j.Webhook(step_id, str(url), str(event), nxt)
