"""The legal team's CLI on the demo data: show, decide, approve (four eyes), execute, answer, sla, verify."""

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.clitools import cli, cli_env
from tests.factories import PDF
from trustdesk.app import build_container
from trustdesk.authorities.models import Officer
from trustdesk.config import Settings
from trustdesk.db import unit_of_work
from trustdesk.lawful import service
from trustdesk.web.app import create_app


def attach_order(settings: Settings, tracking: str) -> None:
    """The requesting officer attaches the signed order (the demo's requests come without one)."""
    container = build_container(settings)
    try:
        with unit_of_work(container.sessions) as session:
            request = service.get_by_tracking_number(session, tracking)
            officer = session.scalars(select(Officer).where(Officer.agency_id == request.agency_id)).first()
            assert officer is not None
            service.attach_document(
                session, container.clock, officer, tracking, filename="order.pdf",
                content_type="application/pdf", content=PDF, max_bytes=settings.max_document_bytes,
            )  # fmt: skip
    finally:
        container.engine.dispose()


@pytest.fixture
def env(database_url: str, tmp_path: Path) -> dict[str, str]:
    return cli_env(database_url, tmp_path)


def test_an_emergency_epoc_is_decided_approved_executed_and_answered_from_the_cli(
    env: dict[str, str], tmp_path: Path
) -> None:
    demo = json.loads(cli(env, "demo", "--users", "40", "--json").stdout)
    requests = json.loads(cli(env, "request", "list", "--json").stdout)
    epoc = next(r["tracking_number"] for r in requests if r["instrument"] == "EU_EPOC")

    shown = json.loads(cli(env, "request", "show", epoc, "--json").stdout)
    assert shown["recommendation"]["outcome"] == "comply"
    assert [r["rule_id"] for r in shown["recommendation"]["rules_fired"]]
    assert "recommend  comply" in cli(env, "request", "show", epoc).stdout

    sla = json.loads(cli(env, "sla", "--json").stdout)
    assert sla[0]["instrument"] == "EU_TCO_REMOVAL"  # least time left first

    settings = Settings(**{k.removeprefix("TRUSTDESK_").lower(): v for k, v in env.items()})
    attach_order(settings, epoc)
    shown = json.loads(cli(env, "request", "show", epoc, "--json").stdout)
    reviewer = ("--as", "reviewer@platform.example")
    undecided = cli(env, "request", "decide", epoc, *reviewer, "--outcome", "comply", expect=2)
    assert "open the signed order before deciding" in undecided.stderr
    assert shown["documents"]
    for document in shown["documents"]:
        out = tmp_path / f"{document['id']}.pdf"
        opened = cli(env, "request", "document", epoc, document["id"], "--as", "reviewer@platform.example",
                     "--out", str(out)).stdout  # fmt: skip
        assert document["sha256"] in opened
        assert out.read_bytes().startswith(b"%PDF")
    decided = json.loads(
        cli(
            env,
            "request",
            "decide",
            epoc,
            "--as",
            "reviewer@platform.example",
            "--outcome",
            "comply",
            "--documents-confirmed",
            "--json",
        ).stdout
    )
    assert decided["status"] == "awaiting_approval"
    assert decided["recommendation"]["outcome"] == "comply"
    refused = cli(env, "request", "approve", epoc, "--as", "reviewer@platform.example", expect=2)
    assert "staff:request:approve" in refused.stderr
    cli(env, "request", "approve", epoc, "--as", "approver@platform.example")
    executed = json.loads(
        cli(env, "request", "execute", epoc, "--as", "reviewer@platform.example", "--json").stdout
    )
    assert executed["production"]
    cli(env, "request", "answer", epoc, "--as", "reviewer@platform.example")
    assert json.loads(cli(env, "request", "show", epoc, "--json").stdout)["status"] == "answered"

    officer = next(o for o in demo["officers"] if o["country"] == "FR")
    container = build_container(Settings(**{k.removeprefix("TRUSTDESK_").lower(): v for k, v in env.items()}))
    with TestClient(create_app(container)) as client:
        package = client.get(
            f"/api/v1/requests/{epoc}/production", headers={"Authorization": f"Bearer {officer['api_key']}"}
        )
    container.engine.dispose()
    assert package.status_code == 200
    path = tmp_path / "production.tar.age"
    path.write_bytes(package.content)
    pem = tmp_path / "platform.pem"
    pem.write_text(cli(env, "public-key").stdout)

    verified = cli(
        env,
        "production",
        "verify",
        str(path),
        "--identity",
        officer["age_identity_file"],
        "--public-key",
        str(pem),
    )
    assert "package VERIFIED" in verified.stdout
    tampered = tmp_path / "tampered.tar.age"
    tampered.write_bytes(package.content[:-40] + bytes(40))
    assert (
        "error:"
        in cli(
            env, "production", "verify", str(tampered), "--identity", officer["age_identity_file"], expect=2
        ).stderr
    )


