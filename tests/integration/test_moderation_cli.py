"""Due process from the command line, on the demo data: the queue, claims, a decision enforced on the
reference platform, four eyes on an appeal, trusted flaggers; bad input exits 2 and changes nothing."""

import json
from pathlib import Path

import pytest

from tests.clitools import cli, cli_env


@pytest.fixture
def env(database_url: str, tmp_path: Path) -> dict[str, str]:
    return cli_env(database_url, tmp_path)


def test_the_demo_queue_is_decided_and_appealed_from_the_cli(env: dict[str, str]) -> None:
    demo = json.loads(cli(env, "demo", "--users", "30", "--json").stdout)
    assert demo["moderation"]["notices"] == 4
    queue = json.loads(cli(env, "case", "list", "--json").stdout)
    first = queue[0]
    assert first["source"] == "trusted_flagger"  # the terrorist-content notice of the trusted flagger
    assert first["keyword"] == "KEYWORD_TERRORIST_CONTENT"
    assert [n["outcome"] for n in json.loads(cli(env, "notice", "list", "--json").stdout)].count(None) == 2

    mo, lea = ("--as", "moderator@platform.example"), ("--as", "lead@platform.example")
    decide = ("case", "decide", first["id"], "--explanation", "It praises an attack and calls for more.",
              "--restriction", "remove", "--ground", "illegal_content",
              "--legal-ground", "Directive (EU) 2017/541 Art. 5",
              "--category", "STATEMENT_CATEGORY_RISK_FOR_PUBLIC_SECURITY",
              "--keyword", "KEYWORD_TERRORIST_CONTENT")  # fmt: skip
    assert "claim case" in cli(env, *decide, *mo, expect=2).stderr
    cli(env, "case", "claim", first["id"], *mo)
    assert "claimed by another" in cli(env, "case", "claim", first["id"], *lea, expect=2).stderr
    assert (
        "ground"
        in cli(
            env, "case", "decide", first["id"], *mo, "--explanation", "x", "--restriction", "remove", expect=2
        ).stderr
    )
    decided = cli(env, *decide, *mo).stdout
    assert "decided" in decided
    assert "remove_content:remove" in decided
    assert "done" in decided
    shown = json.loads(cli(env, "case", "show", first["id"], "--json").stdout)
    assert shown["decisions"][0]["steps"] == {
        "remove_content:remove": "done",
        "send_notice:statement": "done",
    }

    (appeal,) = json.loads(cli(env, "appeal", "list", "--json").stdout)
    assert appeal["appellant"] == "notifier"
    refused = cli(env, "appeal", "decide", appeal["id"], *mo, "--answer", "No.", "--dismiss", expect=2)
    assert "different person" in refused.stderr
    told = cli(
        env, "appeal", "decide", appeal["id"], *lea, "--answer", "It accuses him of a crime.", "--grant"
    )
    assert "granted" in told.stdout
    assert "out-of-court" in told.stdout
    assert json.loads(cli(env, "appeal", "list", "--json").stdout) == []

    flaggers = json.loads(cli(env, "flagger", "list", "--json").stdout)
    assert [f["name"] for f in flaggers] == ["Demo Online Safety Helpline"]
    cli(
        env,
        "flagger",
        "add",
        "--name",
        "X",
        "--country",
        "US",
        "--email",
        "x@example.org",
        "--expertise",
        "STATEMENT_CATEGORY_SCAMS_AND_FRAUD",
        expect=2,
    )
    cli(env, "flagger", "revoke", flaggers[0]["id"])
    cli(env, "flagger", "revoke", flaggers[0]["id"], expect=2)


def test_a_threat_to_life_found_in_review_is_listed_for_the_legal_team(env: dict[str, str]) -> None:
    cli(env, "demo", "--users", "30")
    case = json.loads(cli(env, "case", "list", "--json").stdout)[0]
    mo = ("--as", "moderator@platform.example")
    cli(env, "case", "claim", case["id"], *mo)
    cli(env, "case", "decide", case["id"], *mo, "--explanation", "It names a station and a time.",
        "--restriction", "remove", "--ground", "illegal_content", "--legal-ground", "Directive (EU) 2017/541",
        "--category", "STATEMENT_CATEGORY_RISK_FOR_PUBLIC_SECURITY",
        "--threat-to-life", "--threat-country", "DE")  # fmt: skip
    (threat,) = json.loads(cli(env, "threat", "list", "--unsent", "--json").stdout)
    assert threat["recipients"] == ["law enforcement of DE"]
    cli(env, "threat", "sent", threat["reference"], "--channel", "BKA 24/7 line")
    assert json.loads(cli(env, "threat", "list", "--unsent", "--json").stdout) == []
    assert "sent" in cli(env, "threat", "list").stdout
    cli(env, "threat", "sent", threat["reference"], "--channel", "again", expect=2)
