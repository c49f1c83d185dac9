"""The addresses an import has met so far, to report one given again further down the
file. Kept as 64-bit hashes: a million take 8 MB in a sorted array, where a set of them
takes 70 MB and the addresses themselves 150 (an import stays under 300 MB). Pure."""

from __future__ import annotations

import numpy as np

MERGE_EVERY = 50_000  # recent keys held in a set, then merged into the array


class Seen:
    def __init__(self) -> None:
        self._old = np.empty(0, dtype=np.int64)
        self._new: set[int] = set()

    def add(self, key: str) -> bool:
        """Note the key; whether it is new (False: met before)."""
        value = hash(key)
        if value in self._new:
            return False
        at = int(np.searchsorted(self._old, value))
        if at < len(self._old) and int(self._old[at]) == value:
            return False
        self._new.add(value)
        if len(self._new) >= MERGE_EVERY:
            # Inserted where they sort, in one new array: `union1d` would concatenate,
            # sort and deduplicate in copies (3 of a million keys: 24 MB at the end of a
            # file). The recent keys are unique and none is in the array already.
            recent = np.sort(np.fromiter(self._new, dtype=np.int64, count=len(self._new)))
            self._old = np.insert(self._old, np.searchsorted(self._old, recent), recent)
            self._new.clear()
        return True

    def __len__(self) -> int:
        return len(self._old) + len(self._new)
