"""Image hashes: MD5 and SHA-256 of the bytes, PDQ of the pixels with its quality and eight dihedral variants.

PDQ comes from ``pdqhash`` (C++ bindings of Meta's reference). Its bit vector, packed most significant
bit first, is the reference implementation's hex: on the conformance images in ``shared/testdata/pdq``
the two agree within 12 bits (the reference's own tolerance is 16), bit for bit on 8 of the 18. One call of
``compute_dihedral`` yields all eight rotations and flips and the quality, at the cost of one hash.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pdqhash  # type: ignore[import-untyped]

from trustdesk.safety.hashing.pdq import PDQ_MIN_QUALITY, bits_to_hex
from trustdesk.safety.media import MAX_IMAGE_PIXELS, MAX_MEDIA_BYTES, MediaError, decode_image

DIHEDRAL = (
    "original",
    "rotate-90",
    "rotate-180",
    "rotate-270",
    "flip-x",
    "flip-y",
    "flip-plus-1",
    "flip-minus-1",
)
"""The order of `ImageHashes.dihedral` (``pdqhash.compute_dihedral``'s), as in the reference test data."""


@dataclass(frozen=True, slots=True)
class ImageHashes:
    md5: str
    sha256: str
    pdq: str
    """64 lower-case hex characters; equal to ``dihedral[0]``."""
    quality: int
    """0-100; below 50 the PDQ hash must not be indexed nor acted on alone."""
    dihedral: tuple[str, ...]
    """Eight hashes in the order of `DIHEDRAL`: match a query's eight against a bank to catch rotated and
    mirrored copies."""
    width: int
    height: int

    @property
    def trustworthy(self) -> bool:
        """Whether the PDQ hash may be indexed or acted on (quality ≥ 50)."""
        return self.quality >= PDQ_MIN_QUALITY


def hash_image(
    data: bytes, *, max_pixels: int = MAX_IMAGE_PIXELS, max_bytes: int = MAX_MEDIA_BYTES
) -> ImageHashes:
    """All hashes of the image in ``data``; `MediaError` when it is not a readable image within bounds."""
    image = decode_image(data, max_pixels=max_pixels, max_bytes=max_bytes)
    pixels = np.asarray(image, dtype=np.uint8)
    variants, quality = pdqhash.compute_dihedral(pixels)
    dihedral = tuple(bits_to_hex(bits) for bits in variants)
    return ImageHashes(
        md5=hashlib.md5(data, usedforsecurity=False).hexdigest(),
        sha256=hashlib.sha256(data).hexdigest(),
        pdq=dihedral[0],
        quality=int(quality),
        dihedral=dihedral,
        width=image.width,
        height=image.height,
    )


def hash_image_file(
    path: Path, *, max_pixels: int = MAX_IMAGE_PIXELS, max_bytes: int = MAX_MEDIA_BYTES
) -> ImageHashes:
    """`hash_image` of a file, refusing files over ``max_bytes`` before reading them."""
    size = path.stat().st_size
    if size > max_bytes:
        raise MediaError(f"image of {size} bytes exceeds the limit of {max_bytes} bytes")
    return hash_image(path.read_bytes(), max_pixels=max_pixels, max_bytes=max_bytes)
