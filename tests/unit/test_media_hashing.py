"""Image hashing and media sniffing: digests, PDQ words, bounded decoding, magic numbers, bad input."""

import hashlib
import io
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image

from trustdesk.errors import InvalidInput
from trustdesk.safety.hashing import (
    DIHEDRAL,
    ImageHashes,
    distance,
    hash_image,
    hash_image_file,
    normalize_hex,
)
from trustdesk.safety.hashing.pdq import bits_to_hex, distances
from trustdesk.safety.index import hex_to_words
from trustdesk.safety.media import MAX_IMAGE_PIXELS, MediaError, MediaKind, decode_image, sniff, sniff_file

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "testdata" / "pdq"
needs_data = pytest.mark.skipif(
    not (DATA / "expected.csv").is_file(), reason=f"PDQ conformance data not found at {DATA}"
)
hex_hashes = st.binary(min_size=32, max_size=32).map(bytes.hex)


def photo(size: tuple[int, int] = (640, 480), fmt: str = "JPEG", mode: str = "RGB") -> bytes:
    """A synthetic photograph-like image: seeded random blobs, smoothly interpolated (good PDQ quality)."""
    rng = np.random.default_rng(7)
    coarse = Image.fromarray(rng.integers(0, 256, (12, 16, 3), dtype=np.uint8), "RGB")
    image = coarse.resize(size, Image.Resampling.BICUBIC).convert(mode)
    buffer = io.BytesIO()
    image.save(buffer, fmt)
    return buffer.getvalue()


def png_header_bomb(width: int, height: int) -> bytes:
    """A small, valid PNG (1-bit, all black) that decodes to ``width`` x ``height`` pixels."""
    row = b"\x00" + bytes((width + 7) // 8)
    compressor = zlib.compressobj(9)
    body = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()

    def chunk(kind: bytes, payload: bytes) -> bytes:
        return (
            struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))
        )

    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", body) + chunk(b"IEND", b"")


# --- hashes as data -------------------------------------------------------------------------------------


@given(hex_hashes, hex_hashes)
def test_array_distances_agree_with_the_hex_distance(a: str, b: str) -> None:
    table = distances(hex_to_words([a]), hex_to_words([a, b]))
    assert table.tolist() == [[0, distance(a, b)]]
    assert distance(a, b) == distance(b, a)


def test_bits_pack_most_significant_bit_first() -> None:
    bits = np.zeros(256, dtype=np.int64)
    bits[0] = bits[255] = 1
    assert bits_to_hex(bits) == "80" + "0" * 60 + "01"
    with pytest.raises(ValueError, match="256 bits"):
        bits_to_hex(np.zeros(255))


@pytest.mark.parametrize("bad", ["", "abc", "g" * 64, "0" * 63, "0" * 65, "0x" + "0" * 62])
def test_malformed_hex_is_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="PDQ"):
        normalize_hex(bad)


def test_hex_is_normalised_to_lower_case() -> None:
    assert normalize_hex(" " + "AB" * 32 + "\n") == "ab" * 32


@needs_data
def test_the_index_lists_parse_as_uint64_rows() -> None:
    haystack = (DATA / "lists" / "haystack.txt").read_text().split()
    rows = hex_to_words(haystack)
    assert rows.shape == (len(haystack), 4) == (1350, 4)
    assert int(rows[0, 0]) == int(haystack[0][:16], 16)


# --- image hashing --------------------------------------------------------------------------------------


def test_image_hashes_carry_digests_of_the_bytes() -> None:
    data = photo()
    hashes = hash_image(data)
    assert isinstance(hashes, ImageHashes)
    assert hashes.md5 == hashlib.md5(data).hexdigest()
    assert hashes.sha256 == hashlib.sha256(data).hexdigest()
    assert (hashes.width, hashes.height) == (640, 480)
    assert len(hashes.dihedral) == len(DIHEDRAL) == 8
    assert hashes.pdq == hashes.dihedral[0]
    assert all(len(h) == 64 and int(h, 16) >= 0 for h in hashes.dihedral)
    assert hashes.quality == 100
    assert hashes.trustworthy


def test_hashing_is_deterministic_and_ignores_the_container() -> None:
    jpeg, png = photo(fmt="JPEG"), photo(fmt="PNG")
    assert hash_image(jpeg) == hash_image(jpeg)
    assert hash_image(jpeg).sha256 != hash_image(png).sha256
    assert distance(hash_image(jpeg).pdq, hash_image(png).pdq) <= 16


