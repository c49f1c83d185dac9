"""Batches read ahead in a thread: in order, an error where it would have been met, and no
reader left behind when the caller stops early (a crash mid-import)."""

from __future__ import annotations

import threading

import pytest

from nurture.contacts.imports.prefetch import ahead


def _readers() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "import-reader"]


def test_batches_come_in_the_order_they_were_read():
    assert list(ahead(iter(range(1000)))) == list(range(1000))
    assert _readers() == []


def test_an_error_of_the_reader_is_raised_after_the_batches_before_it():
    def read():
        yield 1
        yield 2
        raise UnicodeDecodeError("utf-8", b"\xff", 0, 1, "bad byte")

    got = []
    with pytest.raises(UnicodeDecodeError):
        for item in ahead(read()):
            got.append(item)
    assert got == [1, 2]
    assert _readers() == []


def test_stopping_early_leaves_no_reader_behind():
    items = ahead(iter(range(10_000)), depth=2)
    assert next(items) == 0
    items.close()
    assert _readers() == []
