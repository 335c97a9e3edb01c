"""PDQ hashes between their 64-hex-digit text form and ``uint64[4]`` words, vectorised for millions.

Word 0 holds the first 16 hex digits (big-endian), so ``words_to_hex(hex_to_words(s)) == s.lower()``.
"""

from collections.abc import Iterable, Sequence

import numpy as np

HEX_DIGITS = 64
_HEX = frozenset("0123456789abcdefABCDEF")


def hex_to_words(hashes: str | Iterable[str]) -> np.ndarray:
    """Parse 64-hex-digit PDQ hashes into ``uint64[n, 4]`` (one string gives shape ``(1, 4)``).

    One ``bytes.fromhex`` over the joined text and one ``np.frombuffer('>u8')``: about a second for ten
    million hashes. Raises ``ValueError`` naming the first bad entry (wrong length or a non-hex digit).
    """
    items = [hashes] if isinstance(hashes, str) else list(hashes)
    joined = "".join(items)
    if len(joined) != HEX_DIGITS * len(items) or not joined.isascii():
        _raise_first_bad(items)
    try:
        raw = bytes.fromhex(joined)
    except ValueError:
        _raise_first_bad(items)
        raise
    if len(raw) != 32 * len(items):  # fromhex skips whitespace between digit pairs
        _raise_first_bad(items)
    return np.frombuffer(raw, dtype=">u8").astype(np.uint64).reshape(len(items), 4)


def _raise_first_bad(items: Sequence[str]) -> None:
    for i, item in enumerate(items):
        if not isinstance(item, str):
            raise ValueError(f"PDQ hash #{i} is not a string: {type(item).__name__}")
        if len(item) != HEX_DIGITS:
            raise ValueError(f"PDQ hash #{i} must be {HEX_DIGITS} hex digits, got {len(item)}: {item[:80]!r}")
        if not set(item) <= _HEX:
            raise ValueError(f"PDQ hash #{i} contains a non-hex character: {item!r}")
    raise ValueError("PDQ hashes could not be parsed")  # pragma: no cover - unreachable by construction


def words_to_hex(words: np.ndarray) -> list[str]:
    """Format ``uint64[n, 4]`` (or one ``uint64[4]``) as lower-case 64-hex-digit strings."""
    arr = as_words(words)
    text = arr.astype(">u8").tobytes().hex()
    return [text[i : i + HEX_DIGITS] for i in range(0, len(text), HEX_DIGITS)]


def as_words(hashes: np.ndarray | str | Iterable[str]) -> np.ndarray:
    """Hashes as a C-contiguous ``uint64[n, 4]`` array: accepts hex text or an unsigned 64-bit array.

    Raises ``ValueError`` for any other dtype or shape (a signed or float array is refused rather than
    silently reinterpreted).
    """
    if isinstance(hashes, np.ndarray):
        if hashes.dtype != np.uint64:
            raise ValueError(f"PDQ hash words must be uint64, got dtype {hashes.dtype}")
        if hashes.ndim == 1 and hashes.shape[0] == 4:
            hashes = hashes.reshape(1, 4)
        if hashes.ndim != 2 or hashes.shape[1] != 4:
            raise ValueError(f"PDQ hash words must have shape (n, 4), got {hashes.shape}")
        return np.ascontiguousarray(hashes)
    return hex_to_words(hashes)


def as_labels(labels: np.ndarray | Sequence[int] | int, n: int) -> np.ndarray:
    """Labels as ``uint32[n]``: one int is repeated; values must fit in 0..2**32-1."""
    if isinstance(labels, int | np.integer):
        labels = np.full(n, int(labels), dtype=np.int64)
    arr = np.asarray(labels)
    if arr.ndim != 1 or arr.shape[0] != n:
        raise ValueError(f"labels must have shape ({n},), got {arr.shape}")
    if n and arr.dtype.kind not in "iu":
        raise ValueError(f"labels must be integers, got dtype {arr.dtype}")
    if n and (int(arr.min()) < 0 or int(arr.max()) > 0xFFFFFFFF):
        raise ValueError("labels must be in 0..2**32-1")
    return np.ascontiguousarray(arr, dtype=np.uint32)
