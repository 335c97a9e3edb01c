"""RFC 9162 Merkle trees: leaf and node hashes, tree heads, inclusion and consistency proofs (pure).

Hashing is RFC 9162 §2.1.1 (the same as RFC 6962 and every Certificate Transparency and C2SP log):
a leaf hash is ``SHA-256(0x00 || leaf)``, an interior node ``SHA-256(0x01 || left || right)``, the head of
an empty tree ``SHA-256()``. Proofs are lists of 32-byte hashes in the RFC's order (§2.1.3 inclusion,
§2.1.4 consistency), so any RFC 9162 verifier (transparency-dev/merkle, witnesses) checks ours and ours
checks theirs.

`Tree` is the append-only tree the log keeps in memory: every complete subtree's hash, level by level, in
contiguous byte arrays (64 bytes per leaf in all). Appending is O(1) amortised, a tree head or a proof for
any earlier size O(log² n) hashes at worst, truncating back to an earlier size O(log n). The verification
functions need nothing but the proof, the sizes and the hashes a verifier already holds.
"""

import hashlib
from collections.abc import Iterable, Sequence
from hmac import compare_digest

__all__ = [
    "EMPTY_ROOT",
    "HASH_SIZE",
    "ProofError",
    "Tree",
    "leaf_hash",
    "node_hash",
    "root_from_inclusion",
    "verify_consistency",
    "verify_inclusion",
]

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()
"""The head of the empty tree (RFC 9162 §2.1.1: the hash of an empty string)."""
MAX_PROOF = 2 * 64
"""No valid proof of a tree of fewer than 2**64 leaves has more hashes."""


class ProofError(ValueError):
    """A proof that cannot be produced for these sizes (an index or size out of range)."""


def leaf_hash(leaf: bytes) -> bytes:
    """RFC 9162 §2.1.1: ``SHA-256(0x00 || leaf)``."""
    return hashlib.sha256(b"\x00" + leaf).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """RFC 9162 §2.1.1: ``SHA-256(0x01 || left || right)``."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two smaller than ``n`` (n > 1): where RFC 9162 splits a tree of n leaves."""
    return 1 << ((n - 1).bit_length() - 1)


