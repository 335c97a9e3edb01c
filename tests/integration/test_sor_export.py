"""``trustdesk sor export``: the stored statements as JSON lines, exactly as stored, within the days."""

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from tests.clitools import cli_env
from trustdesk.authorities.models import new_id
from trustdesk.cli import app
from trustdesk.db import make_engine, make_session_factory, unit_of_work
from trustdesk.safety.models import Case, ModerationDecision, StatementRecord
from trustdesk.safety.vocabulary import CaseStatus, ContentKind


@pytest.fixture
def env(database_url: str, tmp_path: Path) -> dict[str, str]:
    return cli_env(database_url, tmp_path)


def store(sessions: sessionmaker[Session], at: datetime, body: dict[str, Any]) -> None:
    with unit_of_work(sessions) as session:
        case = Case(
            event_key=f"t:{new_id()}", status=CaseStatus.DECIDED, priority=50, content_kind=ContentKind.TEXT,
            account_id="1", chat_id="1", locator="ref://chat/1/message/1", blur=False, auto_removed=False,
            opened_at=at,
        )  # fmt: skip
        session.add(case)
        session.flush()
        decision = ModerationDecision(
            case_id=case.id, decided_by="x", decided_at=at, restrictions=["remove"], explanation="e"
        )
        session.add(decision)
        session.flush()
        session.add(
            StatementRecord(
                decision_id=decision.id, account_id="1", puid=body["puid"], body=body, created_at=at,
                appeal_until=at, appeal_key_hash=new_id(),
            )
        )  # fmt: skip


def test_statements_are_exported_as_json_lines_between_the_days(
    env: dict[str, str], database_url: str, tmp_path: Path
) -> None:
    engine = make_engine(database_url)
    sessions = make_session_factory(engine)
    for day, puid in ((1, "a"), (2, "b"), (3, "c")):
        store(sessions, datetime(2026, 11, day, 23, 59, tzinfo=UTC), {"puid": puid, "decision_ground": "X"})
    runner = CliRunner()
    out = tmp_path / "sor.jsonl"
    result = runner.invoke(
        app, ["sor", "export", "--since", "2026-11-02", "--until", "2026-11-03", "--out", str(out)], env=env
    )
    assert result.exit_code == 0, result.output
    lines = out.read_text().splitlines()
    assert [json.loads(line) for line in lines] == [
        {"puid": "b", "decision_ground": "X"},
        {"puid": "c", "decision_ground": "X"},
    ]
    everything = runner.invoke(app, ["sor", "export", "--since", "2026-01-01"], env=env)
    assert [json.loads(line)["puid"] for line in everything.stdout.splitlines()] == ["a", "b", "c"]
    for bad in (["--since", "2026-11"], ["--since", "2026-11-03", "--until", "2026-11-01"]):
        refused = runner.invoke(app, ["sor", "export", *bad, "--out", str(tmp_path / "no.jsonl")], env=env)
        assert refused.exit_code == 2
        assert not (tmp_path / "no.jsonl").exists()
    engine.dispose()
