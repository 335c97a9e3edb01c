"""Compiled kernels of the PDQ index: popcount, chunk extraction, probing, scanning and building.

Everything here is a numba ``@njit(cache=True, nogil=True)`` function over plain numpy arrays; nothing
allocates per candidate, nothing calls back into Python. Hashes are ``uint64[n, 4]`` (word 0 holds the
first 16 hex digits); bit ``p`` of a hash is bit ``p % 64`` of word ``p // 64``; chunk ``j`` is the bit
range ``[starts[j], starts[j] + widths[j])``.

Kernels never trust the arrays they read: an offset or row id out of range (a corrupt file) is counted
in the returned ``bad`` flag instead of being dereferenced, and the caller raises ``IndexFormatError``.
"""

from collections.abc import Callable
from typing import Any, TypeVar, cast

import numba
import numpy as np
from llvmlite import ir  # type: ignore[import-untyped]
from numba import types
from numba.core import cgutils as _cgutils
from numba.extending import intrinsic

F = TypeVar("F", bound=Callable[..., Any])

U64 = np.uint64
ONE = np.uint64(1)


def jit(fn: F) -> F:
    """``numba.njit(cache=True, nogil=True)`` that keeps the Python signature visible to mypy."""
    return cast(F, numba.njit(cache=True, nogil=True)(fn))


def _ctpop_typer(typingctx: Any, x: Any) -> Any:  # noqa: ARG001
    sig = types.uint64(types.uint64)

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:  # noqa: ARG001
        return builder.ctpop(args[0])

    return sig, codegen


# one LLVM ctpop instruction (``popcnt`` on x86-64); numba's typing of intrinsics hides the call signature
_ctpop = cast(Callable[[Any], Any], intrinsic(_ctpop_typer))


cgutils: Any = _cgutils  # untyped numba helpers


def _prefetch_typer(typingctx: Any, arr: Any, i: Any) -> Any:  # noqa: ARG001
    sig = types.void(arr, i)

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        aryty = signature.args[0]
        ary = context.make_array(aryty)(context, builder, args[0])
        first = context.cast(builder, args[1], signature.args[1], types.intp)
        index = [first] + [context.get_constant(types.intp, 0)] * (aryty.ndim - 1)
        ptr = cgutils.get_item_pointer(context, builder, aryty, ary, index, wraparound=False)
        ptr = builder.bitcast(ptr, ir.IntType(8).as_pointer())
        i32 = ir.IntType(32)
        fnty = ir.FunctionType(ir.VoidType(), [ptr.type, i32, i32, i32])
        fn = cgutils.get_or_insert_function(builder.module, fnty, "llvm.prefetch.p0")
        builder.call(fn, [ptr, i32(0), i32(2), i32(1)])  # read, locality 2 (prefetcht1), data
        return context.get_dummy_value()

    return sig, codegen


# ``prefetch(arr, i)``: a software prefetch of ``arr[i]`` (``arr[i, 0]`` for a 2-d array), the x86
# ``prefetcht1`` instruction (into L2: measured 5% faster here than ``prefetcht0``). Unlike a load it
# retires at once, so far more independent cache misses are in flight than a reorder buffer full of
# waiting loads allows (at 10 M: 320 -> 148 us a lookup). A prefetch never faults, but the kernels
# only prefetch in-range entries. ``llvm.prefetch.p0`` is the name under LLVM's opaque pointers (15+).
prefetch = cast(Callable[[Any, Any], None], intrinsic(_prefetch_typer))


@jit
def popcount(x: np.uint64) -> int:
    """Number of set bits of a 64-bit word (the ``popcnt`` instruction)."""
    return int(_ctpop(x))


@jit
def distance4(h: np.ndarray, row: int, q: np.ndarray) -> int:
    """Hamming distance between hash ``h[row]`` and the query words ``q``."""
    return (
        popcount(h[row, 0] ^ q[0])
        + popcount(h[row, 1] ^ q[1])
        + popcount(h[row, 2] ^ q[2])
        + popcount(h[row, 3] ^ q[3])
    )


