"""Batches read ahead in a thread of their own: reading, decoding and checking the next
batch of a file (a third of an import's time) runs while the database writes this one,
since the database drivers let go of the interpreter while they wait on it. The batches
still come one after the other, in the file's order, and are written by the caller's
thread only: a crash loses what was read ahead, never what was committed. Pure."""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Iterator
from typing import Any, TypeVar

T = TypeVar("T")
DEPTH = 2  # batches read ahead: enough to keep the reader busy, and memory bounded
_END = object()


def ahead(items: Iterator[T], depth: int = DEPTH) -> Iterator[T]:
    """`items`, produced by a thread up to `depth` ahead of the caller; an error of the
    producer is raised where the caller would have met it."""
    found: queue.Queue[tuple[Any, BaseException | None]] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def produce() -> None:
        try:
            for item in items:
                if stop.is_set():
                    return
                found.put((item, None))
            found.put((_END, None))
        except BaseException as exc:  # handed to the caller, raised there
            found.put((_END, exc))

    thread = threading.Thread(target=produce, name="import-reader", daemon=True)
    thread.start()
    try:
        while True:
            item, error = found.get()
            if error is not None:
                raise error
            if item is _END:
                return
            yield item
    finally:
        stop.set()
        while thread.is_alive():  # free a producer blocked on a full queue
            with contextlib.suppress(queue.Empty):
                found.get(timeout=0.05)
        thread.join()
