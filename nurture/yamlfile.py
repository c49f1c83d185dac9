"""Files that people write by hand in YAML: every problem as a sentence with its line.

Journeys, scoring rules and reward rules are such files. Whoever edits one wants to see all
that is wrong with it at once, each problem at its line, so a reader collects violations
instead of stopping at the first; and a broken file never half-loads: the result holds a
value only when there is no violation. Each domain's loader says what its file means; how
a file is read, parsed and judged is here, once.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Set
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, TypeVar

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError

T = TypeVar("T")
L = TypeVar("L", bound="Loaded[Any]")
R = TypeVar("R", bound="YamlReader")

ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")


@dataclass(frozen=True, order=True)
class Violation:
    """What is wrong, where: shown as `file:line: sentence`, the way editors link it."""

    file: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"


@dataclass
class Loaded(Generic[T]):
    """A file as read: its value when nothing is wrong, else every violation, sorted."""

    file: str
    value: T | None = None
    violations: list[Violation] = field(default_factory=list)
    source: str = ""


class RulesLoaded(Loaded[T]):
    """A file of rules as read, with its value named for what it holds."""

    @property
    def rules(self) -> T | None:
        return self.value


def line_of(node: Any, key: Any = None, default: int = 1) -> int:
    """1-based line of a mapping key (or sequence item) in ruamel's round-trip tree."""
    try:
        if key is None:
            return int(node.lc.line) + 1
        if isinstance(node, CommentedSeq):
            return int(node.lc.item(key)[0]) + 1
        return int(node.lc.key(key)[0]) + 1
    except (AttributeError, KeyError, IndexError, TypeError):
        return default


def parse_yaml(text: str, file: str) -> tuple[Any, list[Violation]]:
    """The round-trip tree of `text` (it keeps the lines), or why it is not YAML."""
    try:
        return YAML(typ="rt").load(text), []
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        problem = (exc.problem or exc.context or "unreadable YAML").rstrip(".")
        return None, [Violation(file, line, f"The YAML is not valid: {problem}.")]
    except Exception as exc:  # ruamel raises a handful of non-marked errors too
        return None, [Violation(file, 1, f"The YAML is not valid: {exc}.")]


@dataclass(frozen=True)
class Kind:
    """A kind of file: its name in sentences ("The rules file"), the sentence for a file
    that is not a mapping, and the keys its top mapping may have (None: its reader checks)."""

    name: str
    shape: str
    keys: frozenset[str] | None = None


def load_text(reader: R, text: str, kind: Kind, build: Callable[[R, CommentedMap], Any],
              result: type[L]) -> L:
    """`build` the value from the top mapping of `text`; every problem found on the way, by
    the reader or by `build` through it, is in the result instead."""
    doc, errors = parse_yaml(text, reader.file)
    value = None
    if errors:
        reader.violations += errors
    elif not isinstance(doc, CommentedMap):
        reader.bad(1, kind.shape)
    else:
        if kind.keys is not None:
            reader.unknown_keys(doc, kind.keys, 1, kind.name)
        value = build(reader, doc)
    violations = sorted(set(reader.violations))
    return result(reader.file, None if violations else value, violations, text)


def load_file(path: str | Path, kind: Kind, load: Callable[[str, str], L],
              result: type[L]) -> L:
    """`load(text, file)` on the file's text; a file that cannot be read is one violation at
    line 1."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        reason: object = exc.strerror or exc
    except UnicodeDecodeError as exc:
        reason = exc
    else:
        return load(text, str(path))
    return result(str(path), violations=[
        Violation(str(path), 1, f"{kind.name} cannot be read: {reason}.")])


@dataclass(frozen=True)
class Listed:
    """A list of items with ids under one key, and how sentences name them: "'fit' must be
    a list of rules", "A fit rule must be a mapping with id, points and when", "Every rule
    needs an 'id' ...", "The rule id 'x' is used twice ..."."""

    key: str
    shape: str  # a list of rules
    what: str  # A fit rule
    needs: str  # id, points and when
    keys: frozenset[str]
    every: str  # Every rule
    the_id: str  # The rule id


class YamlReader:
    """Reads one file, collecting every problem with its line instead of stopping at the
    first. A domain's reader adds the checks its values need."""

    def __init__(self, file: str):
        self.file = file
        self.violations: list[Violation] = []

    def bad(self, line: int, message: str) -> None:
        self.violations.append(Violation(self.file, line, message))

    def unknown_keys(self, node: Any, allowed: Set[str], line: int, what: str) -> None:
        for key in node:
            if key not in allowed:
                self.bad(line_of(node, key, line), f"{what} has an unknown key '{key}'; "
                         f"use {', '.join(sorted(allowed))}.")

    def checked(self, parse: Callable[[Any], T], value: Any, line: int, what: str) -> T | None:
        """`parse(value)`, or None with "The {what} is not valid: ..." where it refuses."""
        try:
            return parse(value)
        except ValueError as exc:
            self.bad(line, f"The {what} is not valid: {exc}")
            return None

    def optional(self, doc: CommentedMap, key: str, parse: Callable[[Any], T], what: str,
                 default: T) -> T:
        """`parse` of the value under `key`; `default` where there is none or it is refused."""
        if key not in doc:
            return default
        value = self.checked(parse, doc[key], line_of(doc, key), what)
        return default if value is None else value

    def items(self, doc: CommentedMap, key: str, shape: str) -> list[tuple[int, Any]]:
        """The items of the list under `key`, each with its line; none, with a violation
        ("'{key}' must be {shape}."), when it is not a list."""
        node = doc.get(key)
        if node is None:
            return []
        if not isinstance(node, CommentedSeq):
            self.bad(line_of(doc, key), f"'{key}' must be {shape}.")
            return []
        return [(line_of(node, i, line_of(doc, key)), item) for i, item in enumerate(node)]

    def listed(self, doc: CommentedMap, kind: Listed, seen: set[str]
               ) -> list[tuple[int, CommentedMap, str | None]]:
        """The mappings listed under `kind.key`, each with its line and its id (None when the
        id is missing or malformed); ids already in `seen` are violations, then join it."""
        found = []
        for line, item in self.items(doc, kind.key, kind.shape):
            if not isinstance(item, CommentedMap):
                self.bad(line, f"{kind.what} must be a mapping with {kind.needs}.")
                continue
            self.unknown_keys(item, kind.keys, line, kind.what)
            found.append((line, item, self._unique_id(item, line, seen, kind)))
        return found

    def _unique_id(self, item: CommentedMap, line: int, seen: set[str], kind: Listed
                   ) -> str | None:
        item_id = item.get("id")
        if not isinstance(item_id, str) or not ID_PATTERN.match(item_id):
            self.bad(line, f"{kind.every} needs an 'id' of lower-case letters, digits, '-', "
                           "'_' or '.'.")
            return None
        if item_id in seen:
            self.bad(line, f"{kind.the_id} '{item_id}' is used twice; ids must be unique.")
        seen.add(item_id)
        return item_id