class Tree:
    """An append-only Merkle tree of leaf hashes, with the hash of every complete subtree kept.

    ``levels[k]`` holds, 32 bytes each, the hashes of the subtrees of ``2**k`` leaves that are complete:
    ``size >> k`` of them. Because RFC 9162 splits every tree at the largest power of two, each left part
    of the recursion is such a complete subtree, and any tree head or proof for a size up to ``size`` is
    assembled from O(log n) of them.
    """

    def __init__(self, leaf_hashes: Iterable[bytes] = ()) -> None:
        self._levels: list[bytearray] = [bytearray()]
        self._size = 0
        for hash_ in leaf_hashes:
            self.append(hash_)

    @property
    def size(self) -> int:
        return self._size

    def append(self, hash_: bytes) -> int:
        """Add a leaf hash; returns its index."""
        if len(hash_) != HASH_SIZE:
            raise ValueError(f"a leaf hash is {HASH_SIZE} bytes, got {len(hash_)}")
        index = self._size
        self._levels[0] += hash_
        self._size += 1
        level, count, right = 0, self._size, hash_
        while count % 2 == 0:  # this leaf completed a subtree of 2**(level+1) leaves
            left = self._node(level, count - 2)
            right = node_hash(left, right)
            level, count = level + 1, count // 2
            if level == len(self._levels):
                self._levels.append(bytearray())
            self._levels[level] += right
        return index

    def truncate(self, size: int) -> None:
        """Forget every leaf from ``size`` on (a sequencing round whose transaction did not commit)."""
        if not 0 <= size <= self._size:
            raise ProofError(f"cannot truncate a tree of {self._size} leaves to {size}")
        for level, hashes in enumerate(self._levels):
            del hashes[(size >> level) * HASH_SIZE :]
        self._size = size

    def leaf(self, index: int) -> bytes:
        if not 0 <= index < self._size:
            raise ProofError(f"no leaf {index} in a tree of {self._size}")
        return self._node(0, index)

    def _node(self, level: int, position: int) -> bytes:
        start = position * HASH_SIZE
        return bytes(self._levels[level][start : start + HASH_SIZE])

    def _range(self, start: int, end: int) -> bytes:
        """MTH of the leaves [start, end), for a range that RFC 9162's recursion produces (start is a
        multiple of the largest power of two not above end - start)."""
        n = end - start
        if n & (n - 1) == 0:  # a complete subtree: stored
            return self._node(n.bit_length() - 1, start // n)
        k = _split(n)
        return node_hash(self._range(start, start + k), self._range(start + k, end))

    def _check_size(self, size: int) -> None:
        if not 0 <= size <= self._size:
            raise ProofError(f"tree size {size} is beyond the {self._size} leaves of the log")

    def root(self, size: int | None = None) -> bytes:
        """The tree head (MTH) of the first ``size`` leaves (default: all)."""
        size = self._size if size is None else size
        self._check_size(size)
        return EMPTY_ROOT if size == 0 else self._range(0, size)

    def inclusion_proof(self, index: int, size: int | None = None) -> list[bytes]:
        """RFC 9162 §2.1.3.1: the audit path of leaf ``index`` in the tree of the first ``size`` leaves."""
        size = self._size if size is None else size
        self._check_size(size)
        if not 0 <= index < size:
            raise ProofError(f"leaf {index} is not in a tree of {size} leaves")
        path: list[bytes] = []
        start, end = 0, size
        while end - start > 1:  # walk down from the root, collecting the sibling of each step
            k = _split(end - start)
            if index < start + k:
                path.append(self._range(start + k, end))
                end = start + k
            else:
                path.append(self._range(start, start + k))
                start += k
        path.reverse()  # the RFC's order: from the leaf up
        return path

    def consistency_proof(self, first: int, second: int | None = None) -> list[bytes]:
        """RFC 9162 §2.1.4.1: the proof that the tree of ``first`` leaves is a prefix of that of
        ``second`` (default: all); empty when ``first`` is 0 or equal to ``second``."""
        second = self._size if second is None else second
        self._check_size(second)
        if not 0 <= first <= second:
            raise ProofError(f"no consistency proof from {first} to {second} leaves")
        if first in (0, second):
            return []
        path: list[bytes] = []
        start, end, m, complete = 0, second, first, True
        while m != end - start:  # SUBPROOF(m, D[start:end], complete)
            k = _split(end - start)
            if m <= k:
                path.append(self._range(start + k, end))
                end = start + k
            else:
                path.append(self._range(start, start + k))
                start, m, complete = start + k, m - k, False
        if not complete:
            path.append(self._range(start, end))
        path.reverse()
        return path


def _hashes_ok(*hashes: bytes) -> bool:
    return all(isinstance(h, bytes) and len(h) == HASH_SIZE for h in hashes)


def root_from_inclusion(index: int, size: int, hash_: bytes, proof: Sequence[bytes]) -> bytes | None:
    """RFC 9162 §2.1.3.2: the tree head the audit path leads to from leaf ``index``, or None when the
    path cannot belong to a tree of ``size`` leaves (too long, too short, malformed)."""
    if not 0 <= index < size or len(proof) > MAX_PROOF or not _hashes_ok(hash_, *proof):
        return None
    fn, sn, r = index, size - 1, hash_
    for p in proof:
        if sn == 0:
            return None
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1
    return r if sn == 0 else None


def verify_inclusion(index: int, size: int, hash_: bytes, proof: Sequence[bytes], root: bytes) -> bool:
    """Whether ``proof`` shows the leaf hash at ``index`` inside the tree of ``size`` leaves with head
    ``root`` (RFC 9162 §2.1.3.2)."""
    computed = root_from_inclusion(index, size, hash_, proof)
    return computed is not None and _hashes_ok(root) and compare_digest(computed, root)


def verify_consistency(first: int, second: int, proof: Sequence[bytes], root1: bytes, root2: bytes) -> bool:
    """Whether ``proof`` shows the tree of ``first`` leaves (head ``root1``) to be a prefix of the tree of
    ``second`` leaves (head ``root2``) (RFC 9162 §2.1.4.2). The empty tree is a prefix of every tree."""
    if not 0 <= first <= second or len(proof) > MAX_PROOF or not _hashes_ok(*proof):
        return False
    if first == 0:
        return not proof
    if not _hashes_ok(root1, root2):
        return False
    if first == second:
        return not proof and compare_digest(root1, root2)
    if not proof:
        return False
    path = [root1, *proof] if first & (first - 1) == 0 else list(proof)
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            sr = node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and compare_digest(fr, root1) and compare_digest(sr, root2)
