"""Fixtures of the integration tests: the operator's CLI against a real, committed database."""

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

Run = Callable[..., Any]


@pytest.fixture
def run(database_url: str, tmp_path: Path) -> Run:
    """``run("bank", "list", expect=0)``: the ``trustdesk`` command on a fresh migrated database."""
    from trustdesk.cli import app

    runner = CliRunner()

    def invoke(*args: str, expect: int = 0) -> Any:
        env = {
            "TRUSTDESK_DATABASE_URL": database_url,
            "TRUSTDESK_SIGNING_KEY_PATH": f"{tmp_path}/signing.pem",
        }
        result = runner.invoke(app, list(args), env=env)
        assert result.exit_code == expect, (result.exit_code, result.output, result.stderr)
        return result

    return invoke
