"""PDQ index benchmark: our exact multi-index vs python-threatexchange's default PDQ index, side by side.

Same data, same queries, one run: random 256-bit hashes, queries half random and half planted near
duplicates at distances 0..31 (radius 31). Each contender runs in its own subprocess (separate peak RSS):
``pytx`` builds ``PdqSignal.get_index_cls()`` (FAISS ``IndexBinaryMultiHash``, 16 x 16 bits) and queries
it (FAISS limited to one OpenMP thread by default: a per-core figure, and its fastest single lookups
on this 2-core machine); ``build`` builds our base and writes it; ``serve`` opens it from disk in a fresh
process (memory-mapped) and queries it, then measures the lower bound of a lookup on this machine
(the random reads the layout implies -- bucket bounds, row-id starts, candidate hashes -- with and
without software prefetch, and the memory latency of a dependent pointer chase).

    .venv/bin/python bench/pdq_index.py [--sizes 1000000,10000000] [--queries 2000] [--runs 3] [--quick]
"""

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

RADIUS = 31
SEED = 20261202


def rss() -> dict[str, float]:
    """Current RSS split (MB) from /proc and the peak (ru_maxrss)."""
    fields = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in {"VmRSS", "RssAnon", "RssFile"}:
            fields[key] = round(int(value.split()[0]) / 1024, 1)
    fields["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    return fields


def data(n: int, queries: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Hashes, labels, queries, and for planted queries the planted row and distance (-1: random)."""
    rng = np.random.default_rng(SEED)
    hashes = rng.integers(0, 2**64, size=(n, 4), dtype=np.uint64)
    labels = rng.integers(0, 64, n).astype(np.uint32)
    qs = rng.integers(0, 2**64, size=(queries, 4), dtype=np.uint64)
    planted_row = np.full(queries, -1, np.int64)
    planted_d = np.full(queries, -1, np.int64)
    for i in range(0, queries, 2):
        row = int(rng.integers(n))
        d = (i // 2) % 32
        q = hashes[row].copy()
        for b in rng.choice(256, size=d, replace=False):
            q[b // 64] ^= np.uint64(1) << np.uint64(b % 64)
        qs[i], planted_row[i], planted_d[i] = q, row, d
    return hashes, labels, qs, planted_row, planted_d


def hexes(words: np.ndarray) -> list[str]:
    text = words.astype(">u8").tobytes().hex()
    return [text[i : i + 64] for i in range(0, len(text), 64)]


def timed_runs(fn: Any, runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        out.append(time.perf_counter() - started)
    return out


# contenders -------------------------------------------------------------------------------------------
def run_pytx(n: int, queries: int, runs: int) -> dict[str, Any]:
    from threatexchange.signal_type.pdq.signal import PdqSignal

    hashes, labels, qs, planted_row, planted_d = data(n, queries)
    hx, qx = hexes(hashes), hexes(qs)
    entries = list(zip(hx, labels.tolist(), strict=True))
    del hashes
    before = rss()
    index_cls = PdqSignal.get_index_cls()
    started = time.perf_counter()
    index = index_cls.build(entries)
    build_s = time.perf_counter() - started
    after = rss()
    index.query(qx[0])  # warm-up
    results: list[Any] = []
    single = timed_runs(lambda: results.__setitem__(slice(None), [index.query(q) for q in qx]), runs)
    batch = timed_runs(lambda: index.index.search_with_distance_in_result(qx, RADIUS), runs)
    found = sum(
        any(m.metadata == labels[planted_row[i]] and m.similarity_info.distance == planted_d[i] for m in ms)
        for i, ms in enumerate(results)
        if planted_row[i] >= 0
    )
    return {
        "index": f"{index_cls.__module__}.{index_cls.__name__} ({type(index.index).__name__})",
        "build_s": round(build_s, 2),
        "single_per_s": round(queries / statistics.median(single), 1),
        "single_runs_s": [round(x, 3) for x in single],
        "batch_per_s": round(queries / statistics.median(batch), 1),
        "planted_recall": round(found / int((planted_row >= 0).sum()), 4),
        "index_rss_mb": round(after["VmRSS"] - before["VmRSS"], 1),
        **rss(),
    }


def run_build(n: int, directory: str) -> dict[str, Any]:
    from trustdesk.safety.index.store import build_base, write_base

    hashes, labels, *_ = data(n, 2)
    build_base(hashes[:1000], labels[:1000])  # compile (or load) the kernels outside the timing
    started = time.perf_counter()
    base = build_base(hashes, labels, watermark=1)
    build_s = time.perf_counter() - started
    started = time.perf_counter()
    write_base(directory, base)
    return {"build_s": round(build_s, 2), "write_s": round(time.perf_counter() - started, 2), **rss()}


def run_serve(n: int, queries: int, runs: int, directory: str) -> dict[str, Any]:
    from trustdesk.safety.index import PdqIndex
    from trustdesk.safety.index.layout import describe

    import_rss = rss()
    started = time.perf_counter()
    index = PdqIndex.open(directory)
    open_s = time.perf_counter() - started
    hashes, labels, qs, planted_row, planted_d = data(n, queries)
    index.search(qs[0])  # warm-up (kernels from numba's cache, first page faults)
    results: list[Any] = []
    single = timed_runs(lambda: results.__setitem__(slice(None), [index.search(q) for q in qs]), runs)
    batch = timed_runs(lambda: index.search_batch(qs, RADIUS), runs)
    found = sum(
        any(m.label == labels[planted_row[i]] and m.distance == planted_d[i] for m in ms)
        for i, ms in enumerate(results)
        if planted_row[i] >= 0
    )
    exact = brute_force_check(index, hashes, labels, qs[:200])
    serving = rss()
    radii = index.layout.radii_for(RADIUS, n)
    bound = lower_bound(index, n, radii)
    return {
        "layout": describe(index.layout, n),
        "open_s": round(open_s, 4),
        "single_per_s": round(queries / statistics.median(single), 1),
        "single_runs_s": [round(x, 3) for x in single],
        "batch_per_s": round(queries / statistics.median(batch), 1),
        "planted_recall": round(found / int((planted_row >= 0).sum()), 4),
        "brute_force_check": exact,
        "index_bytes": index.nbytes,
        "index_mb": round(index.nbytes / 1e6, 1),
        "raw_mb": round(32 * n / 1e6, 1),
        "rss_before_open": import_rss,
        **serving,
        **bound,
    }


def brute_force_check(index: Any, hashes: np.ndarray, labels: np.ndarray, qs: np.ndarray) -> dict[str, Any]:
    """Exact comparison with a brute-force scan for a sample of queries (every row within the radius)."""
    from trustdesk.safety.index import kernels

    cap = 1 << 16
    out_q, out_row, out_d = np.empty(cap, np.int64), np.empty(cap, np.int64), np.empty(cap, np.int32)
    count = kernels.scan_search(
        qs, RADIUS, hashes, hashes.shape[0], np.empty(0, np.uint8), out_q, out_row, out_d
    )
    expected = {
        (int(q), labels[r].item(), hashes[r].tobytes())
        for q, r in zip(out_q[:count], out_row[:count], strict=True)
    }
    batch = index.search_batch(qs, RADIUS)
    got = [
        (int(q), int(lab), h.tobytes())
        for q, lab, h in zip(batch.query, batch.label, batch.hashes, strict=True)
    ]
    return {"queries": len(qs), "expected": len(expected), "found": len(got),
            "exact": set(got) == expected and len(got) == len(set(got))}  # fmt: skip


def _bound_kernels() -> tuple[Any, ...]:
    """The compiled loops of ``lower_bound`` (plain and prefetched reads, pointer chase)."""
    import numba

    from trustdesk.safety.index.kernels import PREFETCH_AHEAD, distance4, prefetch

    @numba.njit(nogil=True)
    def verify_random(hashes: np.ndarray, rows: np.ndarray, q: np.ndarray) -> int:
        s = 0
        for r in rows:
            s += distance4(hashes, r, q) <= RADIUS
        return s

    @numba.njit(nogil=True)
    def verify_prefetched(hashes: np.ndarray, rows: np.ndarray, q: np.ndarray) -> int:
        s = 0
        k = rows.shape[0]
        for c in range(min(PREFETCH_AHEAD, k)):
            prefetch(hashes, rows[c])
        for c in range(k):
            if c + PREFETCH_AHEAD < k:
                prefetch(hashes, rows[c + PREFETCH_AHEAD])
            s += distance4(hashes, rows[c], q) <= RADIUS
        return s

    @numba.njit(nogil=True)
    def read_random(table: np.ndarray, at: np.ndarray) -> int:
        s = 0
        for v in at:
            s += table[v + 1] - table[v]
        return s

    @numba.njit(nogil=True)
    def read_prefetched(table: np.ndarray, at: np.ndarray) -> int:
        for v in at:
            prefetch(table, v)
        s = 0
        for v in at:
            s += table[v + 1] - table[v]
        return s

    @numba.njit(nogil=True)
    def chase(nxt: np.ndarray, steps: int) -> int:
        i = 0
        for _ in range(steps):
            i = nxt[i]
        return i

    return verify_random, verify_prefetched, read_random, read_prefetched, chase


def lower_bound(index: Any, n: int, radii: tuple[int, ...]) -> dict[str, Any]:
    """What one lookup must cost here: the layout's expected random reads, done with no other work.

    Each read set is timed twice: as plain loads (the reorder buffer bounds how many misses overlap) and
    with the software prefetches the index's kernels use (``kernels.prefetch``: bucket bounds and row-id
    starts prefetched all at once, hashes ``PREFETCH_AHEAD`` ahead). The bound takes the faster of the
    two for each read set.
    """
    from math import comb

    verify_random, verify_prefetched, read_random, read_prefetched, chase = _bound_kernels()

    widths = index.layout.widths
    probes = sum(sum(comb(w, k) for k in range(r + 1)) for w, r in zip(widths, radii, strict=True))
    candidates = sum(
        sum(comb(w, k) for k in range(r + 1)) * n / (1 << w) for w, r in zip(widths, radii, strict=True)
    )
    base = index._base
    rng = np.random.default_rng(1)
    reps = 100
    rows = rng.integers(0, n, size=(reps, round(candidates)))
    at = rng.integers(0, base.offsets.shape[0] - 1, size=(reps, probes))
    id_at = rng.integers(0, base.ids.size - 1, size=(reps, probes))
    ids_flat = base.ids.reshape(-1)
    q = np.zeros(4, np.uint64)

    def best(fn: Any, table: np.ndarray, where: np.ndarray, *extra: Any) -> float:
        fn(table, where[0], *extra)
        return min(timed_runs(lambda: [fn(table, w, *extra) for w in where], 3)) / reps

    t_verify = best(verify_random, base.hashes, rows, q)
    t_offsets = best(read_random, base.offsets, at)
    t_ids = best(read_random, ids_flat, id_at)
    p_verify = best(verify_prefetched, base.hashes, rows, q)
    p_offsets = best(read_prefetched, base.offsets, at)
    p_ids = best(read_prefetched, ids_flat, id_at)
    nxt = np.empty(1 << (27 if n >= 1_000_000 else 20), np.int64)  # 1 GiB: a chain of dependent misses
    perm = rng.permutation(nxt.shape[0])
    nxt[perm] = np.roll(perm, -1)
    chase(nxt, 1000)
    steps = 2_000_000
    latency = min(timed_runs(lambda: chase(nxt, steps), 2)) / steps
    demand = t_verify + t_offsets + t_ids
    prefetched = p_verify + p_offsets + p_ids
    # the bound: each read set at its faster way (the index's kernels are free to use either)
    b_verify, b_offsets, b_ids = min(t_verify, p_verify), min(t_offsets, p_offsets), min(t_ids, p_ids)
    bound = b_verify + b_offsets + b_ids
    return {
        "expected_candidates": round(candidates),
        "probes": probes,
        "verify_candidates_us": round(b_verify * 1e6, 1),
        "read_bucket_bounds_us": round(b_offsets * 1e6, 1),
        "read_bucket_ids_us": round(b_ids * 1e6, 1),
        "lower_bound_us": round(bound * 1e6, 1),
        "lower_bound_per_s": round(1 / bound, 1),
        "ns_per_independent_read": round(b_verify / candidates * 1e9, 1),
        "prefetched": {
            "verify_candidates_us": round(p_verify * 1e6, 1),
            "read_bucket_bounds_us": round(p_offsets * 1e6, 1),
            "read_bucket_ids_us": round(p_ids * 1e6, 1),
            "lower_bound_us": round(prefetched * 1e6, 1),
        },
        "demand_loads": {
            "verify_candidates_us": round(t_verify * 1e6, 1),
            "read_bucket_bounds_us": round(t_offsets * 1e6, 1),
            "read_bucket_ids_us": round(t_ids * 1e6, 1),
            "lower_bound_us": round(demand * 1e6, 1),
            "lower_bound_per_s": round(1 / demand, 1),
            "ns_per_independent_read": round(t_verify / candidates * 1e9, 1),
        },
        "memory_latency_ns": round(latency * 1e9, 1),
    }


# driver -----------------------------------------------------------------------------------------------
def child(args: list[str], env: dict[str, str] | None = None, timeout: int = 1800) -> dict[str, Any]:
    out = subprocess.run([sys.executable, __file__, "--child", *args], capture_output=True, text=True,
                         timeout=timeout, check=False, env={**os.environ, **(env or {})})  # fmt: skip
    if out.returncode != 0:
        raise SystemExit(f"child {args} failed:\n{out.stderr[-3000:]}")
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def bench_size(n: int, queries: int, runs: int, with_pytx: bool, pytx_threads: str) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="pdq-bench-") as tmp:
        directory = str(Path(tmp) / "index")
        ours = {"build": child(["build", str(n), directory])}
        ours["serve"] = child(["serve", str(n), str(queries), str(runs), directory])
    result: dict[str, Any] = {"n": n, "queries": queries, "radius": RADIUS, "ours": ours}
    if with_pytx:
        threads = {"OMP_NUM_THREADS": pytx_threads} if pytx_threads else {}
        pytx = child(["pytx", str(n), str(queries), str(runs)], threads)
        pytx["omp_num_threads"] = pytx_threads or "default"
        result["pytx"] = pytx
        result["ratio_single"] = round(ours["serve"]["single_per_s"] / pytx["single_per_s"], 1)
        result["ratio_batch"] = round(ours["serve"]["batch_per_s"] / pytx["batch_per_s"], 1)
    serve = ours["serve"]
    result["share_of_lower_bound"] = round(serve["single_per_s"] / serve["lower_bound_per_s"], 2)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000000,10000000")
    parser.add_argument("--queries", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="smoke run: 20k hashes, 200 queries, 1 run")
    parser.add_argument("--no-pytx", action="store_true", help="only our index")
    parser.add_argument("--pytx-threads", default="1", help="OMP_NUM_THREADS for FAISS ('' = its default)")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        kind, *rest = args.child
        if kind == "pytx":
            out = run_pytx(int(rest[0]), int(rest[1]), int(rest[2]))
        elif kind == "build":
            out = run_build(int(rest[0]), rest[1])
        else:
            out = run_serve(int(rest[0]), int(rest[1]), int(rest[2]), rest[3])
        print(json.dumps(out))
        return
    sizes = [int(s) for s in args.sizes.split(",")]
    queries, runs = args.queries, args.runs
    if args.quick:
        if args.sizes == parser.get_default("sizes"):
            sizes = [20_000]
        if args.queries == parser.get_default("queries"):
            queries = 200
        runs = 1
    results = [bench_size(n, queries, runs, not args.no_pytx, args.pytx_threads) for n in sizes]
    print(json.dumps({"cpu_count": os.cpu_count(), "results": results}, indent=2))


if __name__ == "__main__":
    main()