def test_staff_commands_refuse_unknown_users_and_illegal_steps(env: dict[str, str]) -> None:
    cli(env, "demo", "--users", "20")
    epoc = next(
        r["tracking_number"]
        for r in json.loads(cli(env, "request", "list", "--json").stdout)
        if r["instrument"] == "EU_EPOC"
    )
    assert (
        "no active staff user"
        in cli(
            env, "request", "decide", epoc, "--as", "ghost@platform.example", "--outcome", "comply", expect=2
        ).stderr
    )
    assert (
        "only approved requests"
        in cli(env, "request", "execute", epoc, "--as", "reviewer@platform.example", expect=2).stderr
    )
    monitor = cli(env, "monitor", "--once").stdout
    assert "alert(s)" in monitor


def test_the_conflict_register_and_the_clarification_kind_from_the_cli(env: dict[str, str]) -> None:
    assert json.loads(cli(env, "conflicts", "--json").output) == []
    assert "no conflicts recorded" in cli(env, "conflicts").output
    helped = cli(env, "request", "clarify", "--help").output
    assert "incomplete_order" in helped
    assert "desk_question" in helped
    cli(env, "request", "clarify", "TD-X", "--as", "a@b.example", "--question", "?", "--kind", "x", expect=2)


def test_a_tco_order_is_scrutinised_and_complained_about_from_the_cli(env: dict[str, str]) -> None:
    """TCO Art. 4 and 10 from the command line, on the demo's cross-border order (DE; the EU legal
    representative sits in BE)."""
    cli(env, "demo", "--users", "20")
    tco = next(
        r["tracking_number"]
        for r in json.loads(cli(env, "request", "list", "--json").stdout)
        if r["instrument"] == "EU_TCO_REMOVAL"
    )
    reviewer = ("--as", "reviewer@platform.example")
    assert (
        "no active staff user"
        in cli(
            env, "removal", "scrutiny", tco, "--as", "ghost@platform.example", "--note", "x", expect=2
        ).stderr
    )
    cli(env, "request", "decide", tco, *reviewer, "--outcome", "comply")
    cli(env, "request", "execute", tco, *reviewer)
    asked = json.loads(cli(env, "removal", "scrutiny", tco, *reviewer, "--note", "satire", "--json").stdout)
    assert asked["decision_due_at"]
    assert (
        "no_infringement"
        in cli(env, "removal", "scrutiny-decision", tco, *reviewer, "--outcome", "x", expect=2).output
    )
    decided = json.loads(
        cli(
            env, "removal", "scrutiny-decision", tco, *reviewer, "--outcome", "no_infringement", "--json"
        ).stdout
    )
    assert decided["reinstated"] == []

    shown = json.loads(cli(env, "request", "show", tco, "--json").stdout)
    removal = shown["removals"][0]["id"]
    assert (
        "no removal"
        in cli(env, "removal", "complaint", tco, "nope", *reviewer, "--body", "news", expect=2).stderr
    )
    made = json.loads(
        cli(env, "removal", "complaint", tco, removal, *reviewer, "--body", "This is news.", "--json").stdout
    )
    answer = ("removal", "answer", tco, made["complaint_id"], *reviewer)
    cli(env, *answer, "--answer", "  ", "--upheld", expect=2)
    assert json.loads(cli(env, *answer, "--answer", "Counsel agrees.", "--upheld", "--json").stdout)["upheld"]
    cli(env, *answer, "--answer", "Again.", "--dismissed", expect=2)
    shown = json.loads(cli(env, "request", "show", tco, "--json").stdout)
    assert shown["removals"][0]["reinstated_at"] is not None
    assert [c["upheld"] for c in shown["complaints"]] == [True]
    kinds = {w["kind"]: w["outcome"] for w in shown["windows"]}
    assert kinds["scrutiny_request"] == "requested"
    assert kinds["scrutiny_decision"] == "no_infringement"
    assert kinds["complaint"] == "upheld"
