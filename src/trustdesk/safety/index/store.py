"""The immutable base segment of the PDQ index: built in memory, written atomically, memory-mapped back.

A base directory holds four ``.npy`` arrays and ``meta.json``:

- ``hashes.npy`` ``uint64[n, 4]``: the hashes, sorted by chunk 0 (so chunk 0 needs no row-id array);
- ``labels.npy`` ``uint32[n]``: the label (bank id) of each row;
- ``offsets.npy`` ``uint32[sum(2**w + 1)]``: the CSR bucket bounds of every chunk, one after another;
- ``ids.npy`` ``uint32[m - 1, n]``: for chunks 1..m-1, the row ids in bucket order;
- ``meta.json``: format name and version, row count, chunk widths, the caller's opaque ``watermark``, and
  the dtype and shape of each array.

``open_base`` maps the arrays read-only (``np.load(mmap_mode="r")``): worker processes on one machine
share one copy in the page cache, and opening takes milliseconds whatever the size.
"""

import json
import os
import secrets
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from trustdesk.safety.index import kernels
from trustdesk.safety.index.hexcodec import as_labels, as_words
from trustdesk.safety.index.layout import Layout, choose_layout

FORMAT = "trustdesk-pdq-mih"
VERSION = 1
ARRAYS = ("hashes", "labels", "offsets", "ids")


class IndexFormatError(Exception):
    """The directory is not a complete index of this format and version (missing, corrupt, truncated)."""


@dataclass(frozen=True, slots=True, eq=False)
class Base:
    """The arrays of one base segment (in memory or memory-mapped) and its metadata."""

    layout: Layout
    hashes: np.ndarray
    labels: np.ndarray
    offsets: np.ndarray
    ids: np.ndarray
    watermark: int

    @property
    def count(self) -> int:
        """Number of rows."""
        return int(self.hashes.shape[0])

    @property
    def obase(self) -> np.ndarray:
        """Start of each chunk's table in ``offsets``."""
        return np.concatenate(([0], np.cumsum(self.layout.offset_lengths)[:-1])).astype(np.int64)

    @property
    def nbytes(self) -> int:
        """Bytes of all arrays."""
        return sum(int(getattr(self, name).nbytes) for name in ARRAYS)

    def meta(self) -> dict[str, Any]:
        """The ``meta.json`` document describing these arrays."""
        return {
            "format": FORMAT,
            "version": VERSION,
            "count": self.count,
            "widths": list(self.layout.widths),
            "watermark": self.watermark,
            "arrays": {
                name: {"dtype": str(getattr(self, name).dtype), "shape": list(getattr(self, name).shape)}
                for name in ARRAYS
            },
        }


def build_base(hashes: Any, labels: Any, *, watermark: int = 0, layout: Layout | None = None) -> Base:
    """Build a base segment in memory; repeated ``(hash, label)`` rows are kept once.

    ``hashes``: ``uint64[n, 4]`` or 64-hex strings; ``labels``: ``uint32``-compatible ints (or one int for
    all). O(n) per chunk (a counting sort in numba) after one sort to find duplicates.
    """
    words = as_words(hashes)
    labs = as_labels(labels, words.shape[0])
    if not isinstance(watermark, int) or isinstance(watermark, bool):
        raise ValueError(f"watermark must be an int, got {type(watermark).__name__}")
    if words.shape[0] >= 1 << 32:
        raise ValueError("a base segment holds fewer than 2**32 rows")
    if words.shape[0] > 1:
        keys = kernels.row_keys(words, labs)
        keep = kernels.mark_duplicates(np.argsort(keys, kind="stable"), keys, words, labs)
        if not keep.all():
            words, labs = words[keep], labs[keep]
    n = words.shape[0]
    layout = layout or choose_layout(n)
    starts, widths = layout.starts, layout.widths
    offsets = np.empty(sum(layout.offset_lengths), np.uint32)
    ids = np.empty((len(widths) - 1, n), np.uint32)
    at = 0
    for j in range(len(widths)):
        table = offsets[at : at + (1 << widths[j]) + 1]
        at += table.shape[0]
        values = kernels.chunk_values(words, starts[j], widths[j])
        table[0] = 0
        np.cumsum(np.bincount(values, minlength=1 << widths[j]), out=table[1:])
        if j == 0:  # sort the rows by chunk 0: its buckets become row ranges
            order = np.empty(n, np.uint32)
            kernels.fill_ids(values, table, order)
            words, labs = words[order], labs[order]
        else:
            kernels.fill_ids(values, table, ids[j - 1])
    return Base(layout, words, labs, offsets, ids, watermark)


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_base(directory: str | os.PathLike[str], base: Base) -> Path:
    """Write ``base`` to ``directory`` atomically: a temporary sibling, fsync, then rename into place.

    An existing directory is moved aside and deleted after the rename (processes that mapped it keep
    their pages); readers see either the old or the new complete index, or, for the instant between the
    two renames, no directory.
    """
    target = Path(directory)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.parent / f".{target.name}.tmp-{os.getpid()}-{secrets.token_hex(4)}"
    tmp.mkdir()
    try:
        for name in ARRAYS:
            with (tmp / f"{name}.npy").open("wb") as f:
                np.save(f, getattr(base, name), allow_pickle=False)
                f.flush()
                os.fsync(f.fileno())
        with (tmp / "meta.json").open("w", encoding="utf-8") as f:
            json.dump(base.meta(), f, indent=1)
            f.flush()
            os.fsync(f.fileno())
        _fsync(tmp)
        old = None
        if target.exists():
            old = target.parent / f".{target.name}.old-{os.getpid()}-{secrets.token_hex(4)}"
            target.rename(old)
        tmp.rename(target)
        _fsync(target.parent)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return target


