"""Text that no database can store: the one check every way in uses.

PostgreSQL refuses a NUL character in text and in JSON, and no driver can encode a lone
UTF-16 surrogate (a JSON `"\\ud800"` without its pair) as UTF-8; SQLite keeps the first and
fails on the second. So a form field, a query argument, a JSON string, a CSV cell or a
console field with either is refused with a sentence before it reaches a database, never a
driver error. Pure: no Flask, no database.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Mapping
from typing import Any

UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
MAX_DEPTH = 32  # no payload of ours nests deeper; json and pydantic recurse per level


def text_problem(value: str) -> str | None:
    """Why `value` cannot be stored, as a sentence; None when it can."""
    found = UNSTORABLE.search(value)
    if found is None:
        return None
    what = "a NUL character" if found.group() == "\x00" else "an unpaired surrogate"
    return (f"The text contains {what} (at position {found.start() + 1}), which cannot "
            "be stored; remove it and try again.")


def row_problem(row: Mapping[Any, Any], line: int) -> str | None:
    """The first cell of a CSV row (from `csv.DictReader`) that cannot be stored, as a
    sentence naming its line and column; None when every cell can."""
    for column, cell in row.items():
        for value in cell if isinstance(cell, list) else [cell]:
            if isinstance(value, str) and (problem := text_problem(value)) is not None:
                return f"Line {line}, column {column!r}: {problem[0].lower()}{problem[1:]}"
    return None


def value_problems(value: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """(path, sentence) for every string, key or number in a JSON value that cannot be
    stored: unstorable text, and numbers that are not finite (NaN, Infinity, 1e999).
    Iterative, so that depth alone cannot exhaust the stack."""
    stack: list[tuple[str, Any]] = [(path, value)]
    while stack:
        where, item = stack.pop()
        if isinstance(item, str):
            if (problem := text_problem(item)) is not None:
                yield where, problem
        elif isinstance(item, float) and not math.isfinite(item):
            yield where, "The number is not finite; give a number within the usual range."
        elif isinstance(item, dict):
            for key, inner in reversed(list(item.items())):
                key = str(key)
                inner_path = f"{where}.{key}" if where else key
                if (problem := text_problem(key)) is not None:
                    yield where or "(root)", f"A key: {problem[0].lower()}{problem[1:]}"
                    continue
                stack.append((inner_path, inner))
        elif isinstance(item, (list, tuple)):
            stack.extend((f"{where}[{i}]", inner) for i, inner in reversed(list(
                enumerate(item))))


def depth(value: Any) -> int:
    """How deeply a JSON value nests (a scalar is 0, `[]` and `{}` are 1). Iterative."""
    deepest, stack = 0, [(value, 0)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict):
            item = list(item.values())
        if isinstance(item, list):
            deepest = max(deepest, level + 1)
            stack.extend((inner, level + 1) for inner in item)
    return deepest
