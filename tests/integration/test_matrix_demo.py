"""`trustdesk demo --platform matrix`: a local Synapse left running, var/matrix.env, demo data against it."""

import json
import os
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from tests.synapse import VENV, ensure_synapse, require_synapse
from trustdesk.app import build_container
from trustdesk.cli import app
from trustdesk.config import PlatformKind, load_settings
from trustdesk.lawful.models import LawfulRequest
from trustdesk.lawful.review import recommendation_for
from trustdesk.platform.matrix.devserver import SynapseUnavailable
from trustdesk.policy.engine import Outcome

pytestmark = pytest.mark.slow


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_matrix_demo_serves_the_sample_requests_and_stops(database_url: str, tmp_path: Path) -> None:
    try:
        ensure_synapse()
    except (SynapseUnavailable, OSError, subprocess.SubprocessError) as exc:
        require_synapse(f"Synapse is not available here: {exc}")
    var = tmp_path / "var"
    state_dir = tmp_path / "matrix-state"
    env = {"TRUSTDESK_DATABASE_URL": database_url, "TRUSTDESK_MATRIX_STATE_DIR": str(state_dir)}
    where = ["--platform", "matrix", "--var-dir", str(var), "--synapse-venv", str(VENV)]
    runner = CliRunner()
    started = runner.invoke(app, ["demo", *where, "--users", "3", "--json"], env=env)
    pid = json.loads(started.stdout)["matrix"]["pid"] if started.exit_code == 0 else None
    try:
        assert started.exit_code == 0, started.output
        shown = json.loads(started.stdout)
        assert pid is not None
        assert _running(pid)
        assert (var / "synapse" / "synapse.pid").read_text().strip() == str(pid)
        assert shown["platform"]["users"] == 3
        assert len(shown["matrix"]["phones"]) == 3
        assert len(shown["sample_requests"]) == 3

        lines = (var / "matrix.env").read_text().splitlines()
        settings = dict(line.split("=", 1) for line in lines if line and not line.startswith("#"))
        assert settings["TRUSTDESK_PLATFORM"] == "matrix"
        assert settings["TRUSTDESK_MATRIX_BASE_URL"] == shown["matrix"]["base_url"]
        assert set(settings) == {
            "TRUSTDESK_PLATFORM",
            "TRUSTDESK_MATRIX_BASE_URL",
            "TRUSTDESK_MATRIX_ADMIN_TOKEN",
            "TRUSTDESK_MATRIX_SERVER_NAME",
            "TRUSTDESK_MATRIX_MODULE_SECRET",
        }
        assert (var / "matrix.env").stat().st_mode & 0o077 == 0

        served = load_settings(
            database_url=database_url,
            matrix_state_dir=state_dir,
            **{key.removeprefix("TRUSTDESK_").lower(): value for key, value in settings.items()},
        )
        assert served.platform is PlatformKind.MATRIX
        container = build_container(served)
        try:
            with container.sessions() as session:
                epoc = session.scalars(
                    select(LawfulRequest).where(LawfulRequest.reference == "PJ-2026-0042")
                ).one()
                assert epoc.tracking_number in shown["sample_requests"]
                assert epoc.agency.country == "FR"
                recommendation = recommendation_for(
                    epoc, container.catalogue, container.policy, container.connector
                )
        finally:
            container.engine.dispose()
        assert recommendation.outcome is Outcome.COMPLY, recommendation.grounds
    finally:
        stopped = runner.invoke(app, ["demo", *where, "--stop", "--json"], env=env)
    assert stopped.exit_code == 0, stopped.output
    assert json.loads(stopped.stdout) == {"stopped": True}
    assert pid is not None
    assert not _running(pid)
    assert not (var / "synapse" / "synapse.pid").exists()
