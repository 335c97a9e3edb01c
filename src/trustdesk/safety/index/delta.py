"""The delta segment: rows added since the base was built, searched by brute-force popcount.

Rows live in growable ``uint64[cap, 4]`` / ``uint32[cap]`` arrays (the first ``count`` are live) with a
dict from ``(hash bytes, label)`` to position, so that adding a present row is a no-op and removing a
row is a swap with the last one. Searching costs about a nanosecond per row per query: fold the delta
into a new base (``PdqIndex.compact``) before it reaches some hundred thousand rows.
"""

import numpy as np


class Delta:
    """In-memory rows not yet in the base (not thread-safe: one writer, no concurrent readers)."""

    def __init__(self) -> None:
        self.hashes = np.empty((0, 4), np.uint64)
        self.labels = np.empty(0, np.uint32)
        self.count = 0
        self._where: dict[tuple[bytes, int], int] = {}

    def __contains__(self, key: tuple[bytes, int]) -> bool:
        return key in self._where

    def add(self, words: np.ndarray, labels: np.ndarray) -> int:
        """Append the rows not present yet; returns how many were appended."""
        added = 0
        for i in range(words.shape[0]):
            key = (words[i].tobytes(), int(labels[i]))
            if key in self._where:
                continue
            if self.count == self.hashes.shape[0]:
                self._grow(max(64, 2 * self.count))
            self.hashes[self.count] = words[i]
            self.labels[self.count] = labels[i]
            self._where[key] = self.count
            self.count += 1
            added += 1
        return added

    def remove(self, words: np.ndarray, labels: np.ndarray) -> int:
        """Delete the rows present; returns how many were deleted."""
        removed = 0
        for i in range(words.shape[0]):
            at = self._where.pop((words[i].tobytes(), int(labels[i])), None)
            if at is None:
                continue
            last = self.count - 1
            if at != last:
                self.hashes[at] = self.hashes[last]
                self.labels[at] = self.labels[last]
                self._where[(self.hashes[at].tobytes(), int(self.labels[at]))] = at
            self.count = last
            removed += 1
        return removed

    def _grow(self, capacity: int) -> None:
        hashes = np.empty((capacity, 4), np.uint64)
        labels = np.empty(capacity, np.uint32)
        hashes[: self.count] = self.hashes[: self.count]
        labels[: self.count] = self.labels[: self.count]
        self.hashes, self.labels = hashes, labels

    @property
    def nbytes(self) -> int:
        """Bytes of the row arrays (the dict comes on top: about 150 bytes a row)."""
        return int(self.hashes.nbytes + self.labels.nbytes)