@jit
def extract(h: np.ndarray, row: int, start: int, width: int) -> np.uint64:
    """The ``width``-bit chunk of ``h[row]`` that starts at bit ``start`` (chunks may span two words)."""
    word = start >> 6
    shift = start & 63
    value = h[row, word] >> U64(shift)
    if shift + width > 64:
        value |= h[row, word + 1] << U64(64 - shift)
    return U64(value & ((ONE << U64(width)) - ONE))


@jit
def chunk_values(h: np.ndarray, start: int, width: int) -> np.ndarray:
    """Chunk ``[start, start + width)`` of every row, as ``uint32[n]``."""
    n = h.shape[0]
    out = np.empty(n, np.uint32)
    for row in range(n):
        out[row] = np.uint32(extract(h, row, start, width))
    return out


@jit
def fill_ids(values: np.ndarray, offsets: np.ndarray, ids: np.ndarray) -> None:
    """Counting sort: write each row id into its bucket, in increasing row order within a bucket."""
    pos = offsets[:-1].astype(np.int64)
    for row in range(values.shape[0]):
        v = values[row]
        ids[pos[v]] = np.uint32(row)
        pos[v] += 1


@jit
def is_dedup_first(h: np.ndarray, row: int, qc: np.ndarray, j: int, starts: np.ndarray,
                   widths: np.ndarray, radii: np.ndarray) -> bool:  # fmt: skip
    """The MIH rule: a row found through chunk ``j`` is reported there only if no earlier chunk finds it."""
    for i in range(j):
        if radii[i] >= 0 and popcount(extract(h, row, starts[i], widths[i]) ^ qc[i]) <= radii[i]:
            return False
    return True


@jit
def _live(tomb: np.ndarray, row: int) -> bool:
    return bool(tomb.shape[0] == 0 or (tomb[row >> 3] >> (row & 7)) & 1 == 0)


@jit
def scan_search(queries: np.ndarray, radius: int, hashes: np.ndarray, n: int, tomb: np.ndarray,
                out_query: np.ndarray, out_row: np.ndarray, out_dist: np.ndarray) -> int:  # fmt: skip
    """Brute-force range search over the first ``n`` rows (the delta segment, or a base at a huge radius)."""
    cap = out_row.shape[0]
    q = np.empty(4, np.uint64)
    count = 0
    for qi in range(queries.shape[0]):
        for w in range(4):
            q[w] = queries[qi, w]
        for row in range(n):
            d = distance4(hashes, row, q)
            if d <= radius and _live(tomb, row):
                if count < cap:
                    out_query[count] = qi
                    out_row[count] = row
                    out_dist[count] = d
                count += 1
    return count


@jit
def find_exact(queries: np.ndarray, labels_q: np.ndarray, start0: int, width0: int, hashes: np.ndarray,
               labels: np.ndarray, offsets: np.ndarray) -> np.ndarray:  # fmt: skip
    """Row of each exact ``(hash, label)`` in a base sorted by chunk 0 (``-1`` when absent)."""
    n = hashes.shape[0]
    out = np.full(queries.shape[0], -1, np.int64)
    for qi in range(queries.shape[0]):
        v = np.int64(extract(queries, qi, start0, width0))
        lo = np.int64(offsets[v])
        hi = min(np.int64(offsets[v + 1]), n)
        for row in range(lo, hi):
            if (
                labels[row] == labels_q[qi]
                and hashes[row, 0] == queries[qi, 0]
                and hashes[row, 1] == queries[qi, 1]
                and hashes[row, 2] == queries[qi, 2]
                and hashes[row, 3] == queries[qi, 3]
            ):
                out[qi] = row
                break
    return out


