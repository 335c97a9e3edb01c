"""Media at the edge: tell image from video from the bytes, and decode images within bounds.

Nothing here trusts a file name or a declared content type: `sniff` reads magic numbers. `decode_image`
refuses what is not an image, what is truncated, and what would decode to more pixels than allowed (a
decompression bomb), always with `MediaError` and nothing else.
"""

from __future__ import annotations

import io
import warnings
from enum import StrEnum
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from trustdesk.errors import InvalidInput

MAX_IMAGE_PIXELS = 50_000_000
"""Default ceiling on width x height (a 50-megapixel photo; phone cameras stay below it)."""
MAX_MEDIA_BYTES = 64 * 1024 * 1024
"""Default ceiling on the size of one image file."""
SNIFF_BYTES = 1024
"""How much of a file `sniff_file` reads: enough for three MPEG-TS packets and any other signature."""


class MediaError(InvalidInput):
    """The bytes are not media we can process: not an image, truncated, too large, or unsupported."""

    code = "invalid_media"


class MediaKind(StrEnum):
    IMAGE = "image"
    VIDEO = "video"
    OTHER = "other"


# ISO base media file format (``....ftyp<brand>``): brands of still images (HEIF, AVIF); the rest is video,
# except audio-only brands.
_IMAGE_BRANDS = frozenset(
    {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1", b"avif", b"avis"}
)
_AUDIO_BRANDS = frozenset({b"M4A ", b"M4B ", b"M4P ", b"F4A ", b"F4B "})
_TS_PACKET = 188


def sniff(data: bytes) -> MediaKind:
    """The kind of media ``data`` starts with, from its magic number alone."""
    head = data[:SNIFF_BYTES]
    if _is_image(head):
        return MediaKind.IMAGE
    if _is_video(head):
        return MediaKind.VIDEO
    return MediaKind.OTHER


def sniff_file(path: Path) -> MediaKind:
    """`sniff` on the first bytes of the file at ``path`` (the name's extension is ignored)."""
    with path.open("rb") as handle:
        return sniff(handle.read(SNIFF_BYTES))


def _is_image(head: bytes) -> bool:
    if head.startswith((b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"GIF87a", b"GIF89a")):
        return True
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return True
    if head.startswith((b"II*\x00", b"MM\x00*")):  # TIFF, little and big endian
        return True
    if head.startswith(b"BM") and len(head) >= 26 and head[6:10] == b"\x00\x00\x00\x00":
        return int.from_bytes(head[14:18], "little") in {12, 40, 52, 56, 64, 108, 124}  # BMP header size
    if head.startswith(b"\x00\x00\x01\x00") and len(head) >= 6 and head[4:6] != b"\x00\x00":  # ICO
        return True
    return _ftyp_brand(head) in _IMAGE_BRANDS


def _is_video(head: bytes) -> bool:
    brand = _ftyp_brand(head)
    if brand is not None:
        return brand not in _IMAGE_BRANDS and brand not in _AUDIO_BRANDS
    if head.startswith(b"\x1a\x45\xdf\xa3"):  # EBML: Matroska, WebM
        return True
    if head[:4] == b"RIFF" and head[8:12] == b"AVI ":
        return True
    if head.startswith((b"FLV\x01", b"\x00\x00\x01\xba", b"\x00\x00\x01\xb3")):  # FLV, MPEG-PS, MPEG-1/2
        return True
    if head.startswith(b"\x30\x26\xb2\x75\x8e\x66\xcf\x11"):  # ASF (WMV)
        return True
    # MPEG transport stream: a sync byte at the start of three consecutive 188-byte packets
    return len(head) >= 2 * _TS_PACKET + 1 and all(head[i * _TS_PACKET] == 0x47 for i in range(3))


def _ftyp_brand(head: bytes) -> bytes | None:
    if len(head) >= 12 and head[4:8] == b"ftyp":
        return head[8:12]
    return None


def decode_image(
    data: bytes, *, max_pixels: int = MAX_IMAGE_PIXELS, max_bytes: int = MAX_MEDIA_BYTES
) -> Image.Image:
    """The first frame of the image in ``data`` as RGB, fully decoded, or `MediaError`.

    The pixel count is checked from the header before any pixel is decoded. EXIF orientation is not
    applied (the PDQ reference does not either; the dihedral hashes cover rotated copies). Transparency is
    dropped, not composited, as the PDQ reference's readers do.
    """
    if len(data) > max_bytes:
        raise MediaError(f"image of {len(data)} bytes exceeds the limit of {max_bytes} bytes")
    if sniff(data) is not MediaKind.IMAGE:
        raise MediaError("not an image (no known image signature)")
    try:
        with warnings.catch_warnings():
            # Pillow's own bomb guard warns between its limit and twice it; make that a refusal too.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                width, height = image.size
                if width <= 0 or height <= 0:
                    raise MediaError(f"image has no pixels ({width}x{height})")
                if width * height > max_pixels:
                    raise MediaError(
                        f"image of {width}x{height} pixels exceeds the limit of {max_pixels} pixels"
                    )
                image.load()
                return image.convert("RGB")
    except MediaError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise MediaError(f"image refused as a decompression bomb: {exc}") from exc
    except UnidentifiedImageError as exc:
        raise MediaError("not an image Pillow can read") from exc
    except (OSError, SyntaxError, ValueError, EOFError, MemoryError) as exc:
        # Pillow reports truncated and corrupt data as OSError, and some broken headers as the others
        raise MediaError(f"image is truncated or corrupt: {exc}") from exc
