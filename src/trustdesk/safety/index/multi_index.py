"""``PdqIndex``: exact Hamming range search over 256-bit PDQ hashes, incremental and memory-mapped.

A search covers the base segment (multi-index hashing over memory-mapped arrays, see ``store`` and
``layout``) minus its tombstoned rows, plus the in-memory delta segment (brute force). Every row within
the radius is found (100% recall) and reported once. One ``PdqIndex`` is not thread-safe for writes:
``add``/``remove`` must not run while another thread searches the same instance.
"""

import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

from trustdesk.safety.index import kernels
from trustdesk.safety.index.delta import Delta
from trustdesk.safety.index.hexcodec import as_labels, as_words, words_to_hex
from trustdesk.safety.index.layout import MAX_RADIUS, Layout, flip_masks
from trustdesk.safety.index.store import (
    Base,
    IndexFormatError,
    build_base,
    open_base,
    verify_base,
    write_base,
)

DEFAULT_RADIUS = 31


class Match(NamedTuple):
    """One matching row of a single lookup."""

    label: int
    hash: str
    distance: int


class Hit(NamedTuple):
    """One matching row of a batch, hash as words (``words_to_hex(hit.hash[None])`` for text)."""

    label: int
    hash: np.ndarray  # uint64[4]
    distance: int


@dataclass(frozen=True, slots=True, eq=False)
class Matches:
    """Matches of a batch as flat arrays, one entry per (query, matching row), grouped in query order.

    ``len(matches)`` is the number of queries and iterating gives each query's ``Hit`` list;
    ``count`` is the number of (query, row) entries.
    """

    queries: int
    query: np.ndarray  # int64[k]: position of the query in the batch
    label: np.ndarray  # uint32[k]
    hashes: np.ndarray  # uint64[k, 4]: the stored hash
    distance: np.ndarray  # int32[k]

    def __len__(self) -> int:
        return self.queries

    @property
    def count(self) -> int:
        """Number of (query, matching row) entries."""
        return int(self.query.shape[0])

    def __iter__(self) -> Iterator[list[Hit]]:
        bounds = np.searchsorted(self.query, np.arange(self.queries + 1)).tolist()
        labels, dists = self.label.tolist(), self.distance.tolist()
        for i in range(self.queries):
            lo, hi = bounds[i], bounds[i + 1]
            yield [Hit(labels[k], self.hashes[k], dists[k]) for k in range(lo, hi)]

    def for_query(self, i: int) -> list[Match]:
        """The matches of query ``i`` as ``Match`` tuples."""
        lo, hi = np.searchsorted(self.query, [i, i + 1])
        hexes = words_to_hex(self.hashes[lo:hi])
        return [
            Match(int(lab), h, int(d))
            for lab, h, d in zip(self.label[lo:hi], hexes, self.distance[lo:hi], strict=True)
        ]


def _check_radius(radius: int) -> int:
    if isinstance(radius, bool) or not isinstance(radius, int | np.integer):
        raise ValueError(f"radius must be an int, got {type(radius).__name__}")
    if not 0 <= radius <= MAX_RADIUS:
        raise ValueError(f"radius must be in 0..{MAX_RADIUS}, got {radius}")
    return int(radius)


