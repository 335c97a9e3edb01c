"""Transparency-log benchmark: the Merkle tree in memory, and the sequencer and proofs over a database of
``--leaves`` leaves (SQLite, and PostgreSQL with ``--postgres``).

1. ``merkle.Tree`` alone: appending the leaves, a tree head, inclusion and consistency proofs.
2. A fresh migrated database filled with ``--leaves`` leaves (audit-head shaped) and their signed heads, in
   batches of 10,000 (as rounds of the sequencer would leave them), then the real service: the first round
   of a process (its cache empty: reads every leaf hash once), warm rounds that each anchor a new audit
   head (one audit event recorded between rounds), inclusion and consistency proofs from the warm cache,
   and ``check_log``, the full recomputation an auditor runs.

    .venv/bin/python bench/tlog_bench.py [--leaves 100000] [--postgres postgresql+psycopg://postgres@127.0.0.1/postgres]
"""

import argparse
import json
import os
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, insert, text

from trustdesk import migrations
from trustdesk.audit import service as audit
from trustdesk.audit.vocabulary import Actor, AuditAction
from trustdesk.clock import system_clock
from trustdesk.db import make_engine, make_session_factory, unit_of_work
from trustdesk.signing.ed25519 import Ed25519Signer
from trustdesk.transparency.checkpoint import Checkpoint, sign_checkpoint
from trustdesk.transparency.merkle import Tree, leaf_hash
from trustdesk.transparency.models import TlogEntry, TlogHead
from trustdesk.transparency.tlog import service as tlog
from trustdesk.transparency.tlog.checks import check_log
from trustdesk.transparency.tlog.leaves import audit_leaf, hash_of

ORIGIN = "bench.example/tlog"
BATCH = 10_000


def timed(func: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    result = func()
    return time.perf_counter() - start, result


def ms(seconds: float) -> float:
    return round(seconds * 1000, 3)


def bench_tree(n: int) -> dict[str, Any]:
    hashes = [leaf_hash(i.to_bytes(8, "big")) for i in range(n)]
    tree = Tree()
    append_s, _ = timed(lambda: [tree.append(h) for h in hashes])
    root_s, _ = timed(tree.root)
    rng = random.Random(7)
    inclusion = []
    consistency = []
    for _ in range(1000):
        index = rng.randrange(n)
        inclusion.append(timed(lambda i=index: tree.inclusion_proof(i))[0])
        first = rng.randrange(1, n)
        consistency.append(timed(lambda f=first: tree.consistency_proof(f))[0])
    return {
        "append_total_ms": ms(append_s),
        "append_per_leaf_us": round(append_s / n * 1e6, 2),
        "root_ms": ms(root_s),
        "inclusion_proof_median_us": round(statistics.median(inclusion) * 1e6, 1),
        "consistency_proof_median_us": round(statistics.median(consistency) * 1e6, 1),
        "memory_bytes_per_leaf": 64,
    }


def fill(url: str, n: int, signer: Ed25519Signer) -> float:
    """``n`` leaves and a signed head per batch, written directly; returns the seconds it took."""
    engine = make_engine(url)
    now = datetime.now(UTC)
    tree = Tree()
    start = time.perf_counter()
    with engine.begin() as connection:
        for batch_start in range(0, n, BATCH):
            rows = []
            for index in range(batch_start, min(n, batch_start + BATCH)):
                seq = 1_000_000_000 + index  # leaves of the audit-head shape: check_log needs no request rows
                leaf = audit_leaf(seq=seq, hash_=os.urandom(32).hex())
                hash_ = hash_of(leaf)
                tree.append(bytes.fromhex(hash_))
                rows.append({
                    "id": f"bench-{index}", "leaf_index": index, "kind": "audit_head", "subject_id": str(seq),
                    "leaf": leaf, "leaf_hash": hash_, "salt": None, "created_at": now,
                    "sequenced_at": now,
                })  # fmt: skip
            connection.execute(insert(TlogEntry), rows)
            root = tree.root()
            note = sign_checkpoint(Checkpoint(ORIGIN, tree.size, root), signer)
            connection.execute(
                insert(TlogHead),
                [{"tree_size": tree.size, "root_hash": root.hex(), "created_at": now, "checkpoint": note}],
            )
    engine.dispose()
    return time.perf_counter() - start


def bench_database(url: str, n: int) -> dict[str, Any]:
    signer = Ed25519Signer.generate()
    fill_s = fill(url, n, signer)
    engine = make_engine(url)
    sessions = make_session_factory(engine)

    def one_round() -> tlog.Round:
        with unit_of_work(sessions) as session:
            audit.record(
                session, system_clock, Actor.system(), AuditAction.SECURITY_INCIDENT,
                subject_type="bench", subject_id="tlog",
            )  # fmt: skip
        with unit_of_work(sessions) as session:
            return tlog.sequence(session, system_clock, signer, origin=ORIGIN)

    cold_s, first = timed(one_round)
    assert first.tree_size == n + 1, first
    warm = [timed(one_round)[0] for _ in range(20)]
    with unit_of_work(sessions) as session:
        hashes = [h for (h,) in session.execute(text("SELECT leaf_hash FROM tlog_entries LIMIT 200"))]
        size = tlog.latest_head(session).tree_size  # type: ignore[union-attr]
        inclusion = [timed(lambda h=h: tlog.inclusion(session, h))[0] for h in hashes]
        consistency = [timed(lambda f=f: tlog.consistency(session, f))[0] for f in range(BATCH, n, BATCH)]
        check_s, problems = timed(lambda: check_log(session, signer.public_key_bytes()))
    assert problems == [], problems[:3]
    engine.dispose()
    return {
        "tree_size": size,
        "fill_ms": ms(fill_s),
        "first_round_cold_cache_ms": ms(cold_s),
        "round_one_new_leaf_median_ms": ms(statistics.median(warm)),
        "inclusion_proof_median_ms": ms(statistics.median(inclusion)),
        "consistency_proof_median_ms": ms(statistics.median(consistency)),
        "check_log_full_ms": ms(check_s),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leaves", type=int, default=100_000)
    parser.add_argument("--postgres", help="a PostgreSQL maintenance URL; a scratch database is made in it")
    args = parser.parse_args()
    results: dict[str, Any] = {"leaves": args.leaves, "tree": bench_tree(args.leaves)}
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'tlog.db'}"
        migrations.upgrade(url)
        results["sqlite"] = bench_database(url, args.leaves)
    if args.postgres:
        admin = create_engine(args.postgres, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text("DROP DATABASE IF EXISTS td_bench_tlog"))
            connection.execute(text("CREATE DATABASE td_bench_tlog"))
        url = args.postgres.rsplit("/", 1)[0] + "/td_bench_tlog"
        try:
            migrations.upgrade(url)
            results["postgresql"] = bench_database(url, args.leaves)
        finally:
            with admin.connect() as connection:
                connection.execute(text("DROP DATABASE IF EXISTS td_bench_tlog WITH (FORCE)"))
            admin.dispose()
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
