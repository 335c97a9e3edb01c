"""The Matrix connector's own state file: holds and account actions survive a restart, byte for byte."""

from datetime import UTC, datetime, timedelta
from pathlib import Path

from trustdesk.platform.matrix.state import ActionRecord, load_state, save_state
from trustdesk.platform.protocol import AccountAction, Hold, Period, sha256_hex
from trustdesk.vocabulary import DataCategory

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def test_holds_and_actions_round_trip_through_the_file(tmp_path: Path) -> None:
    snapshot = b'{"account_id":"@a:x","records":[]}'
    hold = Hold(
        hold_id="H-1", account_id="@a:x",
        categories=frozenset({DataCategory.TRAFFIC, DataCategory.SUBSCRIBER}),
        period=Period(T0 - timedelta(days=30), T0), placed_at=T0, expires_at=T0 + timedelta(days=90),
        snapshot=snapshot, snapshot_sha256=sha256_hex(snapshot),
    )  # fmt: skip
    action = ActionRecord("@a:x", AccountAction.SUSPEND, "TCO order TD-1", T0)
    path = tmp_path / "state" / "matrix-connector-state.json"

    save_state(path, [hold], [action])
    holds, actions = load_state(path)

    assert holds == {"H-1": hold}
    assert holds["H-1"].snapshot_intact()
    assert actions == [action]
    assert not path.with_suffix(".tmp").exists()


def test_no_file_yet_means_no_state(tmp_path: Path) -> None:
    assert load_state(tmp_path / "missing.json") == ({}, [])
