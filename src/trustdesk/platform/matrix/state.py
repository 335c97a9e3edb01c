"""The Matrix connector's own state: the holds it placed, the account actions it took and the content it
removed.

Synapse has no notion of a legal hold, so the connector keeps its holds (with their sealed snapshots) and
its record of account actions in one JSON file, replaced atomically on every change. A redaction strips
an event's content for good, so before redacting the connector keeps the event's content here
(`Preserved`): a later restore republishes it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from trustdesk.platform.matrix.stream import iso
from trustdesk.platform.protocol import AccountAction, Hold, Period
from trustdesk.vocabulary import DataCategory


@dataclass
class ActionRecord:
    account_id: str
    action: AccountAction
    reason: str
    at: datetime


@dataclass
class Preserved:
    """What a removal took away, kept to restore it: for a message, its sender, content and time; for a
    room, its creator (``sender``) and in ``content`` its local members, name, topic and join rule (a
    shutdown clears the room's state but not its events, which stay readable by the admin).

    ``restored_as`` is the locator the content was republished at (None until restored)."""

    locator: str
    sender: str
    content: Mapping[str, Any] = field(default_factory=dict)
    sent_ms: int = 0
    removed_at: datetime | None = None
    restored_as: str | None = None


def save_state(
    path: Path,
    holds: Iterable[Hold],
    actions: Sequence[ActionRecord],
    preserved: Iterable[Preserved] = (),
) -> None:
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
        "preserved": [
            {
                "locator": p.locator,
                "sender": p.sender,
                "content": dict(p.content),
                "sent_ms": p.sent_ms,
                "removed_at": None if p.removed_at is None else iso(p.removed_at),
                "restored_as": p.restored_as,
            }
            for p in preserved
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


def load_preserved(path: Path) -> dict[str, Preserved]:
    """The preserved content by locator in ``path``; empty when there is no file yet (files written
    before content was preserved have none)."""
    if not path.exists():
        return {}
    document = json.loads(path.read_text(encoding="utf-8"))
    return {
        item["locator"]: Preserved(
            locator=item["locator"],
            sender=item["sender"],
            content=dict(item.get("content") or {}),
            sent_ms=int(item.get("sent_ms") or 0),
            removed_at=None if not item.get("removed_at") else datetime.fromisoformat(item["removed_at"]),
            restored_as=item.get("restored_as"),
        )
        for item in document.get("preserved", [])
    }
