"""The leaves of the transparency log, as exact canonical JSON (pure).

A receipt leaf commits to a request without telling anything about it but its agency's country and its
day::

    {"commitment":"<hex SHA-256(salt || receipt)>","country":"FR","day":"2026-11-02","kind":"receipt","v":1}

where ``receipt`` is the canonical JSON ``{"instrument":…,"received_at":…,"tracking_number":…}`` and the
salt 32 random bytes that only the authority and the platform hold: without it nobody can test a guessed
tracking number against the log. An audit-head leaf anchors the hash-chained audit log::

    {"hash":"<the audit event's hash>","kind":"audit_head","seq":1234,"v":1}

Canonical JSON: keys sorted, no spaces, UTF-8, ``ensure_ascii=False``; the leaf hash is RFC 9162's.
"""

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from trustdesk.transparency.merkle import leaf_hash

__all__ = [
    "AUDIT_HEAD",
    "RECEIPT",
    "VERSION",
    "LeafError",
    "audit_leaf",
    "canonical",
    "commitment",
    "hash_of",
    "parse_leaf",
    "receipt_json",
    "receipt_leaf",
    "timestamp",
]

VERSION = 1
RECEIPT = "receipt"
AUDIT_HEAD = "audit_head"
SALT_SIZE = 32
_HEX64 = re.compile(r"[0-9a-f]{64}")
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


class LeafError(ValueError):
    """Not a leaf of this log (malformed, unknown kind or version)."""


def canonical(value: dict[str, Any]) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def timestamp(moment: datetime) -> str:
    """RFC 3339 in UTC with microseconds and ``Z``: ``2026-11-02T09:00:00.000000Z``."""
    if moment.tzinfo is None:
        raise ValueError("receipts are stamped with aware times only")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def receipt_json(*, received_at: datetime, tracking_number: str, instrument: str) -> str:
    """The canonical receipt the authority keeps: when, which request, under which instrument."""
    return canonical(
        {"received_at": timestamp(received_at), "tracking_number": tracking_number, "instrument": instrument}
    )


def commitment(salt: bytes, receipt: str) -> str:
    """``hex(SHA-256(salt || receipt))``."""
    if len(salt) != SALT_SIZE:
        raise LeafError(f"a receipt's salt is {SALT_SIZE} bytes, got {len(salt)}")
    return hashlib.sha256(salt + receipt.encode()).hexdigest()


def receipt_leaf(*, salt: bytes, receipt: str, country: str, received_at: datetime) -> str:
    day = received_at.astimezone(UTC).date().isoformat()
    return canonical(
        {
            "commitment": commitment(salt, receipt),
            "country": country,
            "day": day,
            "kind": RECEIPT,
            "v": VERSION,
        }
    )


def audit_leaf(*, seq: int, hash_: str) -> str:
    return canonical({"hash": hash_, "kind": AUDIT_HEAD, "seq": seq, "v": VERSION})


def hash_of(leaf: str) -> str:
    """The RFC 9162 leaf hash of a leaf's exact text, in hex."""
    return leaf_hash(leaf.encode()).hex()


@dataclass(frozen=True)
class Leaf:
    kind: str
    fields: dict[str, Any]


def parse_leaf(text: str) -> Leaf:
    """The leaf's fields, checked: known kind and version, exactly its keys, and canonical text."""
    try:
        value = json.loads(text)
    except ValueError:
        raise LeafError("the leaf is not JSON") from None
    if not isinstance(value, dict) or value.get("v") != VERSION or canonical(value) != text:
        raise LeafError("the leaf is not a canonical version-1 leaf")
    kind = value.get("kind")
    if kind == RECEIPT:
        ok = (
            set(value) == {"commitment", "country", "day", "kind", "v"}
            and isinstance(value["commitment"], str)
            and bool(_HEX64.fullmatch(value["commitment"]))
            and isinstance(value["country"], str)
            and isinstance(value["day"], str)
            and bool(_DAY.fullmatch(value["day"]))
        )
    elif kind == AUDIT_HEAD:
        ok = (
            set(value) == {"hash", "kind", "seq", "v"}
            and isinstance(value["seq"], int)
            and isinstance(value["hash"], str)
            and bool(_HEX64.fullmatch(value["hash"]))
        )
    else:
        ok = False
    if not ok:
        raise LeafError(f"the leaf is not a well-formed {kind!r} leaf")
    return Leaf(str(kind), value)
