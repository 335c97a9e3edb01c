"""Media of the reference platform: uploads are stored with their hashes, computed once at upload.

An upload keeps its bytes, its MIME type (sniffed from the magic number when not given), SHA-256, MD5 and,
for an image, its PDQ hash with the quality (computed as Trustdesk computes it, `trustdesk.safety.hashing`,
as a real platform would with Meta's reference implementation). The same bytes uploaded twice are stored
once.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from sqlalchemy import Connection, func, insert, select

from trustdesk.platform.reference.store import media
from trustdesk.safety.hashing.image import hash_image
from trustdesk.safety.media import MediaError

MAX_MEDIA_BYTES = 16 * 1_048_576
"""The largest upload the reference platform takes."""
MAX_IMAGE_PIXELS = 40_000_000
"""Images with more pixels are stored but not hashed with PDQ (a decompression bomb guard)."""

_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"%PDF-", "application/pdf"),
    (b"\x1a\x45\xdf\xa3", "video/webm"),
)


def sniff_mime(data: bytes) -> str:
    """The MIME type of ``data`` from its first bytes (``application/octet-stream`` when unknown)."""
    for signature, mime in _SIGNATURES:
        if data.startswith(signature):
            return mime
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data[4:8] == b"ftyp":
        return "video/mp4"
    return "application/octet-stream"


def media_kind(mime: str) -> str:
    """``image``, ``video`` or ``file`` (`trustdesk.platform.protocol.MEDIA_KINDS`) of a MIME type."""
    major = mime.split("/", 1)[0].lower()
    return major if major in {"image", "video"} else "file"


def pdq_of(data: bytes) -> tuple[str, int] | None:
    """``(64 hex, quality)`` of an image, None when the bytes are not a readable image within bounds."""
    try:
        hashes = hash_image(data, max_pixels=MAX_IMAGE_PIXELS)
    except MediaError:
        return None
    return hashes.pdq, hashes.quality


@dataclass(frozen=True)
class MediaFacts:
    """What the platform knows about an upload."""

    sha256: str
    md5: str
    mime: str
    size: int
    pdq: str | None
    pdq_quality: int | None

    @property
    def kind(self) -> str:
        return media_kind(self.mime)


def describe(data: bytes, mime: str | None = None) -> MediaFacts:
    """The hashes and type of an upload; the PDQ hash only for images."""
    if not data:
        raise ValueError("an upload needs at least one byte")
    if len(data) > MAX_MEDIA_BYTES:
        raise ValueError(f"an upload of {len(data)} bytes exceeds {MAX_MEDIA_BYTES} bytes")
    mime = (mime or sniff_mime(data)).lower()
    if "/" not in mime or len(mime) > 100:
        raise ValueError(f"not a MIME type: {mime!r}")
    pdq = pdq_of(data) if media_kind(mime) == "image" else None
    return MediaFacts(
        sha256=hashlib.sha256(data).hexdigest(),
        md5=hashlib.md5(data, usedforsecurity=False).hexdigest(),
        mime=mime,
        size=len(data),
        pdq=None if pdq is None else pdq[0],
        pdq_quality=None if pdq is None else pdq[1],
    )


def media_row(media_id: int, data: bytes, facts: MediaFacts) -> dict[str, object]:
    return {
        "id": media_id,
        "sha256": facts.sha256,
        "md5": facts.md5,
        "mime": facts.mime,
        "size": facts.size,
        "bytes": data,
        "pdq": facts.pdq,
        "pdq_quality": facts.pdq_quality,
    }


def store_media(conn: Connection, data: bytes, mime: str | None = None) -> tuple[int, MediaFacts]:
    """Store an upload (or find the same bytes stored before); ``(media id, facts)``."""
    facts = describe(data, mime)
    existing = conn.execute(select(media.c.id).where(media.c.sha256 == facts.sha256)).scalar_one_or_none()
    if existing is not None:
        return int(existing), facts
    media_id = int(conn.execute(select(func.coalesce(func.max(media.c.id), 0))).scalar_one()) + 1
    conn.execute(insert(media).values(**media_row(media_id, data, facts)))
    return media_id, facts