def open_base(directory: str | os.PathLike[str]) -> Base:
    """Memory-map a base written by ``write_base``; ``IndexFormatError`` if anything does not add up.

    Checks the meta document, each array's dtype, shape and file size, and the first and last bound of
    every chunk's offsets table (O(chunks), not O(n)); ``verify_base`` checks every entry.
    """
    path = Path(directory)
    try:
        meta = json.loads((path / "meta.json").read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise IndexFormatError(f"{path}: not a PDQ index (no meta.json)") from exc
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise IndexFormatError(f"{path}/meta.json is unreadable or not JSON: {exc}") from exc
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise IndexFormatError(f"{path}: meta.json is not a {FORMAT} index")
    if meta.get("version") != VERSION:
        raise IndexFormatError(f"{path}: format version {meta.get('version')!r}, this code reads {VERSION}")
    try:
        count, watermark = int(meta["count"]), int(meta["watermark"])
        layout = Layout(tuple(int(w) for w in meta["widths"]))
    except (KeyError, TypeError, ValueError) as exc:
        raise IndexFormatError(f"{path}/meta.json: bad count, watermark or widths: {exc}") from exc
    expected = {
        "hashes": ("uint64", (count, 4)),
        "labels": ("uint32", (count,)),
        "offsets": ("uint32", (sum(layout.offset_lengths),)),
        "ids": ("uint32", (len(layout.widths) - 1, count)),
    }
    arrays: dict[str, np.ndarray] = {}
    for name, (dtype, shape) in expected.items():
        file = path / f"{name}.npy"
        try:
            arr = np.load(file, mmap_mode="r", allow_pickle=False)
        except (OSError, ValueError) as exc:
            raise IndexFormatError(f"{file}: missing, truncated or not an .npy array: {exc}") from exc
        if str(arr.dtype) != dtype or arr.shape != shape or not arr.flags.c_contiguous:
            raise IndexFormatError(
                f"{file}: expected {dtype}{list(shape)}, found {arr.dtype}{list(arr.shape)}"
            )
        arrays[name] = arr
    base = Base(layout, arrays["hashes"], arrays["labels"], arrays["offsets"], arrays["ids"], watermark)
    offsets = base.offsets
    for j, at in enumerate(base.obase.tolist()):
        end = at + layout.offset_lengths[j] - 1
        if offsets[at] != 0 or offsets[end] != count:
            raise IndexFormatError(f"{path}: offsets table of chunk {j} does not span the {count} rows")
    return base


def verify_base(base: Base) -> None:
    """Check every entry (O(n) per chunk): monotone offsets, row ids in range, rows in their buckets."""
    n = base.count
    starts, widths = base.layout.starts, base.layout.widths
    for j, at in enumerate(base.obase.tolist()):
        table = base.offsets[at : at + base.layout.offset_lengths[j]].astype(np.int64)
        if np.any(np.diff(table) < 0):
            raise IndexFormatError(f"offsets of chunk {j} are not monotone")
        values = kernels.chunk_values(base.hashes, starts[j], widths[j]).astype(np.int64)
        if j == 0:
            rows = np.arange(n)
        else:
            rows = base.ids[j - 1].astype(np.int64)
            if n and int(rows.max()) >= n:
                raise IndexFormatError(f"row ids of chunk {j} out of range")
        bucket = np.repeat(np.arange(table.shape[0] - 1), np.diff(table))
        if not np.array_equal(values[rows], bucket):
            raise IndexFormatError(f"rows of chunk {j} are not in their buckets")
