"""The RFC 9162 Merkle tree: known answers (the RFC 6962 test vectors of transparency-dev/merkle), the
RFC's recursive definitions as an oracle, and properties: every proof verifies, every tampered one fails."""

import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from trustdesk.transparency.merkle import (
    EMPTY_ROOT,
    ProofError,
    Tree,
    leaf_hash,
    node_hash,
    verify_consistency,
    verify_inclusion,
)

# The eight leaves and the tree heads of sizes 1..8 used by the RFC 6962 test vectors (facts).
LEAVES = [bytes.fromhex(h) for h in ("", "00", "10", "2021", "3031", "40414243", "5051525354555657",
                                     "606162636465666768696a6b6c6d6e6f")]  # fmt: skip
ROOTS = [
    bytes.fromhex(h)
    for h in (
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    )
]


def h(text: str) -> bytes:
    return bytes.fromhex(text)


# (leaf index counting from 0, tree size, audit path)
INCLUSION = [
    (0, 8, ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"]),
    (5, 8, ["bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
    (2, 3, ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]),
    (1, 5, ["6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"]),
    (0, 1, []),
]  # fmt: skip
CONSISTENCY = [
    (1, 1, []),
    (1, 8, ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"]),
    (6, 8, ["0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
    (2, 5, ["5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"]),
    (6, 7, ["0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
]  # fmt: skip


def vector_tree() -> Tree:
    return Tree(leaf_hash(leaf) for leaf in LEAVES)


# --- the RFC 9162 §2.1 definitions, written as recursively as the RFC writes them: the oracle ----------


def split(n: int) -> int:
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def mth(hashes: list[bytes]) -> bytes:
    if not hashes:
        return hashlib.sha256(b"").digest()
    if len(hashes) == 1:
        return hashes[0]
    k = split(len(hashes))
    return node_hash(mth(hashes[:k]), mth(hashes[k:]))


def path(m: int, hashes: list[bytes]) -> list[bytes]:
    if len(hashes) == 1:
        return []
    k = split(len(hashes))
    if m < k:
        return [*path(m, hashes[:k]), mth(hashes[k:])]
    return [*path(m - k, hashes[k:]), mth(hashes[:k])]


def subproof(m: int, hashes: list[bytes], complete: bool) -> list[bytes]:
    n = len(hashes)
    if m == n:
        return [] if complete else [mth(hashes)]
    k = split(n)
    if m <= k:
        return [*subproof(m, hashes[:k], complete), mth(hashes[k:])]
    return [*subproof(m - k, hashes[k:], False), mth(hashes[:k])]


# --- known answers --------------------------------------------------------------------------------------


def test_the_hashes_are_rfc_9162s() -> None:
    assert leaf_hash(b"") == h("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d")
    assert h("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855") == EMPTY_ROOT
    assert Tree().root() == EMPTY_ROOT
    assert node_hash(b"a" * 32, b"b" * 32) == hashlib.sha256(b"\x01" + b"a" * 32 + b"b" * 32).digest()


def test_tree_heads_match_the_vectors_at_every_size() -> None:
    tree = vector_tree()
    assert [tree.root(size) for size in range(1, 9)] == ROOTS


@pytest.mark.parametrize(("index", "size", "expected"), INCLUSION)
def test_inclusion_proofs_match_the_vectors(index: int, size: int, expected: list[str]) -> None:
    tree = vector_tree()
    proof = tree.inclusion_proof(index, size)
    assert proof == [h(x) for x in expected]
    assert verify_inclusion(index, size, leaf_hash(LEAVES[index]), proof, ROOTS[size - 1])


@pytest.mark.parametrize(("first", "second", "expected"), CONSISTENCY)
def test_consistency_proofs_match_the_vectors(first: int, second: int, expected: list[str]) -> None:
    tree = vector_tree()
    proof = tree.consistency_proof(first, second)
    assert proof == [h(x) for x in expected]
    assert verify_consistency(first, second, proof, ROOTS[first - 1], ROOTS[second - 1])


@pytest.mark.parametrize(("index", "size", "expected"), INCLUSION[:4])
def test_every_corruption_of_a_known_inclusion_proof_fails(
    index: int, size: int, expected: list[str]
) -> None:
    proof, root, leaf = [h(x) for x in expected], ROOTS[size - 1], leaf_hash(LEAVES[index])
    some = h("abacaba000000000000000000000000000000000000000000060061e00123456")
    probes = [
        (index - 1, size, leaf, proof, root),
        (index + 1, size, leaf, proof, root),
        (index ^ 2, size, leaf, proof, root),
        (index, size * 2, leaf, proof, root),
        (index, size // 2, leaf, proof, root),
        (index, size, leaf_hash(b"WrongLeaf"), proof, root),
        (index, size, leaf, proof, EMPTY_ROOT),
        (index, size, leaf, proof, some),
        (index, size, leaf, [*proof, b""], root),
        (index, size, leaf, [*proof, root], root),
        (index, size, leaf, [b"", *proof], root),
        (index, size, leaf, [root, *proof], root),
        (index, size, leaf, proof[:-1], root),
        (index, size, leaf, [proof[0], some, *proof[1:]], root),
    ]
    for i in range(len(proof)):
        flipped = list(proof)
        flipped[i] = bytes([flipped[i][0] ^ 8]) + flipped[i][1:]
        probes.append((index, size, leaf, flipped, root))
    accepted = [p for p in probes if verify_inclusion(*p)]
    assert accepted == []


@pytest.mark.parametrize(("first", "second", "expected"), CONSISTENCY[1:])
def test_every_corruption_of_a_known_consistency_proof_fails(
    first: int, second: int, expected: list[str]
) -> None:
    proof, root1, root2 = [h(x) for x in expected], ROOTS[first - 1], ROOTS[second - 1]
    wrong = b"W" * 32
    probes = [
        (first - 1, second, proof, root1, root2),
        (first + 1, second, proof, root1, root2),
        (first ^ 2, second, proof, root1, root2),
        (first, second * 2, proof, root1, root2),
        (first, second // 2, proof, root1, root2),
        (first, second, proof, wrong, root2),
        (first, second, proof, root1, wrong),
        (first, second, proof, root2, root1),
        (first, second, [], root1, root2),
        (first, second, [*proof, b""], root1, root2),
        (first, second, [*proof, root1], root1, root2),
        (first, second, [*proof, root2], root1, root2),
        (first, second, [b"", *proof], root1, root2),
        (first, second, [root1, *proof], root1, root2),
        (first, second, [root2, *proof], root1, root2),
        (first, second, [proof[0], *proof], root1, root2),
        (first, second, proof[:-1], root1, root2),
    ]
    for i in range(len(proof)):
        flipped = list(proof)
        flipped[i] = bytes([flipped[i][0] ^ 16]) + flipped[i][1:]
        probes.append((first, second, flipped, root1, root2))
    accepted = [p[:2] for p in probes if verify_consistency(*p)]
    assert accepted == []


def test_the_trivial_consistency_cases() -> None:
    a, b = b"a" * 32, b"b" * 32
    assert verify_consistency(0, 0, [], a, a)
    assert verify_consistency(0, 5, [], a, b)  # the empty tree is a prefix of every tree
    assert verify_consistency(3, 3, [], a, a)
    assert not verify_consistency(3, 3, [], a, b)
    assert not verify_consistency(0, 1, [EMPTY_ROOT], a, b)
    assert not verify_consistency(1, 1, [EMPTY_ROOT], a, a)
    assert not verify_consistency(2, 1, [], a, b)  # time travel to the past


def test_single_leaf_and_bad_sizes() -> None:
    hash_ = leaf_hash(b"data")
    assert verify_inclusion(0, 1, hash_, [], hash_)
    assert not verify_inclusion(0, 1, b"", [], hash_)
    assert not verify_inclusion(0, 1, hash_, [], b"")
    for index, size in ((0, 0), (1, 0), (2, 1), (-1, 3)):
        assert not verify_inclusion(index, size, hash_, [], hash_)
    tree = Tree([hash_])
    with pytest.raises(ProofError):
        tree.inclusion_proof(1, 1)
    with pytest.raises(ProofError):
        tree.root(2)
    with pytest.raises(ProofError):
        tree.consistency_proof(2, 1)
    with pytest.raises(ValueError, match="32 bytes"):
        tree.append(b"short")


# --- properties -----------------------------------------------------------------------------------------

sizes = st.integers(min_value=1, max_value=300)


def leaves_of(n: int) -> list[bytes]:
    return [leaf_hash(i.to_bytes(4, "big")) for i in range(n)]


@given(n=sizes, data=st.data())
def test_tree_agrees_with_the_rfc_definitions(n: int, data: st.DataObject) -> None:
    hashes = leaves_of(n)
    tree = Tree(hashes)
    size = data.draw(st.integers(1, n))
    index = data.draw(st.integers(0, size - 1))
    first = data.draw(st.integers(1, size))
    assert tree.root(size) == mth(hashes[:size])
    assert tree.inclusion_proof(index, size) == path(index, hashes[:size])
    expected = [] if first == size else subproof(first, hashes[:size], True)
    assert tree.consistency_proof(first, size) == expected


@given(n=sizes, data=st.data())
def test_every_inclusion_proof_verifies_and_tampered_ones_fail(n: int, data: st.DataObject) -> None:
    tree = Tree(leaves_of(n))
    size = data.draw(st.integers(1, n))
    index = data.draw(st.integers(0, size - 1))
    proof, root, hash_ = tree.inclusion_proof(index, size), tree.root(size), tree.leaf(index)
    assert verify_inclusion(index, size, hash_, proof, root)
    assert not verify_inclusion(index, size, leaf_hash(b"other"), proof, root)
    if size > 1:
        assert not verify_inclusion(
            index, size, hash_, proof, tree.root(size - 1) if size > 1 else EMPTY_ROOT
        )
        position = data.draw(st.integers(0, len(proof) - 1))
        bit = data.draw(st.integers(0, 255))
        tampered = list(proof)
        byte = bit // 8
        element = bytearray(tampered[position])
        element[byte] ^= 1 << (bit % 8)
        tampered[position] = bytes(element)
        assert not verify_inclusion(index, size, hash_, tampered, root)
        other = data.draw(st.integers(0, size - 1).filter(lambda i: i != index))
        assert not verify_inclusion(other, size, hash_, proof, root)


@given(n=sizes, data=st.data())
def test_every_consistency_proof_verifies_and_tampered_ones_fail(n: int, data: st.DataObject) -> None:
    tree = Tree(leaves_of(n))
    second = data.draw(st.integers(1, n))
    first = data.draw(st.integers(1, second))
    proof = tree.consistency_proof(first, second)
    root1, root2 = tree.root(first), tree.root(second)
    assert verify_consistency(first, second, proof, root1, root2)
    if first < second:
        assert not verify_consistency(first, second, proof, root2, root1)
        assert not verify_consistency(first, second, proof, leaf_hash(b"x"), root2)
        forked = Tree([*leaves_of(first - 1), leaf_hash(b"fork"), *leaves_of(n)[first:second]])
        assert not verify_consistency(first, second, proof, root1, forked.root(second))
        position = data.draw(st.integers(0, len(proof) - 1))
        tampered = list(proof)
        tampered[position] = bytes([tampered[position][0] ^ 1]) + tampered[position][1:]
        assert not verify_consistency(first, second, tampered, root1, root2)


@given(n=sizes, data=st.data())
def test_truncating_gives_the_tree_of_that_size(n: int, data: st.DataObject) -> None:
    hashes = leaves_of(n)
    tree = Tree(hashes)
    size = data.draw(st.integers(0, n))
    tree.truncate(size)
    assert tree.size == size
    assert tree.root() == mth(hashes[:size])
    tree.append(leaf_hash(b"new"))
    assert tree.root() == mth([*hashes[:size], leaf_hash(b"new")])