@jit
def row_keys(hashes: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """A 64-bit mix of ``(hash, label)`` per row: equal rows get equal keys (used to find duplicates)."""
    n = hashes.shape[0]
    out = np.empty(n, np.uint64)
    for row in range(n):
        x = U64(labels[row]) * U64(0x9E3779B97F4A7C15)
        for w in range(4):
            x ^= hashes[row, w] + U64(0x9E3779B97F4A7C15) + (x << U64(6)) + (x >> U64(2))
        out[row] = x
    return out


@jit
def mark_duplicates(
    order: np.ndarray, keys: np.ndarray, hashes: np.ndarray, labels: np.ndarray
) -> np.ndarray:
    """``keep[row]`` is False for every repeat of an earlier ``(hash, label)``; ``order`` sorts ``keys``."""
    n = order.shape[0]
    keep = np.ones(n, np.bool_)
    i = 0
    while i < n:
        e = i + 1
        while e < n and keys[order[e]] == keys[order[i]]:
            e += 1
        for a in range(i + 1, e):
            ra = order[a]
            for b in range(i, a):
                rb = order[b]
                if (
                    keep[rb]
                    and labels[ra] == labels[rb]
                    and hashes[ra, 0] == hashes[rb, 0]
                    and hashes[ra, 1] == hashes[rb, 1]
                    and hashes[ra, 2] == hashes[rb, 2]
                    and hashes[ra, 3] == hashes[rb, 3]
                ):
                    keep[ra] = False
                    break
        i = e
    return keep


# how many candidates ahead of the one being verified the verification prefetches (measured at 10 M
# here: 16 -> 175 us a lookup, 32 -> 160 us, 64 -> 162 us; prefetching all of them first, 200 us)
PREFETCH_AHEAD = 32


@jit
def _bucket_bounds(qc: np.ndarray, masks: np.ndarray, mbounds: np.ndarray, offsets: np.ndarray,
                   obase: np.ndarray, ids: np.ndarray, plo: np.ndarray, phi: np.ndarray) -> None:  # fmt: skip
    """Pass 1: the bounds of every probed bucket (prefetched first, then read from cache), and a prefetch
    of the first row id of each (chunks 1..m-1)."""
    last = ids.shape[1] - 1
    for j in range(qc.shape[0]):
        base = obase[j]
        qj = np.int64(qc[j])
        for p in range(mbounds[j], mbounds[j + 1]):
            prefetch(offsets, base + (qj ^ np.int64(masks[p])))
    for j in range(qc.shape[0]):
        base = obase[j]
        qj = np.int64(qc[j])
        for p in range(mbounds[j], mbounds[j + 1]):
            v = base + (qj ^ np.int64(masks[p]))
            lo = np.int64(offsets[v])
            plo[p] = lo
            phi[p] = np.int64(offsets[v + 1])
            if j > 0:
                prefetch(ids[j - 1], min(lo, last))


@jit
def _bounds_total(plo: np.ndarray, phi: np.ndarray, n: int) -> tuple[int, int]:
    """Empty the buckets whose bounds are corrupt (counted in ``bad``); returns ``(candidates, bad)``."""
    total = 0
    bad = 0
    for p in range(plo.shape[0]):
        lo = plo[p]
        hi = phi[p]
        if hi > n or lo > hi:
            bad += 1
            plo[p] = phi[p] = lo = hi = 0
        total += hi - lo
    return total, bad


@jit
def _gather(plo: np.ndarray, phi: np.ndarray, mbounds: np.ndarray, ids: np.ndarray, n: int,
            crow: np.ndarray, cstart: np.ndarray) -> tuple[int, int]:  # fmt: skip
    """Pass 2: every candidate row, chunk after chunk (chunk ``j``'s are ``crow[cstart[j]:cstart[j+1]]``);
    returns ``(candidates, bad)``.

    The ids were prefetched by pass 1 and are copied from cache. ``crow`` holds at least the candidate
    count + ``PREFETCH_AHEAD`` + 4 entries: each bucket writes 4 entries unconditionally (no
    mispredicted branch on the small bucket sizes) before the rest of a larger one, and the entries
    past the candidates are set to row 0 so that pass 3 prefetches ahead without a bounds test. Row ids
    out of range are counted in ``bad`` and replaced by row 0 (the caller raises on ``bad``).
    """
    m = mbounds.shape[0] - 1
    last = ids.shape[1] - 1
    nc = 0
    cstart[0] = 0
    for p in range(mbounds[0], mbounds[1]):  # the base is sorted by chunk 0: its buckets are row ranges
        lo = plo[p]
        for t in range(phi[p] - lo):
            crow[nc + t] = lo + t
        nc += phi[p] - lo
    for j in range(1, m):
        cstart[j] = nc
        row = ids[j - 1]
        for p in range(mbounds[j], mbounds[j + 1]):
            lo = plo[p]
            take = phi[p] - lo
            for t in range(4):
                crow[nc + t] = np.int64(row[min(lo + t, last)])
            for t in range(4, take):
                crow[nc + t] = np.int64(row[lo + t])
            nc += take
    cstart[m] = nc
    bad = 0
    for c in range(cstart[1], nc):  # one branch-free (vectorised) pass
        r = crow[c]
        bad += r >= n
        crow[c] = r if r < n else 0
    for c in range(nc, nc + PREFETCH_AHEAD):
        crow[c] = 0
    return nc, bad


@jit
def probe_search(queries: np.ndarray, radius: int, radii: np.ndarray, starts: np.ndarray,
                 widths: np.ndarray, masks: np.ndarray, mbounds: np.ndarray, hashes: np.ndarray,
                 offsets: np.ndarray, obase: np.ndarray, ids: np.ndarray, tomb: np.ndarray,
                 out_query: np.ndarray, out_row: np.ndarray, out_dist: np.ndarray,
                 ) -> tuple[int, int]:  # fmt: skip
    """Multi-index range search of every query; returns ``(matches, bad)``.

    Chunk ``j`` is probed at its value XOR each of ``masks[mbounds[j]:mbounds[j + 1]]`` (every flip of at
    most ``radii[j]`` bits); each candidate is verified by full popcount and reported once
    (``is_dedup_first``). The work runs in three passes per query, each of independent random reads
    issued as software prefetches ahead of their use: (1) every probed bucket's bounds, (2) the
    candidate rows of those buckets, (3) their hashes, verified ``PREFETCH_AHEAD`` behind the prefetch.
    Matches beyond the capacity of the ``out_*`` arrays are counted but not written: the caller grows
    them and reruns. Needs ``hashes.shape[0] > 0``.
    """
    n = hashes.shape[0]
    m = starts.shape[0]
    cap = out_row.shape[0]
    qc = np.empty(m, np.uint64)
    q = np.empty(4, np.uint64)
    plo = np.empty(mbounds[m], np.int64)
    phi = np.empty(mbounds[m], np.int64)
    crow = np.empty(8192, np.int64)
    cstart = np.empty(m + 1, np.int64)
    count = 0
    bad = 0
    for qi in range(queries.shape[0]):
        for w in range(4):
            q[w] = queries[qi, w]
        for j in range(m):
            qc[j] = extract(queries, qi, starts[j], widths[j])
        _bucket_bounds(qc, masks, mbounds, offsets, obase, ids, plo, phi)
        total, bad_bounds = _bounds_total(plo, phi, n)
        bad += bad_bounds
        if total + PREFETCH_AHEAD + 4 > crow.shape[0]:
            crow = np.empty(2 * total + PREFETCH_AHEAD + 4, np.int64)
        nc, bad_ids = _gather(plo, phi, mbounds, ids, n, crow, cstart)
        bad += bad_ids
        for c in range(PREFETCH_AHEAD):
            prefetch(hashes, crow[c])
        j = 0
        for c in range(nc):  # pass 3
            prefetch(hashes, crow[c + PREFETCH_AHEAD])
            row = crow[c]
            # two words first: a random candidate differs in ~64 of their 128 bits, so the test is
            # almost always false and predicted; near rows go on to the full distance
            d = popcount(hashes[row, 0] ^ q[0]) + popcount(hashes[row, 1] ^ q[1])
            if d > radius:
                continue
            d += popcount(hashes[row, 2] ^ q[2]) + popcount(hashes[row, 3] ^ q[3])
            if d <= radius:
                while cstart[j + 1] <= c:
                    j += 1
                if is_dedup_first(hashes, row, qc, j, starts, widths, radii) and _live(tomb, row):
                    if count < cap:
                        out_query[count] = qi
                        out_row[count] = row
                        out_dist[count] = d
                    count += 1
    return count, bad
