"""Detection throughput: events per second through the whole detector stack, and the upload-time match path.

Setup, once per run, in a temporary folder: a migrated SQLite database holding three banks, a PDQ index of
``--hashes`` random hashes labelled with those banks (written straight to the index folder, as
``trustdesk bank index`` writes it), and ``--rules`` synthetic text rules plus the starter set. Then:

* **in-process**: text events and image-hash events (one PDQ hash and a SHA-256 each, as the upload-time
  check leaves them) decoded from their bus payloads and scanned in batches of 500 by the real scanner
  (signals, cases and removals written to SQLite for the ~2 % that hit), on one core;
* **over NATS** with 1, 2 and 4 ``trustdesk worker scan`` processes: the events are published to a
  JetStream stream of their own, the workers start, and the clock runs from the moment all are subscribed
  until the stream is drained;
* **upload path**: ``POST /api/v1/match`` with one PDQ hash per request over real HTTP against
  ``trustdesk serve --workers N`` (the workers share the memory-mapped index), from ``--clients``
  concurrent client threads: lookups per second, p50 and p99 latency.

    .venv/bin/python bench/detection.py [--hashes 10000000] [--rules 1000] [--events 20000] [--quick]
"""

import argparse
import json
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx2
import numpy as np

from trustdesk import migrations
from trustdesk.app import build_container
from trustdesk.audit.vocabulary import Actor
from trustdesk.bus.jetstream import JetStreamBus
from trustdesk.bus.protocol import Event, Subject
from trustdesk.bus.streams import MIB, STREAMS, capped
from trustdesk.config import load_settings
from trustdesk.db import unit_of_work
from trustdesk.safety import banks, tokens
from trustdesk.safety.events import ContentItem
from trustdesk.safety.index import PdqIndex, words_to_hex
from trustdesk.safety.rules.synthetic import synthetic_messages, synthetic_rules_toml
from trustdesk.safety.vocabulary import BankAction, DsaCategory, DsaKeyword
from trustdesk.safety.worker import GROUP

