"""The exact PDQ index: 100% recall against brute force, incremental changes, persistence, bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trustdesk.safety.index import (
    IndexFormatError,
    Layout,
    PdqIndex,
    choose_layout,
    hex_to_words,
    words_to_hex,
)

PDQ_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "testdata" / "pdq"
SMALL = Layout((22,) * 8 + (20,) * 4)  # the 10-million layout, exercised on small data


def random_words(rng: np.random.Generator, n: int) -> np.ndarray:
    return rng.integers(0, 2**64, size=(n, 4), dtype=np.uint64)


def flip(rng: np.random.Generator, words: np.ndarray, bits: int) -> np.ndarray:
    out = words.copy()
    for b in rng.choice(256, size=bits, replace=False):
        out[b // 64] ^= np.uint64(1) << np.uint64(b % 64)
    return out


def distances(hashes: np.ndarray, query: np.ndarray) -> np.ndarray:
    return np.bitwise_count(hashes ^ query).sum(axis=1, dtype=np.int64)


def brute(
    hashes: np.ndarray, labels: np.ndarray, query: np.ndarray, radius: int
) -> list[tuple[int, str, int]]:
    d = distances(hashes, query)
    hit = np.nonzero(d <= radius)[0]
    hexes = words_to_hex(hashes[hit]) if len(hit) else []
    return sorted(
        set(zip(labels[hit].tolist(), hexes, d[hit].tolist(), strict=True))
    )  # rows are (hash, label)


def found(index: PdqIndex, query: np.ndarray, radius: int) -> list[tuple[int, str, int]]:
    return sorted(tuple(m) for m in index.search(query, radius))  # type: ignore[misc]


def assert_exact(index: PdqIndex, hashes: np.ndarray, labels: np.ndarray, queries: np.ndarray,
                 radii: tuple[int, ...]) -> None:  # fmt: skip
    for radius in radii:
        batch = index.search_batch(queries, radius)
        for i, q in enumerate(queries):
            expected = brute(hashes, labels, q, radius)
            assert found(index, q, radius) == expected, (i, radius)
            assert sorted(tuple(m) for m in batch.for_query(i)) == expected, (i, radius)


@pytest.fixture(scope="module")
def rng() -> np.random.Generator:
    return np.random.default_rng(20261202)


# recall -----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("layout", [None, SMALL, Layout((16,) * 16)], ids=["chosen", "10M", "16x16"])
def test_recall_random_and_planted(rng: np.random.Generator, layout: Layout | None) -> None:
    hashes = random_words(rng, 3000)
    labels = rng.integers(0, 5, 3000).astype(np.uint32)
    index = PdqIndex.from_arrays(hashes, labels, layout=layout)
    planted = np.array([flip(rng, hashes[rng.integers(3000)], d) for d in range(32)])
    queries = np.concatenate([planted, random_words(rng, 8)])
    assert_exact(index, hashes, labels, queries, (0, 1, 8, 31))
    for d in range(32):  # the planted copy at distance d is found at radius d, not below
        assert any(m.distance == d for m in index.search(planted[d], d))


def test_recall_large_radii(rng: np.random.Generator) -> None:
    hashes = random_words(rng, 1500)
    labels = np.zeros(1500, np.uint32)
    index = PdqIndex.from_arrays(hashes, labels, layout=SMALL)
    queries = np.array([flip(rng, hashes[i], 30 + i) for i in range(12)])
    assert_exact(index, hashes, labels, queries, (32, 40, 63, 128))


def test_recall_clustered(rng: np.random.Generator) -> None:
    centres = random_words(rng, 4)
    hashes = np.array([flip(rng, centres[i % 4], int(rng.integers(0, 12))) for i in range(2000)])
    labels = rng.integers(0, 3, 2000).astype(np.uint32)
    index = PdqIndex.from_arrays(hashes, labels, layout=SMALL)
    queries = np.array([flip(rng, c, d) for c in centres for d in (0, 5, 20, 31)])
    assert_exact(index, hashes, labels, queries, (0, 8, 31))


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(0, 300),
    radius=st.integers(0, 63),
    widths=st.sampled_from([(16,) * 16, (20,) * 8 + (16,) * 6, (12,) * 8 + (10,) * 16, (8,) * 32]),
)
def test_recall_property(seed: int, n: int, radius: int, widths: tuple[int, ...]) -> None:
    rng = np.random.default_rng(seed)
    centre = random_words(rng, 1)[0]
    hashes = np.array([flip(rng, centre, int(rng.integers(0, 64))) for _ in range(n)], np.uint64).reshape(
        n, 4
    )
    labels = rng.integers(0, 2, n).astype(np.uint32)
    index = PdqIndex.from_arrays(hashes, labels, layout=Layout(widths))
    queries = np.array([flip(rng, centre, int(rng.integers(0, 40))) for _ in range(3)])
    assert_exact(index, hashes, labels, queries, (radius,))


def test_conformance_lists() -> None:
    lists = PDQ_DATA / "lists"
    if not (lists / "haystack.txt").exists():
        pytest.skip(f"PDQ conformance lists not found in {lists} (the shared test data folder)")
    haystack = hex_to_words((lists / "haystack.txt").read_text().split())
    needles = hex_to_words((lists / "needles.txt").read_text().split())
    labels = np.arange(haystack.shape[0], dtype=np.uint32) % 7
    index = PdqIndex.from_arrays(haystack, labels, layout=SMALL)
    assert_exact(index, haystack, labels, needles, (0, 16, 31))
    assert sum(len(index.search(q)) for q in needles) > 0


def test_layout_fits_memory_at_ten_million() -> None:
    n = 10_000_000
    layout = choose_layout(n)
    assert layout.table_bytes(n) + 36 * n + n // 8 <= 3 * 32 * n
    assert sum(r + 1 for r in layout.radii_for(31, n)) >= 32


# incremental ------------------------------------------------------------------------------------------
def test_add_and_remove_take_effect_at_once(rng: np.random.Generator) -> None:
    hashes = random_words(rng, 500)
    index = PdqIndex.from_arrays(hashes, 1)
    new = random_words(rng, 3)
    assert index.search(new[0]) == []
    assert index.add(new, [2, 2, 3]) == 3
    assert [(m.label, m.distance) for m in index.search(flip(rng, new[0], 5))] == [(2, 5)]
    assert index.add(new[:1], 2) == 0  # already there: no-op, not reported twice
    assert len(index.search(new[0], 0)) == 1
    assert index.remove(new[:1], 2) == 1  # delta row
    assert index.search(new[0]) == []
    assert index.remove(hashes[7], 1) == 1  # base row
    assert index.search(hashes[7], 0) == []
    assert index.remove(hashes[7], 1) == 0
    assert index.add(hashes[7], 1) == 1  # revived
    assert len(index.search(hashes[7], 0)) == 1
    assert len(index) == 500 + 2


def test_labels_kept_apart(rng: np.random.Generator) -> None:
    h = random_words(rng, 1)
    index = PdqIndex.from_arrays(np.concatenate([h, h, h]), [4, 9, 4])  # (h, 4) given twice: kept once
    assert sorted(m.label for m in index.search(h[0])) == [4, 9]
    index.add(h, 11)
    assert sorted(m.label for m in index.search(h[0])) == [4, 9, 11]
    index.remove(h, 9)
    assert sorted(m.label for m in index.search(h[0])) == [4, 11]


# persistence ------------------------------------------------------------------------------------------
def test_build_open_in_another_process(tmp_path: Path, rng: np.random.Generator) -> None:
    hashes = random_words(rng, 2000)
    labels = rng.integers(0, 100, 2000).astype(np.uint32)
    index = PdqIndex.build(tmp_path / "idx", hashes, labels, watermark=42)
    assert index.watermark == 42
    queries = np.array([flip(rng, hashes[i], i % 32) for i in range(20)])
    expected = [sorted(tuple(m) for m in index.search(q)) for q in queries]
    assert all(expected)
    for name in ("hashes", "labels", "offsets", "ids"):
        arr = getattr(index._base, name)
        assert isinstance(arr, np.memmap), name  # mapped from the file, not copied into private memory
        assert not arr.flags.writeable, name
    script = (
        "import json, sys, numpy as np\n"
        "from trustdesk.safety.index import PdqIndex, hex_to_words\n"
        "index = PdqIndex.open(sys.argv[1])\n"
        "qs = hex_to_words(json.loads(sys.stdin.read()))\n"
        "print(json.dumps([sorted(tuple(m) for m in index.search(q)) for q in qs]))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path / "idx")],
        input=json.dumps(words_to_hex(queries)), capture_output=True, text=True, check=True, timeout=120,
    )  # fmt: skip
    assert [[tuple(m) for m in ms] for ms in json.loads(out.stdout)] == expected
    rebuilt = index.compact(tmp_path / "idx", watermark=43)  # over the existing directory
    assert rebuilt.watermark == 43
    assert len(rebuilt) == 2000


def test_compact_folds_delta_and_removals(tmp_path: Path, rng: np.random.Generator) -> None:
    hashes = random_words(rng, 300)
    index = PdqIndex.build(tmp_path / "a", hashes, 0)
    extra = random_words(rng, 5)
    index.add(extra, 1)
    index.remove(hashes[:10], 0)
    new = index.compact(tmp_path / "b", watermark=7)
    assert new.delta_count == 0
    assert len(new) == 295
    assert new.search(hashes[0], 0) == []
    assert len(new.search(extra[0], 0)) == 1
    new.verify()


@pytest.mark.parametrize(
    "damage", ["meta_json", "meta_version", "meta_count", "truncate", "missing", "dtype"]
)
def test_corrupt_directory_refused(tmp_path: Path, rng: np.random.Generator, damage: str) -> None:
    directory = tmp_path / "idx"
    PdqIndex.build(directory, random_words(rng, 400), 3)
    meta = json.loads((directory / "meta.json").read_text())
    if damage == "meta_json":
        (directory / "meta.json").write_text("{not json")
    elif damage == "meta_version":
        (directory / "meta.json").write_text(json.dumps({**meta, "version": 99}))
    elif damage == "meta_count":
        (directory / "meta.json").write_text(json.dumps({**meta, "count": 401}))
    elif damage == "truncate":
        data = (directory / "ids.npy").read_bytes()
        (directory / "ids.npy").write_bytes(data[: len(data) // 2])
    elif damage == "missing":
        (directory / "offsets.npy").unlink()
    else:
        np.save(directory / "labels.npy", np.zeros(400, np.int64))
    with pytest.raises(IndexFormatError):
        PdqIndex.open(directory)


def test_corrupt_entries_detected(tmp_path: Path, rng: np.random.Generator) -> None:
    directory = tmp_path / "idx"
    hashes = random_words(rng, 400)
    PdqIndex.build(directory, hashes, 3)
    ids = np.load(directory / "ids.npy")
    ids[:] = 10**6  # every row id out of range
    np.save(directory / "ids.npy", ids)
    index = PdqIndex.open(directory)  # cheap checks pass; the kernels refuse to follow bad ids
    with pytest.raises(IndexFormatError):
        index.verify()
    with pytest.raises(IndexFormatError, match="out-of-range"):
        index.search_batch(hashes[:50])


def test_corrupt_bucket_bounds_detected(tmp_path: Path, rng: np.random.Generator) -> None:
    directory = tmp_path / "idx"
    hashes = random_words(rng, 400)
    PdqIndex.build(directory, hashes, 3)
    offsets = np.load(directory / "offsets.npy")
    second = (1 << PdqIndex.open(directory).layout.widths[0]) + 1  # chunk 1's table
    offsets[second + 1 : second + (1 << 15)] = 10**6  # bounds past the rows (first and last stay valid)
    np.save(directory / "offsets.npy", offsets)
    index = PdqIndex.open(directory)
    with pytest.raises(IndexFormatError):
        index.verify()
    with pytest.raises(IndexFormatError, match="out-of-range"):
        index.search_batch(hashes[:50])


def test_many_candidates_and_matches_per_query() -> None:
    # 3,000 rows of one hash under distinct labels: every chunk's bucket holds all of them, so one query
    # has 36,000 candidates (past the kernel's first candidate buffer) and 3,000 matches
    hashes = np.tile(np.array([[1, 2, 3, 4]], np.uint64), (3000, 1))
    labels = np.arange(3000, dtype=np.uint32)
    for layout in (SMALL, Layout((16,) * 16)):
        index = PdqIndex.from_arrays(hashes, labels, layout=layout)
        matches = index.search(hashes[0], 31)
        assert sorted(m.label for m in matches) == list(range(3000))
        assert {m.distance for m in matches} == {0}
        batch = index.search_batch(np.concatenate([hashes[:2], random_words(np.random.default_rng(1), 2)]))
        assert [len(batch.for_query(i)) for i in range(4)] == [3000, 3000, 0, 0]


def test_open_missing_directory(tmp_path: Path) -> None:
    with pytest.raises(IndexFormatError, match=r"no meta\.json"):
        PdqIndex.open(tmp_path / "nowhere")


# bad input --------------------------------------------------------------------------------------------
def test_hex_round_trip(rng: np.random.Generator) -> None:
    words = random_words(rng, 1000)
    hexes = words_to_hex(words)
    assert all(len(h) == 64 for h in hexes)
    assert np.array_equal(hex_to_words(hexes), words)
    assert np.array_equal(hex_to_words([h.upper() for h in hexes[:3]]), words[:3])
    assert words_to_hex(hex_to_words("0" * 63 + "1")) == ["0" * 63 + "1"]
    assert int(hex_to_words("0" * 63 + "1")[0, 3]) == 1


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (["ab" * 31], "64 hex digits"),
        (["ab" * 33], "64 hex digits"),
        (["zz" * 32], "non-hex"),
        (["0" * 62 + " 1"], "non-hex"),
        (np.zeros((2, 4), np.int64), "uint64"),
        (np.zeros((2, 3), np.uint64), "shape"),
        (np.zeros(4, np.float64), "uint64"),
    ],
)
def test_bad_hashes(value: object, message: str) -> None:
    index = PdqIndex.from_arrays(np.zeros((1, 4), np.uint64), 0)
    with pytest.raises(ValueError, match=message):
        index.search_batch(value)
    with pytest.raises(ValueError, match=message):
        index.add(value, 1)


def test_bad_radius_and_labels() -> None:
    index = PdqIndex.from_arrays(np.zeros((1, 4), np.uint64), 0)
    for radius in (-1, 257, 3.5, True):
        with pytest.raises(ValueError, match="radius"):
            index.search("0" * 64, radius)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="labels"):
        index.add(np.zeros((2, 4), np.uint64), [1])
    with pytest.raises(ValueError, match="labels"):
        index.add(np.zeros((1, 4), np.uint64), [-1])
    with pytest.raises(ValueError, match="one hash"):
        index.search(np.zeros((2, 4), np.uint64))


def test_batch_iterates_per_query(rng: np.random.Generator) -> None:
    hashes = random_words(rng, 100)
    index = PdqIndex.from_arrays(hashes, 6)
    index.add(hashes[:1], 8)
    found = index.search_batch(np.concatenate([hashes[:2], random_words(rng, 1)]))
    assert len(found) == 3
    assert found.count == 3
    per_query = [[(h.label, words_to_hex(h.hash)[0], h.distance) for h in hits] for hits in found]
    assert per_query == [[(6, words_to_hex(hashes[0])[0], 0), (8, words_to_hex(hashes[0])[0], 0)],
                         [(6, words_to_hex(hashes[1])[0], 0)], []]  # fmt: skip


def test_empty_index() -> None:
    index = PdqIndex.empty()
    assert index.search("0" * 64) == []
    index.add(np.zeros((1, 4), np.uint64), 5)
    assert [m.label for m in index.search("0" * 64)] == [5]
