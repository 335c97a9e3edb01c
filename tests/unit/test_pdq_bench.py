"""The PDQ index benchmark still runs (smoke run on small data; no timing is asserted)."""

import json
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench" / "pdq_index.py"


def test_bench_quick_runs() -> None:
    out = subprocess.run(
        [sys.executable, str(BENCH), "--quick", "--sizes", "5000", "--queries", "64"],
        capture_output=True, text=True, check=True, timeout=120,
    )  # fmt: skip
    (result,) = json.loads(out.stdout)["results"]
    serve = result["ours"]["serve"]
    assert serve["planted_recall"] == 1.0
    assert serve["brute_force_check"]["exact"]
    assert result["pytx"]["single_per_s"] > 0
