"""C2SP tlog-checkpoint signed notes: the exact format, the Go reference note byte for byte, signature
verification, and tampered notes refused."""

import base64
import hashlib

import pytest

from trustdesk.signing.ed25519 import Ed25519Signer
from trustdesk.transparency.checkpoint import (
    Checkpoint,
    CheckpointError,
    body,
    key_id,
    open_note,
    parse_body,
    sign_checkpoint,
    sign_note,
    verifier_key,
    verify_checkpoint,
)

# golang.org/x/mod/sumdb/note's reference key and note (facts: Ed25519 is deterministic, so signing the
# text with the seed must give the published note byte for byte).
GO_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
GO_SEED = base64.b64decode("AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz")[1:]
GO_TEXT = (
    "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n"
)
GO_NOTE = (
    GO_TEXT + "\n— PeterNeumann "
    "x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
)
ORIGIN = "trustdesk.example/tlog"
ROOT = hashlib.sha256(b"root").digest()


@pytest.fixture
def signer() -> Ed25519Signer:
    return Ed25519Signer.from_seed(bytes(range(32)))


def test_the_go_reference_note_is_reproduced_byte_for_byte() -> None:
    signer = Ed25519Signer.from_seed(GO_SEED)
    assert verifier_key("PeterNeumann", signer.public_key_bytes()) == GO_VKEY
    assert key_id("PeterNeumann", signer.public_key_bytes()).hex() == "c74f20a3"
    assert sign_note(GO_TEXT, "PeterNeumann", signer) == GO_NOTE
    assert open_note(GO_NOTE, signer.public_key_bytes(), "PeterNeumann") == GO_TEXT
    with pytest.raises(CheckpointError, match="does not verify"):
        open_note(GO_NOTE.replace("cryptography", "cryptographY"), signer.public_key_bytes(), "PeterNeumann")


def test_the_checkpoint_is_exactly_the_c2sp_format(signer: Ed25519Signer) -> None:
    note = sign_checkpoint(Checkpoint(ORIGIN, 20852163, ROOT), signer)
    lines = note.split("\n")
    assert lines[:4] == [ORIGIN, "20852163", base64.b64encode(ROOT).decode(), ""]
    assert lines[5:] == [""]  # the note ends in a newline after its one signature line
    dash, name, blob = lines[4].split(" ")
    assert (dash, name) == ("\u2014", ORIGIN)
    raw = base64.b64decode(blob)
    expected_id = hashlib.sha256(ORIGIN.encode() + b"\n\x01" + signer.public_key_bytes()).digest()[:4]
    assert raw[:4] == expected_id
    assert len(raw) == 68
    text = f"{ORIGIN}\n20852163\n{base64.b64encode(ROOT).decode()}\n"
    assert body(Checkpoint(ORIGIN, 20852163, ROOT)) == text
    from trustdesk.signing.protocol import verify_signature

    assert verify_signature(signer.public_key_bytes(), text.encode(), raw[4:])
    assert verify_checkpoint(note, signer.public_key_bytes()) == Checkpoint(ORIGIN, 20852163, ROOT)


def test_the_empty_tree_is_size_zero(signer: Ed25519Signer) -> None:
    empty = hashlib.sha256(b"").digest()
    note = sign_checkpoint(Checkpoint(ORIGIN, 0, empty), signer)
    assert note.split("\n")[1] == "0"
    assert verify_checkpoint(note, signer.public_key_bytes()).size == 0


def test_tampered_notes_are_refused(signer: Ed25519Signer) -> None:
    note = sign_checkpoint(Checkpoint(ORIGIN, 7, ROOT), signer)
    other_root = base64.b64encode(hashlib.sha256(b"other").digest()).decode()
    tampered = [
        note.replace("\n7\n", "\n8\n"),  # another size
        note.replace(base64.b64encode(ROOT).decode(), other_root),  # another root
        note.replace(ORIGIN, "evil.example/tlog", 1),  # another origin: no signature of that name
        note.replace(" ", "  ", 1),
        note[:-1],  # no final newline
        note.replace("\n\n", "\n"),  # no blank line
        note + "— " + ORIGIN + " AAAA\n",  # a short signature of no key
        note.replace("\n7\n", "\n07\n"),  # leading zero
        note.replace("\u2014", "-"),
        note.replace("\n7\n", "\n7\x07\n"),  # a control character
    ]
    for bad in tampered:
        with pytest.raises(CheckpointError):
            verify_checkpoint(bad, signer.public_key_bytes())
    wrong_key = Ed25519Signer.from_seed(b"\x01" * 32).public_key_bytes()
    with pytest.raises(CheckpointError, match="no signature"):
        verify_checkpoint(note, wrong_key)
    # a flipped bit of the signature itself: the key id still matches, the signature fails
    sig_line = note.split("\n")[4]
    raw = bytearray(base64.b64decode(sig_line.split(" ")[2]))
    raw[10] ^= 1
    forged = note.replace(sig_line, f"— {ORIGIN} {base64.b64encode(bytes(raw)).decode()}")
    with pytest.raises(CheckpointError, match="does not verify"):
        verify_checkpoint(forged, signer.public_key_bytes())


def test_other_signatures_are_ignored_and_ours_must_be_there(signer: Ed25519Signer) -> None:
    note = sign_checkpoint(Checkpoint(ORIGIN, 3, ROOT), signer)
    witness = Ed25519Signer.from_seed(b"\x02" * 32)
    cosigned = sign_note(body(Checkpoint(ORIGIN, 3, ROOT)), "witness.example/w1", witness)
    both = note + cosigned.split("\n\n", 1)[1]
    assert verify_checkpoint(both, signer.public_key_bytes()).size == 3
    only_witness = cosigned
    with pytest.raises(CheckpointError, match="no signature"):
        verify_checkpoint(only_witness, signer.public_key_bytes())


@pytest.mark.parametrize(
    "text",
    [
        "origin\n1\n",  # no root line
        "\n1\n" + base64.b64encode(ROOT).decode() + "\n",  # empty origin
        "origin\n-1\n" + base64.b64encode(ROOT).decode() + "\n",
        "origin\n1\n" + base64.b64encode(ROOT[:31]).decode() + "\n",  # 31 bytes
        "origin\n1\nnot base64!\n",
        "origin\n1\n" + base64.b64encode(ROOT).decode(),  # no final newline
    ],
)
def test_malformed_bodies_are_refused(text: str) -> None:
    with pytest.raises(CheckpointError):
        parse_body(text)


def test_an_origin_with_a_space_or_plus_is_not_signed(signer: Ed25519Signer) -> None:
    for origin in ("bad origin", "bad+origin", ""):
        with pytest.raises(CheckpointError):
            sign_checkpoint(Checkpoint(origin, 1, ROOT), signer)