@pytest.mark.parametrize(
    ("fmt", "mode"),
    [("PNG", "RGBA"), ("PNG", "L"), ("GIF", "P"), ("WEBP", "RGB"), ("BMP", "RGB"), ("TIFF", "CMYK")],
)
def test_other_formats_and_modes_hash_alike(fmt: str, mode: str) -> None:
    reference = hash_image(photo(fmt="PNG"))
    other = hash_image(photo(fmt=fmt, mode=mode))
    assert other.quality >= 50
    assert distance(other.pdq, reference.pdq) <= 16  # PDQ hashes luminance: colour and container hardly count


def test_a_flat_image_has_no_quality() -> None:
    buffer = io.BytesIO()
    Image.new("RGB", (200, 200), (128, 128, 128)).save(buffer, "PNG")
    hashes = hash_image(buffer.getvalue())
    assert hashes.quality < 50
    assert not hashes.trustworthy


def test_a_one_pixel_image_hashes() -> None:
    buffer = io.BytesIO()
    Image.new("RGB", (1, 1), (10, 20, 30)).save(buffer, "PNG")
    assert hash_image(buffer.getvalue()).quality == 0


def test_hash_image_file(tmp_path: Path) -> None:
    path = tmp_path / "photo.bin"
    path.write_bytes(photo())
    assert hash_image_file(path) == hash_image(photo())
    with pytest.raises(MediaError, match="exceeds the limit"):
        hash_image_file(path, max_bytes=100)


# --- bad input: MediaError, and nothing else ------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"hello, this is text and not an image\n" * 20,
        b'{"json": true}',
        b"%PDF-1.7\n" + b"0" * 100,
        b"\xff\xd8\xff\xe0" + b"\x00" * 50,  # a JPEG signature and nothing sensible after it
        b"\x89PNG\r\n\x1a\n" + b"\x00" * 40,
        b"GIF89a" + b"\xff" * 20,
    ],
    ids=["empty", "text", "json", "pdf", "jpeg-garbage", "png-garbage", "gif-garbage"],
)
def test_bytes_that_are_not_an_image_are_refused(data: bytes) -> None:
    with pytest.raises(MediaError) as raised:
        hash_image(data)
    assert raised.value.code == "invalid_media"
    assert isinstance(raised.value, InvalidInput)


@pytest.mark.parametrize("keep", [0.5, 0.1, 0.02])
def test_a_truncated_jpeg_is_refused(keep: float) -> None:
    data = photo((1280, 960))
    with pytest.raises(MediaError, match="truncated"):
        hash_image(data[: int(len(data) * keep)])


