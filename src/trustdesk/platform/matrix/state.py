"""The Matrix connector's own state: the holds it placed and the account actions it took.

Synapse has no notion of a legal hold, so the connector keeps its holds (with their sealed snapshots) and
its record of account actions in one JSON file, replaced atomically on every change.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from trustdesk.platform.matrix.stream import iso
from trustdesk.platform.protocol import AccountAction, Hold, Period
from trustdesk.vocabulary import DataCategory


@dataclass
class ActionRecord:
    account_id: str
    action: AccountAction
    reason: str
    at: datetime


def save_state(path: Path, holds: Iterable[Hold], actions: Sequence[ActionRecord]) -> None:
    document = {
        "holds": [
            {
                "hold_id": hold.hold_id,
                "account_id": hold.account_id,
                "categories": sorted(hold.categories),
                "start": iso(hold.period.start),
                "end": iso(hold.period.end),
                "placed_at": iso(hold.placed_at),
                "expires_at": iso(hold.expires_at),
                "snapshot": hold.snapshot.decode("utf-8"),
                "snapshot_sha256": hold.snapshot_sha256,
            }
            for hold in holds
        ],
        "actions": [
            {"account_id": a.account_id, "action": a.action.value, "reason": a.reason, "at": iso(a.at)}
            for a in actions
        ],
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(document, sort_keys=True), encoding="utf-8")
    temporary.replace(path)


def load_state(path: Path) -> tuple[dict[str, Hold], list[ActionRecord]]:
    """The holds by id and the action records in ``path``; empty when there is no file yet."""
    if not path.exists():
        return {}, []
    document = json.loads(path.read_text(encoding="utf-8"))
    holds = {
        item["hold_id"]: Hold(
            hold_id=item["hold_id"],
            account_id=item["account_id"],
            categories=frozenset(DataCategory(c) for c in item["categories"]),
            period=Period(datetime.fromisoformat(item["start"]), datetime.fromisoformat(item["end"])),
            placed_at=datetime.fromisoformat(item["placed_at"]),
            expires_at=datetime.fromisoformat(item["expires_at"]),
            snapshot=item["snapshot"].encode("utf-8"),
            snapshot_sha256=item["snapshot_sha256"],
        )
        for item in document.get("holds", [])
    }
    actions = [
        ActionRecord(
            a["account_id"], AccountAction(a["action"]), a["reason"], datetime.fromisoformat(a["at"])
        )
        for a in document.get("actions", [])
    ]
    return holds, actions
