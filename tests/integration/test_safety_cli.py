"""The content-safety CLI against real, committed databases: banks, imports, match, scan, rules test."""

import json
import random
from pathlib import Path

import pytest

from tests.integration.conftest import Run
from tests.safety_world import flip, random_pdq, write_csv
from trustdesk.safety.hashing.image import hash_image_file

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "testdata" / "pdq" / "images"


def bank(run: Run, name: str = "gifct", action: str = "auto_remove", *extra: str) -> None:
    run(
        "bank", "create", name, "--category", "STATEMENT_CATEGORY_RISK_FOR_PUBLIC_SECURITY",
        "--keyword", "KEYWORD_TERRORIST_CONTENT", "--action", action, *extra,
    )  # fmt: skip


def test_a_bank_is_created_filled_listed_and_an_entry_withdrawn(run: Run, tmp_path: Path) -> None:
    rng = random.Random(1)
    hashes = [random_pdq(rng) for _ in range(3)]
    bank(run, "gifct", "auto_remove", "--threshold", "24")
    csv = write_csv(tmp_path / "gifct.csv", [{"hash": h, "quality": 80} for h in hashes])

    first = json.loads(run("bank", "import", "gifct", str(csv), "--date", "2026-11-30", "--json").stdout)
    second = json.loads(run("bank", "import", "gifct", str(csv), "--json").stdout)
    run("bank", "remove", "gifct", hashes[0], "--reason", "withdrawn")
    shown = json.loads(run("bank", "show", "gifct", "--json").stdout)
    listed = json.loads(run("bank", "list", "--json").stdout)

    assert (first["added"], second["added"], second["present"]) == (3, 0, 3)
    assert shown["pdq_threshold"] == 24
    assert (shown["entries"]["pdq"], shown["removed"]) == (2, 1)
    assert [b["name"] for b in listed] == ["gifct"]
    assert len(shown["imports"]) == 2


def test_bad_input_gets_one_clear_line_and_changes_nothing(run: Run, tmp_path: Path) -> None:
    bank(run)
    bad = write_csv(tmp_path / "bad.csv", [{"hash": "0" * 63, "quality": 80}])

    refused = run("bank", "import", "gifct", str(bad), expect=2)
    missing = run("bank", "import", "nope", str(bad), expect=2)
    wrong = run("bank", "create", "x", "--category", "NOT_A_CATEGORY", "--action", "review", expect=2)

    assert "line 2" in refused.stderr
    assert "nothing imported" in refused.stderr
    assert "no bank named 'nope'" in missing.stderr
    assert "NOT_A_CATEGORY" in wrong.output + wrong.stderr
    assert json.loads(run("bank", "show", "gifct", "--json").stdout)["entries"]["pdq"] == 0


def test_match_prints_every_query_in_input_order(run: Run, tmp_path: Path) -> None:
    rng = random.Random(2)
    known = random_pdq(rng)
    bank(run)
    run("bank", "import", "gifct", str(write_csv(tmp_path / "k.csv", [{"hash": known, "quality": 90}])))
    near, other = flip(known, 7, rng), random_pdq(rng)
    queries = tmp_path / "queries.txt"
    queries.write_text(f"{other}\n{near}\n\n")

    from_file = json.loads(run("match", "--file", str(queries), "--json").stdout)
    one = json.loads(run("match", "--pdq", near, "--json").stdout)

    assert [q["query"] for q in from_file] == [other, near]
    assert from_file[0]["matches"] == []
    assert from_file[1]["matches"] == [
        {"bank": "gifct", "hash": known, "distance": 7, "action": "auto_remove"}
    ]
    assert one == from_file[1:]
    assert "query 1" in run("match", "--pdq", "nothex", expect=2).stderr


def test_scan_matches_an_edited_copy_of_a_banked_image_and_runs_the_rules_on_text(
    run: Run, tmp_path: Path
) -> None:
    original = SHARED / "bridge-mods" / "aaa-orig.jpg"
    if not original.exists():
        pytest.skip(f"the PDQ test images are not at {SHARED}")
    bank(run)
    known = hash_image_file(original)
    run(
        "bank",
        "import",
        "gifct",
        str(write_csv(tmp_path / "b.csv", [{"hash": known.pdq, "quality": known.quality}])),
    )
    copy = next(p for p in (SHARED / "bridge-mods").iterdir() if p.name != original.name)
    message = tmp_path / "message.txt"
    message.write_text("Elon giveaway! send 1 btc to this wallet and get 2 btc back")

    reports = json.loads(run("scan", str(copy), str(message), "--json").stdout)

    image, text = reports
    assert image["kind"] == "image"
    assert image["matches"][0]["source"] == "gifct"
    assert image["matches"][0]["distance"] <= 31
    assert text["kind"] == "text"
    assert text["matches"]
    assert "no such file" in run("scan", str(tmp_path / "missing.png"), expect=2).stderr


def test_rules_test_passes_on_the_starter_set_and_fails_on_a_broken_file(run: Run, tmp_path: Path) -> None:
    broken = tmp_path / "broken.toml"
    broken.write_text(
        'schema_version = 1\n[[rule]]\nid = "x"\ndescription = "d"\n'
        'category = "STATEMENT_CATEGORY_SCAMS_AND_FRAUD"\naction = "review"\npatterns = ["(unclosed"]\n'
        '[rule.examples]\nmatch = ["a"]\n'
    )
    assert "failing" in run("rules", "test").stdout
    assert "broken.toml:7" in run("rules", "test", str(broken), expect=2).stderr


def test_a_platform_token_is_shown_once_and_can_be_revoked(run: Run) -> None:
    created = run("platform-token", "create", "synapse").stdout
    assert "tdp_" in created
    run("platform-token", "create", "synapse", expect=2)
    run("platform-token", "revoke", "synapse")
    run("platform-token", "revoke", "synapse", expect=2)
