"""Synthetic pictures for the reference platform's demo data, drawn with Pillow.

Every picture is a function of the ``random.Random`` it is drawn from: a two-colour gradient, a handful
of shapes and a word or two of text, encoded as PNG or JPEG. `known_demo_images` are a few fixed
pictures (independent of any seed) standing in for known material: the generator posts resized and
re-encoded copies of them, so that a demo hash bank holding the originals' PDQ hashes matches the copies
(PDQ survives resizing and recompression) while the other pictures stay far from them.
"""

from __future__ import annotations

import functools
import hashlib
import io
import random
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from trustdesk.platform.reference.media import pdq_of

_SIZES = ((320, 240), (256, 256), (240, 320), (400, 300), (300, 200))
_CAPTIONS = (
    "holiday", "sunset", "party!", "new flat", "my cat", "lunch", "road trip", "concert", "garden",
    "birthday", "beach day", "snow", "match day", "hike", "city lights", "breakfast",
)  # fmt: skip
_KNOWN_SEEDS = (9040, 9034, 9009, 9025)  # chosen: quality >= 99, copies stay within 16 bits


def _colour(rng: random.Random) -> tuple[int, int, int]:
    return (rng.randrange(256), rng.randrange(256), rng.randrange(256))


def draw_picture(rng: random.Random) -> Image.Image:
    """A synthetic RGB picture: gradient, shapes, text; the same draws give the same pixels."""
    width, height = rng.choice(_SIZES)
    start, end = np.array(_colour(rng), dtype=np.float64), np.array(_colour(rng), dtype=np.float64)
    angle = rng.uniform(0, 2 * np.pi)
    ys, xs = np.mgrid[0:height, 0:width]
    ramp = (xs * np.cos(angle) + ys * np.sin(angle)).astype(np.float64)
    ramp = (ramp - ramp.min()) / max(float(ramp.max() - ramp.min()), 1.0)
    pixels = start + ramp[..., None] * (end - start)
    image = Image.fromarray(pixels.clip(0, 255).astype(np.uint8), "RGB")
    draw = ImageDraw.Draw(image)
    for _ in range(rng.randint(5, 10)):
        x0, y0 = rng.randrange(width), rng.randrange(height)
        x1 = min(width, x0 + rng.randint(width // 10, width // 2))
        y1 = min(height, y0 + rng.randint(height // 10, height // 2))
        shape = rng.choice(("ellipse", "rectangle", "polygon", "line"))
        if shape == "ellipse":
            draw.ellipse((x0, y0, x1, y1), fill=_colour(rng))
        elif shape == "rectangle":
            draw.rectangle((x0, y0, x1, y1), fill=_colour(rng))
        elif shape == "polygon":
            points = [(rng.randrange(width), rng.randrange(height)) for _ in range(rng.randint(3, 6))]
            draw.polygon(points, fill=_colour(rng))
        else:
            draw.line((x0, y0, x1, y1), fill=_colour(rng), width=rng.randint(2, 12))
    font = ImageFont.load_default(size=rng.randint(18, 40))
    position = (rng.randrange(width // 2), rng.randrange(height * 3 // 4))
    draw.text(position, rng.choice(_CAPTIONS), fill=_colour(rng), font=font)
    return image


def encode(image: Image.Image, fmt: str, quality: int = 85) -> bytes:
    """The picture as ``PNG`` or ``JPEG`` bytes (deterministic for the same pixels and options)."""
    buffer = io.BytesIO()
    if fmt == "JPEG":
        image.save(buffer, "JPEG", quality=quality)
    else:
        image.save(buffer, "PNG")
    return buffer.getvalue()


def random_picture(rng: random.Random) -> tuple[bytes, str]:
    """A new synthetic picture as ``(bytes, mime)``, JPEG or PNG."""
    image = draw_picture(rng)
    if rng.random() < 0.7:
        return encode(image, "JPEG", rng.randint(70, 92)), "image/jpeg"
    return encode(image, "PNG"), "image/png"


def altered_copy(data: bytes, rng: random.Random) -> bytes:
    """A resized (50-90 %) and JPEG-recompressed copy of an image: other bytes, nearly the same PDQ."""
    with Image.open(io.BytesIO(data)) as original:
        image = original.convert("RGB")
    scale = rng.uniform(0.5, 0.9)
    size = (max(32, round(image.width * scale)), max(32, round(image.height * scale)))
    return encode(image.resize(size, Image.Resampling.BILINEAR), "JPEG", rng.randint(60, 85))


@dataclass(frozen=True)
class KnownImage:
    """A fixed demo picture standing in for known material in a hash bank."""

    name: str
    data: bytes
    mime: str
    sha256: str
    md5: str
    pdq: str
    pdq_quality: int


@functools.cache
def known_demo_images() -> tuple[KnownImage, ...]:
    """The originals whose altered copies the generator posts (the same on every run and seed).

    Put their ``pdq`` (and ``md5``/``sha256``) into a demo bank: the copies in generated data match by
    PDQ within the usual distance of 31, never by MD5 or SHA-256 (their bytes differ).
    """
    images = []
    for index, seed in enumerate(_KNOWN_SEEDS, start=1):
        data = encode(draw_picture(random.Random(seed)), "PNG")  # noqa: S311 - fixed demo pictures
        pdq = pdq_of(data)
        if pdq is None:  # pragma: no cover - drawn by ourselves, always readable
            raise RuntimeError("a known demo image did not hash")
        images.append(
            KnownImage(
                name=f"known-demo-{index}",
                data=data,
                mime="image/png",
                sha256=hashlib.sha256(data).hexdigest(),
                md5=hashlib.md5(data, usedforsecurity=False).hexdigest(),
                pdq=pdq[0],
                pdq_quality=pdq[1],
            )
        )
    return tuple(images)
