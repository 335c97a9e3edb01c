"""The ``trustdesk`` command in tests: an environment of its own (database, reference platform, signing
key) and a runner that checks the exit code."""

from pathlib import Path
from typing import Any

from typer.testing import CliRunner


def cli_env(database_url: str, tmp_path: Path) -> dict[str, str]:
    return {
        "TRUSTDESK_ENVIRONMENT": "development",
        "TRUSTDESK_DATABASE_URL": database_url,
        "TRUSTDESK_REFERENCE_PLATFORM_URL": f"sqlite:///{tmp_path}/platform.db",
        "TRUSTDESK_SIGNING_KEY_PATH": f"{tmp_path}/signing.pem",
    }


def cli(env: dict[str, str], *args: str, expect: int = 0) -> Any:
    from trustdesk.cli import app

    result = CliRunner().invoke(app, list(args), env=env)
    assert result.exit_code == expect, (result.output, result.stderr)
    return result