@needs_data
def test_a_truncated_conformance_photo_is_refused() -> None:
    data = (DATA / "images" / "bridge-mods" / "aaa-orig.jpg").read_bytes()
    with pytest.raises(MediaError, match="truncated"):
        hash_image(data[: len(data) // 2])


def test_a_decompression_bomb_is_refused() -> None:
    """400 megapixels in 60 kB: Pillow's own guard (over twice its limit) becomes a MediaError."""
    bomb = png_header_bomb(20_000, 20_000)
    assert len(bomb) < 100_000
    with pytest.raises(MediaError, match="decompression bomb"):
        hash_image(bomb)


def test_an_image_over_our_pixel_limit_is_refused_before_decoding() -> None:
    """60 megapixels: under Pillow's limit, over ours; refused from the header alone."""
    bomb = png_header_bomb(10_000, 6_000)
    assert MAX_IMAGE_PIXELS < 10_000 * 6_000
    with pytest.raises(MediaError, match="exceeds the limit of 50000000 pixels"):
        hash_image(bomb)


def test_pillows_bomb_warning_is_a_refusal_not_a_warning() -> None:
    """Between Pillow's limit and twice it Pillow only warns; raised limits still refuse, never warn."""
    bomb = png_header_bomb(10_000, 10_000)
    with pytest.raises(MediaError, match="decompression bomb"):
        hash_image(bomb, max_pixels=200_000_000)


def test_the_pixel_limit_is_inclusive_and_configurable() -> None:
    data = photo((64, 48))
    assert hash_image(data, max_pixels=64 * 48).width == 64
    with pytest.raises(MediaError, match="exceeds the limit of 3071 pixels"):
        hash_image(data, max_pixels=64 * 48 - 1)
    with pytest.raises(MediaError, match="bytes exceeds the limit"):
        decode_image(data, max_bytes=len(data) - 1)


# --- sniffing -------------------------------------------------------------------------------------------


def mp4_header(brand: bytes) -> bytes:
    return b"\x00\x00\x00\x20ftyp" + brand + b"\x00\x00\x02\x00" + brand + b"mp41" + b"\x00" * 64


@pytest.mark.parametrize(
    ("fmt", "mode"),
    [
        ("JPEG", "RGB"),
        ("PNG", "RGBA"),
        ("GIF", "P"),
        ("WEBP", "RGB"),
        ("BMP", "RGB"),
        ("TIFF", "RGB"),
        ("ICO", "RGBA"),
    ],
)
def test_images_are_sniffed_from_their_bytes(fmt: str, mode: str) -> None:
    assert sniff(photo((64, 64), fmt=fmt, mode=mode)) is MediaKind.IMAGE


@pytest.mark.parametrize(
    "head",
    [
        mp4_header(b"isom"),
        mp4_header(b"mp42"),
        mp4_header(b"qt  "),
        mp4_header(b"3gp5"),
        b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01" + b"\x00" * 40,  # Matroska / WebM
        b"RIFF\x00\x10\x00\x00AVI LIST" + b"\x00" * 40,
        b"FLV\x01\x05\x00\x00\x00\x09" + b"\x00" * 40,
        b"\x00\x00\x01\xba\x44\x00\x04\x00" + b"\x00" * 40,  # MPEG program stream
        (b"\x47" + b"\x00" * 187) * 3,  # MPEG transport stream
        b"\x30\x26\xb2\x75\x8e\x66\xcf\x11\xa6\xd9" + b"\x00" * 40,  # ASF
    ],
    ids=["mp4", "mp42", "quicktime", "3gp", "matroska", "avi", "flv", "mpeg-ps", "mpeg-ts", "asf"],
)
def test_videos_are_sniffed_from_their_bytes(head: bytes) -> None:
    assert sniff(head) is MediaKind.VIDEO


@pytest.mark.parametrize(
    ("head", "kind"),
    [
        (mp4_header(b"heic"), MediaKind.IMAGE),
        (mp4_header(b"avif"), MediaKind.IMAGE),
        (mp4_header(b"mif1"), MediaKind.IMAGE),
        (mp4_header(b"M4A "), MediaKind.OTHER),  # audio only
        (b"RIFF\x00\x10\x00\x00WAVEfmt " + b"\x00" * 40, MediaKind.OTHER),
        (b"", MediaKind.OTHER),
        (b"BM", MediaKind.OTHER),  # two letters are not a bitmap
        (b"BMW is a car maker, not a bitmap header" * 2, MediaKind.OTHER),
        (b"PK\x03\x04" + b"\x00" * 40, MediaKind.OTHER),
        (b"%PDF-1.7", MediaKind.OTHER),
        ("plain text, ünïcödé\n".encode(), MediaKind.OTHER),
        ((b"\x47" + b"\x00" * 187) * 2, MediaKind.OTHER),  # one sync byte pattern is not a stream
    ],
    ids=["heic", "avif", "heif", "m4a", "wav", "empty", "bm", "bm-text", "zip", "pdf", "text", "short-ts"],
)
def test_sniffing_edge_cases(head: bytes, kind: MediaKind) -> None:
    assert sniff(head) is kind


def test_file_names_are_not_trusted(tmp_path: Path) -> None:
    disguised_text = tmp_path / "holiday.jpg"
    disguised_text.write_text("not a photo")
    disguised_image = tmp_path / "notes.txt"
    disguised_image.write_bytes(photo((32, 32)))
    assert sniff_file(disguised_text) is MediaKind.OTHER
    assert sniff_file(disguised_image) is MediaKind.IMAGE
    with pytest.raises(MediaError, match="not an image"):
        hash_image_file(disguised_text)
    assert hash_image_file(disguised_image).width == 32


@needs_data
def test_every_conformance_image_sniffs_as_an_image() -> None:
    images = sorted((DATA / "images").glob("*/*"))
    assert len(images) == 30
    assert {sniff_file(path) for path in images} == {MediaKind.IMAGE}
    assert sniff_file(DATA / "expected.csv") is MediaKind.OTHER
