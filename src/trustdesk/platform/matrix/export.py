"""The export of a Matrix account's data: subscriber, identification, traffic and content records read
from Synapse's admin API.

Identification is the registration and every connection Synapse saw (``whois``); traffic is the
account's memberships, the messages it sent (and, in a private room, received) and its devices; content
is the messages it sent, without those removed worldwide (redacted, or in a shut-down room).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from trustdesk.platform.matrix.api import SynapseApi, quote
from trustdesk.platform.matrix.records import created_at, record, subscriber_record
from trustdesk.platform.matrix.stream import from_ms, iso, message_fields, message_locator
from trustdesk.platform.protocol import ExportRecord, Period
from trustdesk.vocabulary import DataCategory


def export_records(
    api: SynapseApi, user: Mapping[str, Any], wanted: frozenset[DataCategory], period: Period
) -> list[ExportRecord]:
    """The records of ``wanted`` categories of the Synapse user ``user`` in ``period`` (unsorted)."""
    user_id = str(user["name"])
    records: list[ExportRecord] = []
    if DataCategory.SUBSCRIBER in wanted:
        records.append(subscriber_record(user))
    if DataCategory.IDENTIFICATION in wanted:
        records.extend(_identification_records(api, user, period))
    if DataCategory.TRAFFIC in wanted or DataCategory.CONTENT in wanted:
        rooms = api.rooms_of(user_id)
        if DataCategory.TRAFFIC in wanted:
            records.extend(_traffic_records(api, user_id, rooms, period))
        if DataCategory.CONTENT in wanted:
            records.extend(_content_records(api, user_id, rooms, period))
    return records


def _identification_records(api: SynapseApi, user: Mapping[str, Any], period: Period) -> list[ExportRecord]:
    user_id = str(user["name"])
    records: list[ExportRecord] = []
    created = created_at(user)
    if period.contains(created):
        records.append(record(DataCategory.IDENTIFICATION, "registration", created, ip=None, at=iso(created)))
    whois = api.call("GET", f"/_synapse/admin/v1/whois/{quote(user_id)}")
    for device_id, device in sorted(whois.get("devices", {}).items()):
        for session in device.get("sessions", []):
            for connection in session.get("connections", []):
                seen = connection.get("last_seen")
                if not isinstance(seen, int):
                    continue
                at = from_ms(seen)
                if period.contains(at):
                    records.append(
                        record(
                            DataCategory.IDENTIFICATION,
                            "session",
                            at,
                            session_id=device_id or None,
                            ip=connection.get("ip"),
                            port=None,  # Synapse does not keep source ports
                            user_agent=connection.get("user_agent"),
                            at=iso(at),
                        )
                    )
    return records


def _traffic_records(
    api: SynapseApi, user_id: str, rooms: Mapping[str, str], period: Period
) -> list[ExportRecord]:
    records: list[ExportRecord] = []
    for room_id, membership in sorted(rooms.items()):
        members = api.members(room_id)
        others = [member for member in members if member != user_id]
        private = len(members) <= 2 and len(others) == 1
        kind = "private" if private else "group"
        counterpart = others[0] if private else None
        member_event = api.state_event(room_id, "m.room.member", user_id)
        since = None if member_event is None else from_ms(int(member_event["origin_server_ts"]))
        if since is not None and since < period.end:
            records.append(
                record(
                    DataCategory.TRAFFIC,
                    "membership",
                    None,
                    chat_id=room_id,
                    chat_kind=kind,
                    membership=membership,
                    counterpart_id=counterpart,
                    joined_at=iso(since),
                )
            )
        for event in api.messages(room_id):
            at = from_ms(int(event["origin_server_ts"]))
            sent = event.get("sender") == user_id
            if not period.contains(at) or not (sent or private):
                continue
            records.append(
                record(
                    DataCategory.TRAFFIC,
                    "communication",
                    at,
                    message_id=str(event["event_id"]),
                    chat_id=room_id,
                    chat_kind=kind,
                    direction="sent" if sent else "received",
                    counterpart_id=counterpart if sent else str(event.get("sender")),
                    at=iso(at),
                )
            )
    devices = api.get_or_none(f"/_synapse/admin/v2/users/{quote(user_id)}/devices")
    for device in [] if not isinstance(devices, dict) else devices.get("devices", []):
        seen = device.get("last_seen_ts")
        if isinstance(seen, int) and period.contains(from_ms(seen)):
            at = from_ms(seen)
            records.append(
                record(
                    DataCategory.TRAFFIC,
                    "device",
                    at,
                    session_id=str(device.get("device_id")),
                    device=device.get("display_name"),
                    at=iso(at),
                )
            )
    return records


def _content_records(
    api: SynapseApi, user_id: str, rooms: Mapping[str, str], period: Period
) -> list[ExportRecord]:
    records: list[ExportRecord] = []
    for room_id in sorted(rooms):
        if api.room_blocked(room_id):  # a removed (shut down) room: preserved, not exported
            continue
        for event in api.messages(room_id):
            at = from_ms(int(event["origin_server_ts"]))
            if event.get("sender") != user_id or not period.contains(at):
                continue
            if "redacted_because" in event.get("unsigned", {}):
                continue  # removed worldwide
            _, text, mxc = message_fields(event.get("content", {}))
            records.append(
                record(
                    DataCategory.CONTENT,
                    "message",
                    at,
                    message_id=str(event["event_id"]),
                    chat_id=room_id,
                    sent_at=iso(at),
                    text=text,
                    media_sha256=None if mxc is None else api.media_sha256(mxc),
                    locator=message_locator(room_id, str(event["event_id"])),
                )
            )
    return records
