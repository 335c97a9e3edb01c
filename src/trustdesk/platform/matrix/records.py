"""Accounts and export records of the Matrix connector: Synapse's user objects as protocol values."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from trustdesk.platform.matrix.stream import from_ms, iso
from trustdesk.platform.protocol import Account, AccountStatus, ExportRecord, FieldValue
from trustdesk.vocabulary import DataCategory


def created_at(user: Mapping[str, Any]) -> datetime:
    value = int(user.get("creation_ts") or 0)
    return from_ms(value if value > 100_000_000_000 else value * 1000)  # seconds in older Synapse


def status_of(user: Mapping[str, Any]) -> AccountStatus:
    if user.get("deactivated") or user.get("locked"):
        return AccountStatus.TERMINATED
    if user.get("suspended"):
        return AccountStatus.SUSPENDED
    if user.get("shadow_banned"):
        return AccountStatus.RESTRICTED
    return AccountStatus.ACTIVE


def threepid(user: Mapping[str, Any], medium: str) -> str | None:
    for item in user.get("threepids") or []:
        if item.get("medium") == medium:
            address = str(item.get("address"))
            return "+" + address.lstrip("+") if medium == "msisdn" else address
    return None


def account_of(user: Mapping[str, Any]) -> Account:
    user_id = str(user["name"])
    return Account(
        platform_id=user_id,
        username=user_id[1:].split(":", 1)[0],
        phone=threepid(user, "msisdn"),
        display_name=user.get("displayname"),
        created_at=created_at(user),
        status=status_of(user),
    )


def record(
    category: DataCategory, kind: str, moment: datetime | None, /, **fields: FieldValue
) -> ExportRecord:
    return ExportRecord(category=category, kind=kind, fields=fields, at=moment)


def subscriber_record(user: Mapping[str, Any]) -> ExportRecord:
    account = account_of(user)
    return record(
        DataCategory.SUBSCRIBER,
        "account",
        None,
        platform_id=account.platform_id,
        username=account.username,
        phone=account.phone,
        email=threepid(user, "email"),
        display_name=account.display_name,
        registered_at=iso(account.created_at),
        status=account.status.value,
    )
