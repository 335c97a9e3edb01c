"""Payloads on the wire (a JSON object of strings) and the shape of a dead letter, shared by both buses."""

import json
from datetime import UTC, datetime

from trustdesk.bus.protocol import Payload


def check(payload: Payload) -> dict[str, str]:
    """A copy of ``payload``, refusing anything but strings (events carry ids, not objects)."""
    copy = dict(payload)
    for key, value in copy.items():
        if not isinstance(key, str) or not isinstance(value, str):
            raise TypeError(f"bus payloads map str to str; got {key!r}: {type(value).__name__}")
    return copy


def encode(payload: Payload) -> bytes:
    return json.dumps(check(payload), separators=(",", ":"), ensure_ascii=False).encode()


def decode(data: bytes) -> dict[str, str]:
    """The payload in ``data``; `ValueError` when it is not a JSON object of strings."""
    try:
        value = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"undecodable payload: {exc}") from exc
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise ValueError("undecodable payload: not a JSON object of strings")
    return value


def describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"[:2000]


def dead_letter_payload(
    *, subject: str, group: str, error: str, attempts: int, data: bytes, where: str
) -> dict[str, str]:
    """What ``deadletter.<subject>`` carries: enough to see why and to republish by hand.

    ``payload`` is the original payload as JSON text; ``where`` says where it was (stream and sequence).
    """
    return {
        "subject": subject,
        "group": group,
        "error": error,
        "attempts": str(attempts),
        "payload": data.decode(errors="replace"),
        "where": where,
        "failed_at": datetime.now(UTC).isoformat(),
    }
