"""Video hashes (vPDQ): one PDQ hash per sampled frame, and deciding whether a video matches a bank.

Hashing uses ``vpdq`` (Meta's C++ vPDQ over FFmpeg's libraries), an optional extra imported only when a
video is hashed. Matching follows vPDQ's own definition: drop frames below quality 50, drop repeated
hashes, and call a video a match when at least 80 % of what is left (the *query-match percentage*)
matches the bank. The *compared-match percentage* (how much of a known video the query covers) needs the
known video's frames, so only `compare_videos` reports it; against an index it is not required (vPDQ's
default threshold for it is 0 %).

Matching takes a callback, ``match_frames(hexes) -> one bool per hash``, so that it does not depend on
how the bank is indexed; `brute_force_matcher` is a small exact one.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import tempfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from trustdesk.safety.hashing.pdq import (
    PDQ_MATCH_DISTANCE,
    PDQ_MIN_QUALITY,
    distances,
    normalize_hex,
)
from trustdesk.safety.index.hexcodec import hex_to_words
from trustdesk.safety.media import MediaError, MediaKind, sniff_file

MAX_VIDEO_BYTES = 512 * 1024 * 1024
QUERY_MATCH_PERCENT = 80.0
"""vPDQ's default: share of the query's usable frames that must match for the video to match."""
COMPARED_MATCH_PERCENT = 0.0
"""vPDQ's default for the share of the known video's frames that the query must cover."""

FrameMatcher = Callable[[list[str]], Sequence[bool]]
"""Given frame hashes in hex, whether each one matches the bank (within the bank's distance)."""


class VideoHashingUnavailable(RuntimeError):
    """The ``vpdq`` extra is not installed (it builds against FFmpeg's development libraries)."""


@dataclass(frozen=True, slots=True)
class VideoFrame:
    pdq: str
    quality: int
    timestamp: float
    """Seconds from the start of the video."""

    def __str__(self) -> str:
        """ThreatExchange's compact vPDQ feature: ``hex,quality,timestamp``."""
        return f"{self.pdq},{self.quality},{self.timestamp:.3f}"

    @classmethod
    def parse(cls, text: str) -> VideoFrame:
        """The inverse of ``str()``; `ValueError` on anything malformed."""
        parts = text.split(",")
        if len(parts) != 3:
            raise ValueError(f"not a vPDQ frame (hex,quality,timestamp): {text[:100]!r}")
        quality, timestamp = int(parts[1]), float(parts[2])
        if not 0 <= quality <= 100 or not timestamp >= 0:
            raise ValueError(f"vPDQ frame out of range: {text[:100]!r}")
        return cls(normalize_hex(parts[0]), quality, timestamp)


@dataclass(frozen=True, slots=True)
class VideoHashes:
    md5: str
    sha256: str
    frames: tuple[VideoFrame, ...]

    def to_json(self) -> str:
        """The frames as ThreatExchange's vPDQ signal string (a JSON list of ``hex,quality,timestamp``)."""
        return frames_to_json(self.frames)


def frames_to_json(frames: Iterable[VideoFrame]) -> str:
    return json.dumps([str(frame) for frame in frames])


def frames_from_json(text: str) -> tuple[VideoFrame, ...]:
    items = json.loads(text or "[]")
    if not isinstance(items, list) or not all(isinstance(item, str) for item in items):
        raise ValueError("a vPDQ signal is a JSON list of strings")
    return tuple(VideoFrame.parse(item) for item in items)


def video_hashing_available() -> bool:
    """Whether the ``vpdq`` extra is installed (without importing it)."""
    return importlib.util.find_spec("vpdq") is not None


def hash_video_file(
    path: Path,
    *,
    seconds_per_hash: float = 1.0,
    max_bytes: int = MAX_VIDEO_BYTES,
    downsample_width: int = 0,
    downsample_height: int = 0,
    thread_count: int = 1,
) -> VideoHashes:
    """vPDQ of the video file at ``path``: one frame hash every ``seconds_per_hash`` seconds.

    `MediaError` when the file is not a video or cannot be decoded; `VideoHashingUnavailable` when the
    ``vpdq`` extra is missing. ``downsample_*`` (0: keep) shrink frames before hashing, which bounds the
    cost of very large frames. ``thread_count`` 0 lets vpdq choose; the default is 1 because workers
    already run in parallel, and on a 2-core machine one thread was twice as fast as vpdq's choice
    (720p at 30 frames/s: 58 ms per second of video against 110 ms).
    """
    size = path.stat().st_size
    if size > max_bytes:
        raise MediaError(f"video of {size} bytes exceeds the limit of {max_bytes} bytes")
    if sniff_file(path) is not MediaKind.VIDEO:
        raise MediaError("not a video (no known video container signature)")
    md5, sha256 = hashlib.md5(usedforsecurity=False), hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            md5.update(chunk)
            sha256.update(chunk)
    frames = _vpdq_frames(
        path,
        seconds_per_hash=seconds_per_hash,
        downsample_width=downsample_width,
        downsample_height=downsample_height,
        thread_count=thread_count,
    )
    return VideoHashes(md5=md5.hexdigest(), sha256=sha256.hexdigest(), frames=frames)


def hash_video(
    data: bytes,
    *,
    seconds_per_hash: float = 1.0,
    max_bytes: int = MAX_VIDEO_BYTES,
    downsample_width: int = 0,
    downsample_height: int = 0,
    thread_count: int = 1,
) -> VideoHashes:
    """`hash_video_file` of bytes (vpdq reads files: they go through a private temporary file)."""
    if len(data) > max_bytes:
        raise MediaError(f"video of {len(data)} bytes exceeds the limit of {max_bytes} bytes")
    with tempfile.TemporaryDirectory(prefix="trustdesk-video-") as tmp:
        path = Path(tmp) / "video"
        path.write_bytes(data)
        return hash_video_file(
            path,
            seconds_per_hash=seconds_per_hash,
            max_bytes=max_bytes,
            downsample_width=downsample_width,
            downsample_height=downsample_height,
            thread_count=thread_count,
        )


def _vpdq_frames(
    path: Path, *, seconds_per_hash: float, downsample_width: int, downsample_height: int, thread_count: int
) -> tuple[VideoFrame, ...]:
    if not seconds_per_hash >= 0:
        raise ValueError("seconds_per_hash must be ≥ 0 (0: every frame)")
    try:
        import vpdq  # type: ignore[import-not-found]
    except ImportError as exc:
        raise VideoHashingUnavailable(
            "video hashing needs the 'vpdq' package (pip install vpdq; it builds against FFmpeg's "
            "development libraries: pkg-config libavformat-dev libavcodec-dev libavutil-dev "
            "libswscale-dev libavfilter-dev libavdevice-dev libswresample-dev)"
        ) from exc
    try:
        features = vpdq.computeHash(
            str(path),
            seconds_per_hash=seconds_per_hash,
            downsample_width=downsample_width,
            downsample_height=downsample_height,
            thread_count=thread_count,
        )
    except Exception as exc:  # vpdq raises a bare Exception for undecodable input
        raise MediaError(f"video cannot be decoded: {exc}") from exc
    return tuple(
        VideoFrame(str(feature.hex).lower(), int(feature.quality), round(float(feature.timestamp), 3))
        for feature in features
    )


def usable_frames(
    frames: Iterable[VideoFrame], *, quality_threshold: int = PDQ_MIN_QUALITY
) -> list[VideoFrame]:
    """The frames vPDQ compares: quality ≥ the threshold, and each distinct hash once (first kept)."""
    seen: set[str] = set()
    kept: list[VideoFrame] = []
    for frame in frames:
        if frame.quality >= quality_threshold and frame.pdq not in seen:
            seen.add(frame.pdq)
            kept.append(frame)
    return kept


@dataclass(frozen=True, slots=True)
class VideoMatch:
    matched: bool
    query_match_percent: float
    """Share (0-100) of the usable frames that matched the bank."""
    frames_considered: int
    """Usable frames: quality ≥ the threshold, repeated hashes counted once."""
    frames_matched: int
    matched_timestamps: tuple[float, ...]
    """Where the matching frames are (seconds), for the reviewer."""


def match_video(
    frames: Sequence[VideoFrame],
    match_frames: FrameMatcher,
    *,
    quality_threshold: int = PDQ_MIN_QUALITY,
    query_match_percent: float = QUERY_MATCH_PERCENT,
) -> VideoMatch:
    """Whether a video matches a bank: ≥ ``query_match_percent`` of its usable frames match.

    A video without a usable frame (all below the quality threshold, or none at all) never matches.
    """
    if not 0 <= query_match_percent <= 100:
        raise ValueError("query_match_percent is a percentage (0-100)")
    usable = usable_frames(frames, quality_threshold=quality_threshold)
    if not usable:
        return VideoMatch(False, 0.0, 0, 0, ())
    verdicts = list(match_frames([frame.pdq for frame in usable]))
    if len(verdicts) != len(usable):
        raise ValueError(f"the matcher answered {len(verdicts)} verdicts for {len(usable)} frames")
    hits = [frame for frame, hit in zip(usable, verdicts, strict=True) if hit]
    percent = 100.0 * len(hits) / len(usable)
    return VideoMatch(
        matched=percent >= query_match_percent,
        query_match_percent=percent,
        frames_considered=len(usable),
        frames_matched=len(hits),
        matched_timestamps=tuple(frame.timestamp for frame in hits),
    )


def brute_force_matcher(bank: Iterable[str], *, max_distance: int = PDQ_MATCH_DISTANCE) -> FrameMatcher:
    """An exact `FrameMatcher` over a small list of hashes (every query against every bank hash)."""
    rows = hex_to_words(bank)

    def match_frames(hexes: list[str]) -> list[bool]:
        if not hexes or not len(rows):
            return [False] * len(hexes)
        nearest = distances(hex_to_words(hexes), rows).min(axis=1)
        return [bool(value) for value in np.less_equal(nearest, max_distance)]

    return match_frames


@dataclass(frozen=True, slots=True)
class VideoComparison:
    query_match_percent: float
    """Share (0-100) of the query's usable frames found in the compared video."""
    compared_match_percent: float
    """Share (0-100) of the compared video's usable frames found in the query."""

    def matched(
        self,
        *,
        query_match_percent: float = QUERY_MATCH_PERCENT,
        compared_match_percent: float = COMPARED_MATCH_PERCENT,
    ) -> bool:
        return (
            self.query_match_percent >= query_match_percent
            and self.compared_match_percent >= compared_match_percent
        )


def compare_videos(
    query: Sequence[VideoFrame],
    compared: Sequence[VideoFrame],
    *,
    max_distance: int = PDQ_MATCH_DISTANCE,
    quality_threshold: int = PDQ_MIN_QUALITY,
) -> VideoComparison:
    """vPDQ's brute-force comparison of two videos, both ways (0 % where a side has no usable frame)."""
    left = [frame.pdq for frame in usable_frames(query, quality_threshold=quality_threshold)]
    right = [frame.pdq for frame in usable_frames(compared, quality_threshold=quality_threshold)]
    if not left or not right:
        return VideoComparison(0.0, 0.0)
    table = distances(hex_to_words(left), hex_to_words(right)) <= max_distance
    return VideoComparison(
        query_match_percent=100.0 * float(table.any(axis=1).sum()) / len(left),
        compared_match_percent=100.0 * float(table.any(axis=0).sum()) / len(right),
    )
