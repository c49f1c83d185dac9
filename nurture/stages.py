"""CPU time per stage of the send path, for `nurture bench send`: where the next
improvement should go, in microseconds per message.

Off unless asked: `stage(name)` is then a shared no-op context, a few tens of nanoseconds.
On (`NURTURE_STAGE_TIMES=<directory>` in a process's environment, or `enable()`), each
stage adds the CPU time of its own thread (`time.thread_time_ns`: not time spent waiting on
the database, Redis or the SMTP server, and not other threads') to a process-wide total.
Stages nest, and a stage's own time excludes the stages inside it: the SMTP exchange does
not count the commit that marks the send `sending` in the middle of it, which is recording.
With a directory, each process writes its totals there when it exits
(`<pid>.json`); `collect(directory)` sums them.
"""

from __future__ import annotations

import atexit
import json
import os
import threading
import time
from collections import defaultdict
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from types import TracebackType

VARIABLE = "NURTURE_STAGE_TIMES"
_NOOP = nullcontext()
_lock = threading.Lock()
_totals: dict[str, list[int]] = defaultdict(lambda: [0, 0])  # name: [ns, calls]
_local = threading.local()
_on = False


class _Timer:
    __slots__ = ("inner", "name", "started")

    def __init__(self, name: str):
        self.name = name

    def __enter__(self) -> None:
        stack = getattr(_local, "stack", None)
        if stack is None:
            stack = _local.stack = []
        stack.append(self)
        self.inner = 0
        self.started = time.thread_time_ns()

    def __exit__(self, *_: type[BaseException] | BaseException | TracebackType | None) -> None:
        spent = time.thread_time_ns() - self.started
        stack = _local.stack
        stack.pop()
        if stack:
            stack[-1].inner += spent
        with _lock:
            total = _totals[self.name]
            total[0] += spent - self.inner
            total[1] += 1


def stage(name: str) -> AbstractContextManager[None]:
    """Time what runs inside as stage `name` (when on)."""
    return _Timer(name) if _on else _NOOP


def enable(directory: Path | None = None) -> None:
    """Start counting in this process; with a directory, write the totals there at exit."""
    global _on
    _on = True
    if directory is not None:
        atexit.register(_write, Path(directory))


def totals() -> dict[str, dict[str, int]]:
    """This process's totals so far: nanoseconds and calls per stage."""
    with _lock:
        return {name: {"ns": ns, "calls": calls} for name, (ns, calls) in _totals.items()}


def reset() -> None:
    with _lock:
        _totals.clear()


def _write(directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / f"{os.getpid()}.json").write_text(json.dumps(totals()))


def collect(directory: Path) -> dict[str, int]:
    """Nanoseconds per stage, summed over every process that wrote to `directory`."""
    summed: dict[str, int] = defaultdict(int)
    for path in Path(directory).glob("*.json"):
        for name, value in json.loads(path.read_text()).items():
            summed[name] += value["ns"]
    return dict(summed)


if os.environ.get(VARIABLE):
    enable(Path(os.environ[VARIABLE]))