T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
BATCH = 500


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def prepare(folder: Path, hashes: int, rules: int) -> tuple[dict[str, str], np.ndarray]:
    """The database, the index and the rules; returns the environment of a Trustdesk process."""
    env = {
        "TRUSTDESK_ENVIRONMENT": "development",
        "TRUSTDESK_DATABASE_URL": f"sqlite:///{folder / 'trustdesk.db'}",
        "TRUSTDESK_REFERENCE_PLATFORM_URL": f"sqlite:///{folder / 'platform.db'}",
        "TRUSTDESK_INDEX_DIR": str(folder / "index"),
        "TRUSTDESK_RULES_PATHS": json.dumps(
            [str(folder / "rules"), str(Path("src/trustdesk/safety/rules/starter"))]
        ),
        "TRUSTDESK_SIGNING_KEY_PATH": str(folder / "signing.pem"),
    }
    (folder / "rules").mkdir()
    (folder / "rules" / "synthetic.toml").write_text(synthetic_rules_toml(rules, seed=1))
    migrations.upgrade(env["TRUSTDESK_DATABASE_URL"])
    os.environ.update(env)
    c = build_container(load_settings())
    with unit_of_work(c.sessions) as session:
        made = [
            banks.create_bank(session, c.clock, Actor.operator(), name=name, category=category, action=action,
                              keyword=keyword)
            for name, category, keyword, action in (
                ("csam", DsaCategory.PROTECTION_OF_MINORS, DsaKeyword.CHILD_SEXUAL_ABUSE_MATERIAL,
                 BankAction.REPORT_NCMEC),
                ("terror", DsaCategory.RISK_FOR_PUBLIC_SECURITY, DsaKeyword.TERRORIST_CONTENT,
                 BankAction.AUTO_REMOVE),
                ("review", DsaCategory.OTHER_VIOLATION_TC, None, BankAction.REVIEW),
            )
        ]  # fmt: skip
        ids = [bank.id for bank in made]
        env["TRUSTDESK_BENCH_TOKEN"] = tokens.issue(session, c.clock, Actor.operator(), "bench")
    c.engine.dispose()
    rng = np.random.default_rng(1)
    words = rng.integers(0, 2**64, size=(hashes, 4), dtype=np.uint64)
    labels = np.asarray(ids, dtype=np.uint32)[rng.integers(0, len(ids), size=hashes)]
    started = time.perf_counter()
    target = folder / "index" / "gen-0"
    PdqIndex.build(target, words, labels, watermark=0)
    (folder / "index" / "current").symlink_to(target.name)
    print(f"index of {hashes:,} hashes built in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    return env, words


def events(n: int, words: np.ndarray, *, kind: str, seed: int) -> list[dict[str, str]]:
    """Bus payloads: text messages (2 % hit a rule), or image hashes (2 % near a banked hash)."""
    rng = random.Random(seed)
    texts = synthetic_messages(n, seed=seed, hit_rate=0.02) if kind == "text" else []
    payloads = []
    for i in range(n):
        document: dict[str, Any] = {
            "platform": "bench", "event_id": f"{kind}-{seed}-{i}", "account_id": str(rng.randrange(10**6)),
            "chat_id": str(rng.randrange(10**5)), "chat_type": rng.choice(["public", "group", "private"]),
            "audience": rng.choice([2, 40, 5000, 200_000]), "at": (T0 + timedelta(seconds=i)).isoformat(),
            "locator": f"bench:{i}",
        }  # fmt: skip
        if kind == "text":
            document |= {"kind": "text", "text": texts[i]}
        else:
            if rng.random() < 0.02:
                row = words[rng.randrange(len(words))].copy()
                row[0] ^= np.uint64(rng.getrandbits(16))  # a few bits away from a banked hash
                pdq = words_to_hex(row[None, :])[0]
            else:
                pdq = f"{rng.getrandbits(256):064x}"
            document |= {
                "kind": "image",
                "media": {"sha256": f"{rng.getrandbits(256):064x}", "pdq": [{"hash": pdq, "quality": 90}]},
            }
        payloads.append(ContentItem.model_validate(document).to_payload())
    return payloads


def in_process(payloads: list[dict[str, str]], runs: int) -> dict[str, Any]:
    """Per run: the detector stack alone (decode the payload, every detector; memory only), then the
    scanner (the same, plus recording what was found: one SQLite transaction per batch of 500)."""
    c = build_container(load_settings())
    c.warm_up()
    scanner, detectors = c.scanner, c.scanner.detectors
    detect_rates, scan_rates, found = [], [], 0
    for run in range(1, runs + 1):
        started = time.perf_counter()
        for payload in payloads:
            detectors.detect(ContentItem.from_payload(payload))
        detect_rates.append(len(payloads) / (time.perf_counter() - started))
        started = time.perf_counter()
        for start in range(0, len(payloads), BATCH):
            items = [  # each run's events are new to the scanner
                ContentItem.from_payload(p).model_copy(update={"platform": f"bench{run}"})
                for p in payloads[start : start + BATCH]
            ]
            found += scanner.scan(items).with_findings
        scan_rates.append(len(payloads) / (time.perf_counter() - started))
    c.engine.dispose()
    return {
        "detect_events_per_s_median": round(statistics.median(detect_rates)),
        "scan_events_per_s_median": round(statistics.median(scan_rates)),
        "detect_runs": [round(r) for r in detect_rates], "scan_runs": [round(r) for r in scan_rates],
        "with_findings_per_run": found // runs,
    }  # fmt: skip


def nats_server(folder: Path) -> tuple[subprocess.Popen[bytes], str]:
    """A JetStream server of the run's own, storing in ``folder`` (nothing is left on the machine's NATS)."""
    binary = shutil.which("nats-server") or "/usr/sbin/nats-server"
    port = free_port()
    folder.mkdir()
    proc = subprocess.Popen(
        [binary, "-a", "127.0.0.1", "-p", str(port), "-js", "-sd", str(folder)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    for _ in range(100):
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return proc, f"nats://127.0.0.1:{port}"
        time.sleep(0.1)
    raise RuntimeError("nats-server did not start")


def over_nats(
    payloads: list[dict[str, str]], workers: int, env: dict[str, str], label: str
) -> dict[str, Any]:
    """``workers`` scan workers, ready and waiting, drain ``payloads`` published at once: the clock runs
    from the first publish to the empty stream (publishing, at ~30,000 a second, overlaps the scanning)."""
    prefix = f"bench{label}{workers}"
    bus = JetStreamBus(
        env["TRUSTDESK_NATS_URL"], prefix=prefix, streams=capped(STREAMS, 512 * MIB), max_in_flight=500
    )
    try:
        bus.subscribe_batch(Subject.CONTENT_POSTED, GROUP, lambda _: None)  # to watch the group; never runs
        child_env = {
            **os.environ, **env, "TRUSTDESK_BUS": "nats", "TRUSTDESK_NATS_STREAM_PREFIX": prefix,
            "TRUSTDESK_BUS_MAX_IN_FLIGHT": "500", "TRUSTDESK_NATS_STREAM_MAX_MIB": "512",
        }  # fmt: skip
        procs: list[subprocess.Popen[str]] = []
        try:
            procs.extend(
                subprocess.Popen(
                    [sys.executable, "-m", "trustdesk.cli", "worker", "scan"],
                    env=child_env,
                    stderr=subprocess.PIPE,
                    text=True,
                )
                for _ in range(workers)
            )
            for proc in procs:
                assert proc.stderr is not None
                while "scanning content events" not in (line := proc.stderr.readline()):
                    if not line:
                        raise RuntimeError("a worker died before subscribing")
            time.sleep(1)  # the workers' pulls are waiting
            started = time.perf_counter()
            bus.publish_many(Event(Subject.CONTENT_POSTED, p) for p in payloads)
            while True:
                info = bus.group_info(Subject.CONTENT_POSTED, GROUP)
                if info.pending == 0 and info.ack_pending == 0:
                    break
                time.sleep(0.05)
            elapsed = time.perf_counter() - started
        finally:
            for proc in procs:
                proc.terminate()
            for proc in procs:
                proc.wait(timeout=30)
                if proc.stderr:
                    proc.stderr.close()
        return {"workers": workers, "events_per_s": round(len(payloads) / elapsed)}
    finally:
        bus.close()


def tree_cpu_seconds(root: int) -> float:
    """User + system CPU seconds of a process and all its descendants (from /proc)."""
    ticks = os.sysconf("SC_CLK_TCK")
    stats = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            stats[int(entry.name)] = (int(fields[1]), (int(fields[11]) + int(fields[12])) / ticks)
    total, frontier = 0.0, [root]
    while frontier:
        pid = frontier.pop()
        total += stats.get(pid, (0, 0.0))[1]
        frontier += [child for child, (parent, _) in stats.items() if parent == pid]
    return total


def upload_path(env: dict[str, str], workers: int, clients: int, requests: int) -> dict[str, Any]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "trustdesk.cli", "serve", "--port", str(port), "--workers", str(workers),
         "--no-monitor", "--no-ingest"],
        env={**os.environ, **env}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    headers = {"Authorization": f"Bearer {env['TRUSTDESK_BENCH_TOKEN']}"}
    url = f"http://127.0.0.1:{port}/api/v1/match"
    rng = random.Random(3)
    queries = [f"{rng.getrandbits(256):064x}" for _ in range(requests)]
    latencies: list[float] = []
    lock = threading.Lock()
    try:
        for _ in range(600):
            try:
                if httpx2.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    break
            except httpx2.HTTPError:
                time.sleep(0.1)
        with httpx2.Client() as warm:  # every worker opens the index and compiles once
            for q in queries[: 50 * workers]:
                warm.post(url, json={"pdq": [q]}, headers=headers).raise_for_status()

        def client(part: list[str]) -> None:
            mine = []
            with httpx2.Client() as http:
                for q in part:
                    sent = time.perf_counter()
                    http.post(url, json={"pdq": [q]}, headers=headers).raise_for_status()
                    mine.append(time.perf_counter() - sent)
            with lock:
                latencies.extend(mine)

        threads = [threading.Thread(target=client, args=(queries[i::clients],)) for i in range(clients)]
        cpu_before = tree_cpu_seconds(proc.pid)
        started = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.perf_counter() - started
        server_cpu = tree_cpu_seconds(proc.pid) - cpu_before
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    latencies.sort()
    return {
        "serve_workers": workers, "clients": clients, "requests": len(latencies),
        "lookups_per_s": round(len(latencies) / elapsed),
        "server_cpu_s": round(server_cpu, 2),
        "lookups_per_server_cpu_s": round(len(latencies) / server_cpu) if server_cpu else None,
        "p50_ms": round(1000 * latencies[len(latencies) // 2], 2),
        "p99_ms": round(1000 * latencies[int(len(latencies) * 0.99)], 2),
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hashes", type=int, default=10_000_000)
    parser.add_argument("--rules", type=int, default=1000)
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--nats-workers", default="1,2,4")
    parser.add_argument("--serve-workers", default="1,2")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--requests", type=int, default=6000)
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke run")
    args = parser.parse_args()
    if args.quick:
        args.hashes, args.events, args.runs, args.requests = 100_000, 2_000, 1, 600
    results: dict[str, Any] = {"hashes": args.hashes, "rules": args.rules, "cores": os.cpu_count()}
    with tempfile.TemporaryDirectory(prefix="trustdesk-bench-") as tmp:
        env, words = prepare(Path(tmp), args.hashes, args.rules)
        text = events(args.events, words, kind="text", seed=1)
        image = events(args.events, words, kind="image", seed=2)
        results["in_process"] = {
            "text": in_process(text, args.runs),
            "image_hash": in_process(image, args.runs),
        }
        print(json.dumps(results["in_process"]), file=sys.stderr)
        nats, env["TRUSTDESK_NATS_URL"] = nats_server(Path(tmp) / "nats")
        try:
            results["nats"] = {
                kind: [over_nats(payloads, int(w), env, kind[:1]) for w in args.nats_workers.split(",")]
                for kind, payloads in (("text", text), ("image_hash", image))
            }
        finally:
            nats.terminate()
            nats.wait()
        print(json.dumps(results["nats"]), file=sys.stderr)
        results["upload_path"] = [
            upload_path(env, int(w), args.clients, args.requests) for w in args.serve_workers.split(",")
        ]
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
