"""Preservation holds of the reference platform: placed with a sealed snapshot of the export, extended,
released; each call runs inside the caller's transaction.

While a hold is unexpired, the retention job (`trustdesk.platform.reference.retention`) keeps the data
it covers.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, delete, insert, select, update

from trustdesk.platform.protocol import (
    Hold,
    HoldConflict,
    HoldExpired,
    HoldNotFound,
    Period,
    canonical_export,
    sha256_hex,
)
from trustdesk.platform.reference.export import build_export
from trustdesk.platform.reference.store import hold_categories, holds
from trustdesk.vocabulary import DataCategory


def place_hold(
    conn: Connection,
    hold_id: str,
    account_id: str,
    wanted: frozenset[DataCategory],
    period: Period,
    expires_at: datetime,
    now: datetime,
) -> Hold:
    """The hold ``hold_id``, placed now unless it exists (then as first placed; see
    `PlatformConnector.place_hold`)."""
    existing = load_hold(conn, hold_id)
    if existing is not None:
        if (existing.account_id, existing.categories, existing.period) != (
            account_id.strip(),
            wanted,
            period,
        ):
            raise HoldConflict(f"hold {hold_id!r} exists for another account, category set or period")
        return existing
    if expires_at <= now:
        raise ValueError(f"expires_at {expires_at} is not after now ({now})")
    export = build_export(conn, account_id, wanted, period)
    snapshot = canonical_export(export)
    conn.execute(
        insert(holds).values(
            hold_id=hold_id,
            account_id=int(export.account_id),
            period_start=period.start,
            period_end=period.end,
            placed_at=now,
            expires_at=expires_at,
            snapshot=snapshot,
            snapshot_sha256=sha256_hex(snapshot),
        )
    )
    conn.execute(
        insert(hold_categories),
        [{"hold_id": hold_id, "category": category.value} for category in sorted(wanted)],
    )
    hold = load_hold(conn, hold_id)
    if hold is None:  # pragma: no cover - just inserted in the same transaction
        raise HoldNotFound(hold_id)
    return hold


def extend_hold(conn: Connection, hold_id: str, expires_at: datetime, now: datetime) -> Hold:
    hold = load_hold(conn, hold_id)
    if hold is None:
        raise HoldNotFound(hold_id)
    if hold.expires_at <= now:
        raise HoldExpired(f"hold {hold_id!r} lapsed at {hold.expires_at}")
    if expires_at <= hold.expires_at:
        raise ValueError(f"an extension must move the expiry later than {hold.expires_at}, got {expires_at}")
    conn.execute(update(holds).where(holds.c.hold_id == hold_id).values(expires_at=expires_at))
    extended = load_hold(conn, hold_id)
    if extended is None:  # pragma: no cover - updated in the same transaction
        raise HoldNotFound(hold_id)
    return extended


def release_hold(conn: Connection, hold_id: str) -> None:
    conn.execute(delete(hold_categories).where(hold_categories.c.hold_id == hold_id))
    deleted = conn.execute(delete(holds).where(holds.c.hold_id == hold_id)).rowcount
    if deleted == 0:
        raise HoldNotFound(hold_id)


def load_hold(conn: Connection, hold_id: str) -> Hold | None:
    row = conn.execute(select(holds).where(holds.c.hold_id == hold_id)).first()
    if row is None:
        return None
    categories = conn.execute(
        select(hold_categories.c.category).where(hold_categories.c.hold_id == hold_id)
    ).scalars()
    return Hold(
        hold_id=row.hold_id,
        account_id=str(row.account_id),
        categories=frozenset(DataCategory(category) for category in categories),
        period=Period(row.period_start, row.period_end),
        placed_at=row.placed_at,
        expires_at=row.expires_at,
        snapshot=bytes(row.snapshot),
        snapshot_sha256=row.snapshot_sha256,
    )
