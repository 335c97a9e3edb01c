"""One row's cells validated: hash values, signal-type names, PDQ quality, notes, and their limits.

Pure string checks, no file: ``normalise_hash`` (length, hex digits, degenerate PDQ hashes, placeholder
and empty-content digests), ``resolve_type`` (ours, pytx's and ThreatExchange's type names), and
``_row``, which turns one record's cells into an ``ImportRow`` or the ``RowError`` of its first problem.
"""

from __future__ import annotations

import re
from typing import Final

from trustdesk.safety.importers.rows import ImportRow, RowError
from trustdesk.safety.vocabulary import HashType

MIN_PDQ_QUALITY: Final = 50
NOTE_LIMIT: Final = 500
MAX_LINE_BYTES: Final = 64 * 1024
_PDQ_MIN_BITS: Final = 32
_PDQ_MAX_BITS: Final = 256 - 32


# --- hashes and signal types --------------------------------------------------------------------------

_HEX = re.compile(r"[0-9A-Fa-f]+")
_NOT_HEX = re.compile(r"[^0-9A-Fa-f]")
_DIGITS = re.compile(r"[0-9]{1,3}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_LENGTH: Final = {HashType.PDQ: 64, HashType.MD5: 32, HashType.SHA256: 64}
_LABEL: Final = {HashType.PDQ: "PDQ", HashType.MD5: "MD5", HashType.SHA256: "SHA-256"}
_EMPTY_CONTENT: Final = {
    "d41d8cd98f00b204e9800998ecf8427e": "the MD5",
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855": "the SHA-256",
}

# Names an operator's file may use for a type, lower case. pytx's come from SignalType.get_name().
_TYPE_NAMES: Final = {
    "pdq": HashType.PDQ,
    "md5": HashType.MD5,
    "sha256": HashType.SHA256,
    "video_md5": HashType.MD5,  # pytx VideoMD5Signal
    "video_sha256": HashType.SHA256,  # pytx VideoSHA256Signal
    "photo_md5": HashType.MD5,  # older pytx releases
    "hash_pdq": HashType.PDQ,  # ThreatExchange indicator types
    "hash_md5": HashType.MD5,
    "hash_video_md5": HashType.MD5,
    "hash_sha256": HashType.SHA256,
    "hash_video_sha256": HashType.SHA256,
}
# pytx (and ThreatExchange) signal types that exist but are not hashes Trustdesk indexes.
_NOT_INDEXED: Final = frozenset(
    {
        "url",
        "url_md5",
        "raw_text",
        "trend_query",
        "vpdq",
        "text_tlsh",
        "pdq_ocr",
        "photo_dna",
        "photodna",
        "uri",
        "hash_tmk",
        "hash_pdq_ocr",
        "hash_text_tlsh",
        "hash_photodna",
    }
)
_INDEXED: Final = "pdq, md5 and sha256 (pytx: pdq, video_md5, video_sha256)"
_ROTATIONS: Final = frozenset(
    {"ORIGINAL", "ROTATE90", "ROTATE180", "ROTATE270", "FLIPX", "FLIPY", "FLIPPLUS1", "FLIPMINUS1"}
)
_REFUSED_CATEGORIES: Final = {
    "NEGATIVE_CLASS": "the exchange marks this signal a false positive or test data",
    "DISPUTED": "members of the exchange disagree about this signal",
}
_CATEGORIES: Final = frozenset({"INVESTIGATION_SEED", "POSITIVE_CLASS", *_REFUSED_CATEGORIES})


def _show(value: str, limit: int = 70) -> str:
    """A value for a message: quoted, and cut short when long."""
    return repr(value if len(value) <= limit else value[: limit - 3] + "...")


def _article(label: str) -> str:
    return "an" if label[0] in "AEIMS" else "a"  # an MD5, an SHA-256 ("ess"), a PDQ


def _not_indexed(key: str) -> str:
    return f"signal type {key!r} is not a hash Trustdesk indexes; it indexes {_INDEXED}"


def resolve_type(name: str) -> HashType:
    """The HashType for a type name from a file (ours, pytx's, ThreatExchange's); ValueError otherwise."""
    key = name.strip().lower()
    try:
        return _TYPE_NAMES[key]
    except KeyError:
        pass
    if key in _NOT_INDEXED:
        raise ValueError(_not_indexed(key))
    raise ValueError(f"unknown signal type {_show(name.strip())}; Trustdesk indexes {_INDEXED}")


def normalise_hash(value: str, hash_type: HashType) -> str:
    """``value`` as lower-case hex of the right length for ``hash_type``; ValueError with a message."""
    value = value.strip()
    want = _LENGTH[hash_type]
    label = _LABEL[hash_type]
    if len(value) != want or not _HEX.fullmatch(value):
        problem = f"{_show(value)} is not a {want}-hex {label} hash"
        bad = _NOT_HEX.search(value)
        if bad is not None:
            raise ValueError(f"{problem}: {bad.group()!r} at position {bad.start() + 1} is not a hex digit")
        like = [_LABEL[t] for t, n in _LENGTH.items() if n == len(value) and t is not hash_type]
        hint = f", like {_article(like[0])} {' or '.join(like)} hash (check its type)" if like else ""
        raise ValueError(f"{problem}: it has {len(value)} characters{hint}")
    value = value.lower()
    if hash_type is HashType.PDQ:
        ones = int(value, 16).bit_count()
        if not _PDQ_MIN_BITS <= ones <= _PDQ_MAX_BITS:
            raise ValueError(
                f"{_show(value)} is a degenerate PDQ hash: {ones} of its 256 bits are set, where a real "
                "one sets about half (a blank or flat image, which would match every other such image)"
            )
    elif len(set(value)) == 1:
        raise ValueError(f"{_show(value)} is a placeholder, not {_article(label)} {label} digest")
    elif value in _EMPTY_CONTENT:
        raise ValueError(
            f"{_show(value)} is {_EMPTY_CONTENT[value]} of empty content: it would match every empty file"
        )
    return value


def _type_for(value: str, type_name: str | None, default_type: HashType) -> HashType:
    """The type a row names, or the one its length implies."""
    if type_name:
        return resolve_type(type_name)
    length = len(value.strip())
    if length == _LENGTH[HashType.MD5]:
        return HashType.MD5
    if length == _LENGTH[default_type]:
        return default_type
    shown = _show(value.strip())
    bad = _NOT_HEX.search(value.strip())
    detail = (
        f"{bad.group()!r} at position {bad.start() + 1} is not a hex digit"
        if bad is not None
        else f"it has {length} characters"
    )
    raise ValueError(f"{shown} is not a 64-hex {_LABEL[default_type]} hash or a 32-hex MD5 hash: {detail}")


def _quality(cell: str | None, hash_type: HashType) -> int | None:
    text = (cell or "").strip()
    if not text:
        return None
    if not _DIGITS.fullmatch(text) or int(text) > 100:
        shown = text if text.isascii() and text.isdigit() else _show(text)
        raise ValueError(f"quality {shown} is not an integer 0..100")
    quality = int(text)
    if hash_type is not HashType.PDQ:
        raise ValueError(
            f"quality {quality} given for {_article(_LABEL[hash_type])} "
            f"{_LABEL[hash_type]} hash: only PDQ hashes have a quality"
        )
    if quality < MIN_PDQ_QUALITY:
        raise ValueError(
            f"quality {quality} is below {MIN_PDQ_QUALITY}: PDQ hashes under {MIN_PDQ_QUALITY} "
            "are not trustworthy"
        )
    return quality


def _note(cell: str | None) -> str | None:
    text = (cell or "").strip()
    if not text:
        return None
    if len(text) > NOTE_LIMIT:
        raise ValueError(f"note is {len(text)} characters; the limit is {NOTE_LIMIT}")
    bad = _CONTROL.search(text)
    if bad is not None:
        raise ValueError(f"note contains a control character (U+{ord(bad.group()):04X})")
    return text


def _derived_note(text: str) -> str | None:
    """A note made from an export's metadata: cut to the limit rather than refused (the hash is good)."""
    text = _CONTROL.sub(" ", text).strip()
    if not text:
        return None
    return text if len(text) <= NOTE_LIMIT else text[: NOTE_LIMIT - 1] + "…"


def _row(
    line: int,
    value: str,
    type_name: str | None,
    quality: str | None,
    note: str | None,
    default_type: HashType,
    *,
    derived_note: bool = False,
) -> ImportRow | RowError:
    try:
        hash_type = _type_for(value, type_name, default_type)
        return ImportRow(
            line=line,
            hash_type=hash_type,
            value=normalise_hash(value, hash_type),
            quality=_quality(quality, hash_type),
            note=_derived_note(note or "") if derived_note else _note(note),
        )
    except ValueError as exc:
        return RowError(line, str(exc))
