"""Intake benchmark: acknowledged lawful requests per second and latency, SQLite and PostgreSQL side by side.

Each backend gets a fresh migrated database and a real `trustdesk serve` process; one client submits
``--requests`` EPOCs sequentially (each with an Idempotency-Key, as the portal does) after a warm-up, and
the script prints medians and the ratio between backends measured in the same run.

    .venv/bin/python bench/intake.py [--requests 300] [--postgres postgresql+psycopg://postgres@127.0.0.1/postgres]
"""

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx2
from sqlalchemy import create_engine, text

from trustdesk import migrations
from trustdesk.audit.vocabulary import Actor
from trustdesk.authorities import service as authorities
from trustdesk.clock import system_clock
from trustdesk.db import make_engine, make_session_factory, unit_of_work
from trustdesk.vocabulary import IssuerKind

BODY: dict[str, Any] = {
    "instrument": "EU_EPOC",
    "reference": "BENCH",
    "issuing_authority": {
        "name": "Juge d'instruction, Paris",
        "kind": "investigating_judge",
        "country": "FR",
    },
    "legal_basis": "Regulation (EU) 2023/1543, Art. 5",
    "offence": {"description": "Fraud", "max_penalty_years": 7},
    "targets": [{"type": "phone", "value": "+33612345678"}],
    "data_categories": ["subscriber", "identification"],
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def prepare(url: str) -> str:
    migrations.upgrade(url)
    engine = make_engine(url)
    with unit_of_work(make_session_factory(engine)) as session:
        agency = authorities.create_agency(
            session, system_clock, Actor.operator(), name="Bench", country="FR",
            kind=IssuerKind.INVESTIGATING_JUDGE, domains=["justice.fr"], verified=True,
        )  # fmt: skip
        key = authorities.add_officer(
            session, system_clock, Actor.operator(), agency_id=agency.id, name="B", email="b@justice.fr"
        ).api_key
    engine.dispose()
    return key


def run(url: str, requests: int) -> list[float]:
    key = prepare(url)
    port = free_port()
    env = {
        **os.environ, "TRUSTDESK_ENVIRONMENT": "development", "TRUSTDESK_DATABASE_URL": url,
        "TRUSTDESK_REFERENCE_PLATFORM_URL": "sqlite://",
    }  # fmt: skip
    server = subprocess.Popen(
        [sys.executable, "-m", "trustdesk.cli", "serve", "--port", str(port)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):
            try:
                httpx2.get(f"{base}/healthz", timeout=1)
                break
            except httpx2.TransportError:
                time.sleep(0.05)
        latencies = []
        with httpx2.Client(base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=30) as client:
            for i in range(requests + 20):
                started = time.perf_counter()
                response = client.post(
                    "/api/v1/requests",
                    json={**BODY, "reference": f"B-{i}"},
                    headers={"Idempotency-Key": f"k{i}"},
                )
                elapsed = time.perf_counter() - started
                if response.status_code != 201:
                    raise SystemExit(f"unexpected {response.status_code}: {response.text}")
                if i >= 20:  # warm-up excluded
                    latencies.append(elapsed)
        return latencies
    finally:
        server.kill()
        server.wait()


def summary(latencies: list[float]) -> dict[str, float]:
    ordered = sorted(latencies)
    return {
        "median_ms": round(statistics.median(ordered) * 1000, 2),
        "p95_ms": round(ordered[int(len(ordered) * 0.95) - 1] * 1000, 2),
        "per_second_sequential": round(len(ordered) / sum(ordered), 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--postgres", default=os.environ.get("TRUSTDESK_TEST_POSTGRES_URL", ""))
    args = parser.parse_args()
    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        results["sqlite"] = summary(run(f"sqlite:///{Path(tmp) / 'bench.db'}", args.requests))
    if args.postgres:
        admin = create_engine(args.postgres, isolation_level="AUTOCOMMIT")
        name = f"trustdesk_bench_{os.getpid()}"
        with admin.connect() as c:
            c.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            url = admin.url.set(database=name).render_as_string(hide_password=False)
            results["postgresql"] = summary(run(url, args.requests))
        finally:
            with admin.connect() as c:
                c.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
            admin.dispose()
        results["ratio_median_postgresql_to_sqlite"] = {
            "ratio": round(results["postgresql"]["median_ms"] / results["sqlite"]["median_ms"], 2)
        }
    print(json.dumps({"requests": args.requests, "results": results}, indent=2))


if __name__ == "__main__":
    main()
