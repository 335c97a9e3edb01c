"""The durable streams of the bus, as data: which subjects each stream holds and how long.

Every published subject must fall in exactly one stream (both buses check, so a subject that would fail on
JetStream fails in-process too). Add a domain's subjects here, not at the call sites.

Limits: file storage, one replica by default (3 in a cluster), "limits" retention so that several groups
and fan-out subscribers can read the same stream; messages are kept for ``max_age`` and, past ``max_bytes``,
the oldest are dropped. Payloads carry ids, not objects, hence the small ``max_msg_size``. A repeated
``Nats-Msg-Id`` within ``duplicate_window`` is stored once.
"""

from dataclasses import dataclass, replace
from datetime import timedelta

from trustdesk.bus.protocol import DEAD_LETTER_PREFIX, UnknownSubject

KIB = 1024
MIB = 1024 * KIB
GIB = 1024 * MIB


@dataclass(frozen=True, slots=True)
class StreamSpec:
    name: str
    subjects: tuple[str, ...]
    description: str
    max_age: timedelta
    max_bytes: int  # -1: no limit of its own (the server's/account's limits still apply)
    max_msg_size: int = 64 * KIB
    duplicate_window: timedelta = timedelta(minutes=10)


STREAMS: tuple[StreamSpec, ...] = (
    StreamSpec(
        name="CONTENT",
        subjects=("content.>",),
        description="content events from the platform (text message, image, video, file) to scan",
        max_age=timedelta(days=7),
        max_bytes=20 * GIB,
        max_msg_size=MIB,  # small images travel inline (base64, at most 512 KiB raw)
    ),
    StreamSpec(
        name="SIGNALS",
        subjects=("safety.signal.>",),
        description="what the detectors found (hash match, rule hit, classifier score)",
        max_age=timedelta(days=30),
        max_bytes=5 * GIB,
    ),
    StreamSpec(
        name="ACTIONS",
        subjects=("safety.action.>",),
        description="enforcement decided or carried out through the connector",
        max_age=timedelta(days=30),
        max_bytes=5 * GIB,
    ),
    StreamSpec(
        name="EVENTS",
        subjects=("lawful.>", "safety.bank.>", "safety.case.>", "safety.appeal.>", "transparency.>"),
        description="domain events (lawful requests, banks changed, cases, appeals, reports)",
        max_age=timedelta(days=30),
        max_bytes=5 * GIB,
    ),
    StreamSpec(
        name="DEADLETTER",
        subjects=(DEAD_LETTER_PREFIX + ">",),
        description="messages a group gave up on, with the error and the original subject",
        max_age=timedelta(days=90),
        max_bytes=5 * GIB,
        max_msg_size=256 * KIB,
    ),
)


def covers(pattern: str, subject: str) -> bool:
    """Whether every subject matching ``subject`` (itself possibly a wildcard) matches ``pattern``."""
    want, have = pattern.split("."), subject.split(".")
    for i, part in enumerate(want):
        if part == ">":
            return len(have) > i
        if i >= len(have) or have[i] == ">":
            return False
        if part not in ("*", have[i]):
            return False
    return len(want) == len(have)


def matches(pattern: str, subject: str) -> bool:
    """Whether the concrete ``subject`` matches the (wildcard) ``pattern``."""
    return covers(pattern, subject)


def stream_for(subject: str, streams: tuple[StreamSpec, ...] = STREAMS) -> StreamSpec:
    """The stream holding ``subject`` (a subject or a subscription pattern), or `UnknownSubject`."""
    if not subject or any(not part for part in subject.split(".")):
        raise UnknownSubject(f"invalid subject {subject!r}")
    for spec in streams:
        if any(covers(pattern, subject) for pattern in spec.subjects):
            return spec
    known = ", ".join(p for spec in streams for p in spec.subjects)
    raise UnknownSubject(f"subject {subject!r} belongs to no stream (known: {known}); see bus/streams.py")


def capped(streams: tuple[StreamSpec, ...], max_bytes: int) -> tuple[StreamSpec, ...]:
    """``streams`` with ``max_bytes`` each: JetStream reserves every stream's limit against its store."""
    return tuple(replace(spec, max_bytes=max_bytes) for spec in streams)
