"""Signed tree heads as C2SP ``tlog-checkpoint`` signed notes, Ed25519 (pure but for the signer).

A checkpoint (c2sp.org/tlog-checkpoint) is the note text::

    trustdesk.example/tlog        <- origin
    1234                          <- tree size, decimal
    <base64 of the RFC 9162 root hash>

followed by a blank line and a signature line (c2sp.org/signed-note)::

    — trustdesk.example/tlog <base64(key id (4 bytes) || Ed25519 signature of the note text (64 bytes))>

where the key id is ``SHA-256(name || 0x0A || 0x01 || 32-byte public key)[:4]``. The key name is the
origin. Witnesses and verifiers of the Go ecosystem (golang.org/x/mod/sumdb/note) read these notes given the
verifier key `verifier_key` prints. Anyone holding the platform's public key checks one with
`verify_checkpoint`.
"""

import base64
import binascii
import hashlib
import re
from dataclasses import dataclass

from trustdesk.signing.protocol import PUBLIC_KEY_SIZE, SIGNATURE_SIZE, Signer, verify_signature

__all__ = [
    "Checkpoint",
    "CheckpointError",
    "body",
    "key_id",
    "open_note",
    "parse_body",
    "sign_checkpoint",
    "sign_note",
    "verifier_key",
    "verify_checkpoint",
]

ED25519 = 0x01
"""The signed-note signature type of Ed25519."""
MAX_NOTE = 64 * 1024
MAX_SIGNATURES = 100
_ORIGIN = re.compile(r"[^\s+]+")
_SIZE = re.compile(r"0|[1-9][0-9]{0,19}")
_SIGNATURE_LINE = re.compile(r"— (?P<name>[^\s+]+) (?P<signature>[A-Za-z0-9+/=]+)")


class CheckpointError(ValueError):
    """A note that is not a well-formed checkpoint, or whose signature does not verify."""


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    size: int
    root_hash: bytes
    extensions: tuple[str, ...] = ()


def body(checkpoint: Checkpoint) -> str:
    """The note text of a checkpoint: origin, size, base64 root hash, each on its own line."""
    lines = [
        checkpoint.origin,
        str(checkpoint.size),
        base64.b64encode(checkpoint.root_hash).decode(),
        *checkpoint.extensions,
    ]
    return "\n".join(lines) + "\n"


def key_id(name: str, public_key: bytes) -> bytes:
    """The signed-note key id of an Ed25519 key: ``SHA-256(name || 0x0A || 0x01 || key)[:4]``."""
    return hashlib.sha256(name.encode() + b"\n" + bytes([ED25519]) + public_key).digest()[:4]


def verifier_key(name: str, public_key: bytes) -> str:
    """The key as Go's note verifiers take it: ``name+hex(key id)+base64(0x01 || key)``."""
    encoded = base64.b64encode(bytes([ED25519]) + public_key).decode()
    return f"{name}+{key_id(name, public_key).hex()}+{encoded}"


def sign_note(text: str, name: str, signer: Signer) -> str:
    """``text`` (ending in a newline) as a signed note, signed by ``signer`` under the key ``name``."""
    if not _ORIGIN.fullmatch(name):
        raise CheckpointError(f"the key name {name!r} is empty or holds a space or a plus")
    if not text.endswith("\n") or "\n\n" in text:
        raise CheckpointError("a checkpoint's note text ends in a newline and has no blank line")
    signature = signer.sign(text.encode())
    blob = base64.b64encode(key_id(name, signer.public_key_bytes()) + signature).decode()
    return f"{text}\n— {name} {blob}\n"


def sign_checkpoint(checkpoint: Checkpoint, signer: Signer) -> str:
    """The signed note of ``checkpoint``, signed by ``signer`` under the key name of its origin."""
    return sign_note(body(checkpoint), checkpoint.origin, signer)


def _decode(text: str, what: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise CheckpointError(f"{what} is not base64") from None


def parse_body(text: str) -> Checkpoint:
    """The checkpoint of a note text (ending in a newline), checked line by line against the format."""
    if not text.endswith("\n"):
        raise CheckpointError("the note text does not end in a newline")
    lines = text[:-1].split("\n")
    if len(lines) < 3:
        raise CheckpointError("a checkpoint has an origin, a tree size and a root hash line")
    origin, size, root, *extensions = lines
    if not origin:
        raise CheckpointError("the origin line is empty")
    if not _SIZE.fullmatch(size):
        raise CheckpointError(f"the tree size {size!r} is not a decimal number without leading zeros")
    root_hash = _decode(root, "the root hash")
    if len(root_hash) != hashlib.sha256().digest_size or base64.b64encode(root_hash).decode() != root:
        raise CheckpointError("the root hash is not the base64 of 32 bytes")
    if any(not line for line in extensions):
        raise CheckpointError("an extension line is empty")
    return Checkpoint(origin, int(size), root_hash, tuple(extensions))


def _split_note(note: str) -> tuple[str, list[str]]:
    if len(note.encode()) > MAX_NOTE:
        raise CheckpointError(f"the note is longer than {MAX_NOTE} bytes")
    if any(ord(c) < 0x20 and c != "\n" for c in note):
        raise CheckpointError("the note holds a control character")
    if not note.endswith("\n"):
        raise CheckpointError("the note does not end in a newline")
    separator = note.rfind("\n\n")
    if separator < 0:
        raise CheckpointError("the note has no blank line before its signatures")
    text, signatures = note[: separator + 1], note[separator + 2 : -1].split("\n")
    if len(signatures) > MAX_SIGNATURES:
        raise CheckpointError(f"the note has more than {MAX_SIGNATURES} signatures")
    return text, signatures


def open_note(note: str, public_key: bytes, name: str) -> str:
    """The text of ``note`` once a signature of ``public_key`` (raw Ed25519) under ``name`` verifies;
    `CheckpointError` says why not otherwise.

    As signed-note requires: signatures of other keys (witnesses' cosignatures, say) are ignored, a
    failing signature of the key refuses the whole note, and a note without one is refused.
    """
    if len(public_key) != PUBLIC_KEY_SIZE:
        raise CheckpointError(f"an Ed25519 public key is {PUBLIC_KEY_SIZE} bytes")
    text, lines = _split_note(note)
    expected_id = key_id(name, public_key)
    verified = False
    for line in lines:
        match = _SIGNATURE_LINE.fullmatch(line)
        if match is None:
            raise CheckpointError(f"not a signature line: {line[:80]!r}")
        blob = _decode(match["signature"], "a signature")
        if len(blob) < 5:
            raise CheckpointError("a signature is shorter than its key id")
        if match["name"] != name or blob[:4] != expected_id:
            continue  # another key's signature (a witness): not ours to judge
        if len(blob) != 4 + SIGNATURE_SIZE or not verify_signature(public_key, text.encode(), blob[4:]):
            raise CheckpointError(f"the signature of {name} does not verify: the note was altered")
        verified = True
    if not verified:
        raise CheckpointError(f"the note carries no signature of {name} with this key")
    return text


def verify_checkpoint(note: str, public_key: bytes, *, name: str | None = None) -> Checkpoint:
    """The checkpoint of ``note`` once a signature of ``public_key`` under ``name`` (default: the
    checkpoint's origin, the log's key name) verifies (`open_note`)."""
    text, _ = _split_note(note)
    checkpoint = parse_body(text)
    open_note(note, public_key, checkpoint.origin if name is None else name)
    return checkpoint
