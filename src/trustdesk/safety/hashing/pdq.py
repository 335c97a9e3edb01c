"""PDQ hashes as data: 64 lower-case hex characters, or four big-endian uint64 words.

Word 0 is the first 16 hex characters, so the hex string reads as the 256-bit big-endian integer and the
words are its four 64-bit limbs from most to least significant. Pure functions, no image code.
"""

from __future__ import annotations

import re

import numpy as np
import numpy.typing as npt

PDQ_HEX_LENGTH = 64
PDQ_BITS = 256
PDQ_MATCH_DISTANCE = 31
"""The industry's default Hamming distance for a match (configurable per bank)."""
PDQ_MIN_QUALITY = 50
"""Below this quality a hash is not trustworthy: do not index it, do not act on it alone."""

_HEX = re.compile(r"[0-9a-f]{64}")


def normalize_hex(value: str) -> str:
    """``value`` as 64 lower-case hex characters, or `ValueError`."""
    text = value.strip().lower()
    if not _HEX.fullmatch(text):
        raise ValueError(f"not a PDQ hash (64 hex characters): {value[:80]!r}")
    return text


def bits_to_hex(bits: npt.ArrayLike) -> str:
    """The hex of 256 bits in pdqhash's order (bit 0 is the most significant bit of the first byte)."""
    array = np.asarray(bits)
    if array.shape != (PDQ_BITS,):
        raise ValueError(f"a PDQ hash has {PDQ_BITS} bits, got shape {array.shape}")
    return np.packbits(array.astype(np.uint8, copy=False)).tobytes().hex()


def distance(a: str, b: str) -> int:
    """The Hamming distance between two hashes in hex."""
    return (int(normalize_hex(a), 16) ^ int(normalize_hex(b), 16)).bit_count()


def distances(query: npt.NDArray[np.uint64], bank: npt.NDArray[np.uint64]) -> npt.NDArray[np.int64]:
    """Pairwise Hamming distances, shape (len(query), len(bank)), of uint64[4] rows (brute force)."""
    xor = np.bitwise_xor(query[:, None, :], bank[None, :, :])
    counts: npt.NDArray[np.int64] = np.bitwise_count(xor).sum(axis=2, dtype=np.int64)
    return counts