class PdqIndex:
    """Exact PDQ index: a memory-mapped (or in-memory) base, a tombstone bitmap and a delta segment."""

    def __init__(self, base: Base) -> None:
        """Wrap a base segment; prefer ``build``, ``open`` or ``from_arrays``."""
        self._base = base
        self._tomb = np.zeros((base.count + 7) // 8, np.uint8)
        self._removed = 0
        self._delta = Delta()
        self._starts = np.asarray(base.layout.starts, np.int64)
        self._widths = np.asarray(base.layout.widths, np.int64)
        self._obase = base.obase
        # plain ndarray views of the (memory-mapped) arrays: cheaper to index and to pass to the kernels
        self._hashes = base.hashes.view(np.ndarray)
        self._labels = base.labels.view(np.ndarray)
        self._offsets = base.offsets.view(np.ndarray)
        self._ids = base.ids.view(np.ndarray)
        self._plans: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray] | None] = {}

    # construction -------------------------------------------------------------------------------------
    @classmethod
    def build(cls, directory: str | os.PathLike[str], hashes: Any, labels: Any, *, watermark: int = 0,
              layout: Layout | None = None) -> "PdqIndex":  # fmt: skip
        """Build a base from ``hashes`` (``uint64[n, 4]`` or hex strings) and ``labels`` (uint32 bank ids),
        write it atomically to ``directory`` with the caller's ``watermark``, and open it."""
        write_base(directory, build_base(hashes, labels, watermark=watermark, layout=layout))
        return cls.open(directory)

    @classmethod
    def open(cls, directory: str | os.PathLike[str]) -> "PdqIndex":
        """Memory-map a built index read-only (shared page cache); ``IndexFormatError`` if it is not one."""
        return cls(open_base(directory))

    @classmethod
    def empty(cls) -> "PdqIndex":
        """An empty in-memory index (rows come through ``add``)."""
        return cls.from_arrays(np.zeros((0, 4), np.uint64), np.zeros(0, np.uint32))

    @classmethod
    def from_arrays(cls, hashes: Any, labels: Any, *, watermark: int = 0,
                    layout: Layout | None = None) -> "PdqIndex":  # fmt: skip
        """An index held in private memory, never written (tests, small banks)."""
        return cls(build_base(hashes, labels, watermark=watermark, layout=layout))

    # facts --------------------------------------------------------------------------------------------
    @property
    def watermark(self) -> int:
        """The opaque int given to ``build`` (e.g. the bank's change sequence the base reflects)."""
        return self._base.watermark

    @property
    def layout(self) -> Layout:
        """Chunk layout of the base."""
        return self._base.layout

    def __len__(self) -> int:
        """Live rows: base rows not removed plus delta rows."""
        return self._base.count - self._removed + self._delta.count

    @property
    def delta_count(self) -> int:
        """Rows in the delta segment (added since the base was built)."""
        return self._delta.count

    @property
    def nbytes(self) -> int:
        """Bytes of every array of the index: base, tombstones, delta rows."""
        return self._base.nbytes + int(self._tomb.nbytes) + self._delta.nbytes

    # search -------------------------------------------------------------------------------------------
    def search(self, query: Any, radius: int = DEFAULT_RADIUS) -> list[Match]:
        """Every live row within ``radius`` of ``query`` (64-hex string or ``uint64[4]``), each once."""
        if type(query) is np.ndarray and query.shape == (4,) and query.dtype == np.uint64:
            words = np.ascontiguousarray(query).reshape(1, 4)  # the fast path of ``as_words``
        else:
            words = as_words(query if not isinstance(query, str) else [query])
            if words.shape[0] != 1:
                raise ValueError(f"search takes one hash, got {words.shape[0]}; use search_batch")
        if type(radius) is not int or not 0 <= radius <= MAX_RADIUS:
            radius = _check_radius(radius)
        _, hashes, labels, dists = self._search_base(words, radius)
        if self._delta.count:
            _, more_hashes, more_labels, more_dists = self._search_delta(words, radius)
            hashes = np.concatenate([hashes, more_hashes])
            labels = np.concatenate([labels, more_labels])
            dists = np.concatenate([dists, more_dists])
        if not len(labels):
            return []
        return [
            Match(lab, h, d)
            for lab, h, d in zip(labels.tolist(), words_to_hex(hashes), dists.tolist(), strict=True)
        ]

    def search_batch(self, queries: Any, radius: int = DEFAULT_RADIUS) -> Matches:
        """Every live row within ``radius`` of each query (``uint64[q, 4]`` or hex strings)."""
        radius = _check_radius(radius)
        words = as_words(queries)
        qs, hashes, labels, dists = self._search_base(words, radius)
        if self._delta.count:
            parts = [(qs, hashes, labels, dists), self._search_delta(words, radius)]
            qs, hashes, labels, dists = (np.concatenate(x) for x in zip(*parts, strict=True))
            order = np.argsort(qs, kind="stable")
            qs, hashes, labels, dists = qs[order], hashes[order], labels[order], dists[order]
        return Matches(int(words.shape[0]), qs, labels, hashes, dists)

    def _plan(self, radius: int) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
        """(radii, masks, bounds) for probing at ``radius``, or None when a linear scan is cheaper."""
        if radius not in self._plans:
            n, layout = self._base.count, self._base.layout
            if layout.should_scan(radius, n):
                self._plans[radius] = None
            else:
                radii = layout.radii_for(radius, n)
                masks, bounds = flip_masks(layout.widths, radii)
                plan = (np.asarray(radii, np.int64), np.asarray(masks, np.uint32), np.asarray(bounds))
                self._plans[radius] = plan
        return self._plans[radius]

    def _search_base(self, words: np.ndarray, radius: int) -> tuple[np.ndarray, ...]:
        base = self._base
        if base.count == 0 or words.shape[0] == 0:
            return _empty()
        plan = self._plan(radius)
        cap = max(64, 4 * words.shape[0])
        while True:
            out_q, out_row, out_d = np.empty(cap, np.int64), np.empty(cap, np.int64), np.empty(cap, np.int32)
            if plan is None:
                found = kernels.scan_search(
                    words, radius, self._hashes, base.count, self._tomb, out_q, out_row, out_d
                )
                bad = 0
            else:
                radii, masks, bounds = plan
                found, bad = kernels.probe_search(
                    words, radius, radii, self._starts, self._widths, masks, bounds, self._hashes,
                    self._offsets, self._obase, self._ids, self._tomb, out_q, out_row, out_d,
                )  # fmt: skip
            if bad:
                raise IndexFormatError(f"corrupt index: {bad} out-of-range offsets or row ids")
            if found <= cap:
                break
            cap = found
        if found == 0:  # the common case of a single lookup: no more numpy calls (run with cold caches)
            return _EMPTY
        rows = out_row[:found]
        return out_q[:found], self._hashes.take(rows, axis=0), self._labels.take(rows), out_d[:found]

    def _search_delta(self, words: np.ndarray, radius: int) -> tuple[np.ndarray, ...]:
        delta = self._delta
        if delta.count == 0 or words.shape[0] == 0:
            return _empty()
        cap = max(64, 4 * words.shape[0])
        no_tombs = np.empty(0, np.uint8)
        while True:
            out_q, out_row, out_d = np.empty(cap, np.int64), np.empty(cap, np.int64), np.empty(cap, np.int32)
            found = kernels.scan_search(words, radius, delta.hashes, delta.count, no_tombs, out_q, out_row,
                                        out_d)  # fmt: skip
            if found <= cap:
                break
            cap = found
        rows = out_row[:found]
        return out_q[:found], delta.hashes[rows], delta.labels[rows], out_d[:found]

    # changes ------------------------------------------------------------------------------------------
    def _base_rows(self, words: np.ndarray, labels: np.ndarray) -> np.ndarray:
        base = self._base
        if base.count == 0 or words.shape[0] == 0:
            return np.full(words.shape[0], -1, np.int64)
        return kernels.find_exact(words, labels, 0, base.layout.widths[0], self._hashes, self._labels,
                                  self._offsets)  # fmt: skip

    def _is_removed(self, row: int) -> bool:
        return bool((self._tomb[row >> 3] >> (row & 7)) & 1)

    def add(self, hashes: Any, labels: Any) -> int:
        """Make ``(hash, label)`` rows matchable at once; returns how many were not live before.

        A row already live is left alone; a removed base row is revived (its tombstone cleared).
        """
        words = as_words(hashes)
        labs = as_labels(labels, words.shape[0])
        rows = self._base_rows(words, labs)
        revived = 0
        for row in np.unique(rows[rows >= 0]).tolist():
            if self._is_removed(row):
                self._tomb[row >> 3] &= np.uint8(0xFF ^ (1 << (row & 7)))
                revived += 1
        self._removed -= revived
        new = rows < 0
        return revived + self._delta.add(words[new], labs[new])

    def remove(self, hashes: Any, labels: Any) -> int:
        """Stop exact ``(hash, label)`` rows matching at once; returns how many live rows were removed."""
        words = as_words(hashes)
        labs = as_labels(labels, words.shape[0])
        rows = self._base_rows(words, labs)
        removed = 0
        for row in np.unique(rows[rows >= 0]).tolist():
            if not self._is_removed(row):
                self._tomb[row >> 3] |= np.uint8(1 << (row & 7))
                removed += 1
        self._removed += removed
        absent = rows < 0
        return removed + self._delta.remove(words[absent], labs[absent])

    def live_rows(self) -> tuple[np.ndarray, np.ndarray]:
        """``(hashes uint64[k, 4], labels uint32[k])`` of every live row: base minus removed, plus delta."""
        base = self._base
        alive = ~np.unpackbits(self._tomb, count=base.count, bitorder="little").astype(bool)
        delta = self._delta
        hashes = np.concatenate([base.hashes[alive], delta.hashes[: delta.count]])
        labels = np.concatenate([base.labels[alive], delta.labels[: delta.count]])
        return hashes, labels

    def compact(self, directory: str | os.PathLike[str], *, watermark: int) -> "PdqIndex":
        """Fold the delta and the removals into a new base written to ``directory``; returns it opened."""
        hashes, labels = self.live_rows()
        return PdqIndex.build(directory, hashes, labels, watermark=watermark)

    def verify(self) -> None:
        """Check every entry of the base (O(n) per chunk); ``IndexFormatError`` on the first fault."""
        verify_base(self._base)


def _empty() -> tuple[np.ndarray, ...]:
    return _EMPTY


# shared: zero-length arrays hold nothing to change
_EMPTY = (np.empty(0, np.int64), np.empty((0, 4), np.uint64), np.empty(0, np.uint32), np.empty(0, np.int32))
