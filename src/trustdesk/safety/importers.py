"""Hash-list files read into validated rows, streaming: ``trustdesk bank import NAME FILE``.

Pure: no database, no network, no threatexchange import (its text is parsed, not its objects). A file is
read line by line in binary, each line decoded on its own, so a 10-million-line file takes constant
memory (a line longer than 64 KiB is an error, not a buffer); every row and every error carries the
1-based physical line number, blank lines and comments included.

Formats
=======
``csv`` and ``tsv``: a header row, then one hash a row. Quotes follow the csv module (``"a note, with a
comma"``; ``""`` inside quotes is one quote). Columns, matched case-insensitively:

- ``hash`` (required): the hex value; case-insensitive, stored lower case, surrounding spaces dropped.
- ``type`` (optional): ``pdq``, ``md5`` or ``sha256`` (pytx's and ThreatExchange's names are accepted
  too, see below). Without the column, or with the cell empty, the length decides: 32 hex is MD5, 64 hex
  is the caller's ``default_type`` (PDQ, or SHA-256 when the operator says ``--hash-type sha256``).
- ``quality`` (optional, PDQ only): an integer 0..100; below 50 is refused (PDQ hashes under 50 are not
  trustworthy). An empty cell means unknown, which is accepted.
- ``note`` (optional): free text, at most 500 characters, one line, no control characters.
- any other column is ignored, and named once in ``RowReader.warnings`` (an operator's spreadsheet often
  carries a source or date column; refusing the file for it would help nobody, silently dropping it
  would hide a typo such as ``qualty``).

Example::

    hash,type,quality,note
    f162eb9daab170c0567fe3632d9a5548c5612982dd5e374a7424ebbc8a835c95,pdq,90,"from NCMEC, batch 7"
    d3b07384d113edec49eaa6238ad5ff00,md5,,

A row may have fewer fields than the header (missing trailing cells are empty), not more: an extra field
is almost always an unquoted comma in a note. A record may not span lines.

``pytx``: the text that python-threatexchange (1.2.x) writes and an operator is likely to hold, one
signal a line, fields separated by white space. Supported, with an example line each:

- the local file exchange (``LocalFileSignalExchangeAPI``; ``report_opinion`` writes this form), the
  ``threatexchange hash`` output and ``threatexchange dataset -P -S``: ``<signal_type> <value>``::

      pdq f162eb9daab170c0567fe3632d9a5548c5612982dd5e374a7424ebbc8a835c95
      video_md5 d3b07384d113edec49eaa6238ad5ff00

- ``threatexchange dataset -P`` (with metadata): ``<signal_type> <value> '<collab>' <opinion>``, where
  the opinion is ``FetchedSignalMetadata.__str__``: the aggregate category and comma-separated tags (the
  collaboration is left out with ``-c NAME``); the metadata becomes the row's note::

      pdq f162eb9daab170c0567fe3632d9a5548c5612982dd5e374a7424ebbc8a835c95 'Sample Data' POSITIVE_CLASS t1,t2

- ``threatexchange hash --photo-preprocess rotations``: ``<ROTATION> pdq <value>`` (the rotation goes
  into the note)::

      ROTATE90 pdq 0d9a5548c5612982dd5e374a7424ebbc8a835c95f162eb9daab170c0567fe363

- one bare value a line (``threatexchange dataset -P -S -s pdq``, the file exchange with its
  ``signal_type`` set, the ``match --hashes`` input, and most lists shared by hand, such as the PDQ
  conformance lists): the type by length, as for CSV without a ``type`` column::

      f162eb9daab170c0567fe3632d9a5548c5612982dd5e374a7424ebbc8a835c95

- ``threatexchange dataset -P --csv``: a CSV with the header ``signal_type,signal_str,collab,category,
  tags`` (``detect_format`` recognises it, whatever the extension); collab, category and tags become the
  note, in the same shape as the ``dataset -P`` text::

      signal_type,signal_str,collab,category,tags
      pdq,f162eb9daab170c0567fe3632d9a5548c5612982dd5e374a7424ebbc8a835c95,Sample Data,POSITIVE_CLASS,t1 t2

Signal types: pytx's ``pdq`` → PDQ, ``video_md5`` → MD5, ``video_sha256`` → SHA-256; also accepted are
Trustdesk's own ``md5`` and ``sha256``, older pytx's ``photo_md5`` and ThreatExchange's indicator types
(``HASH_PDQ``, ``HASH_MD5``, ``HASH_VIDEO_MD5``, ``HASH_SHA256``, ``HASH_VIDEO_SHA256``). pytx types that
are not hashes Trustdesk indexes (``url``, ``url_md5``, ``raw_text``, ``trend_query``, ``vpdq``,
``text_tlsh``, ``pdq_ocr``, ``photo_dna``) are refused line by line, as are unknown names. A signal whose
category is ``NEGATIVE_CLASS`` (the exchange says: false positive or test data) or ``DISPUTED`` (its
members disagree) is refused too: put it in a bank only on purpose, never by accident of an export.

Not supported, each with a clear error: ``threatexchange match`` output (it names the signal type, the
distance and the collaboration, never the hash), the fetcher's stored state (``<collab>.state.pickle``,
binary: export it with ``threatexchange dataset -P -S``), the legacy ``simple.<TYPE>.te`` cache, UTF-16
and other binary files.

Validation (each problem is a ``RowError`` with the line; the first problem of a row is reported): the
length and hex digits for the type; an MD5 of 64 hex (or a PDQ of 32); a PDQ whose bits are nearly all 0
or all 1 (fewer than 32 or more than 224 of 256 set: a blank or flat image, matching every other such
image; PDQ sets about half its bits by construction); the MD5 and SHA-256 of empty content (they would
match every empty file) and placeholder digests of one repeated digit; a quality that is not an integer
0..100, below 50 for PDQ, or given for a non-PDQ hash; an overlong note; text that is not UTF-8.

A problem with the file itself, not one row (no such file, no ``hash`` column, an empty file, a binary
file, a format that cannot be told) raises ``ImportFileError``: no ``--skip-bad`` makes such a file
importable.

Two-pass use (the service's all-or-nothing import)::

    check = scan_file(path, fmt, default_type=t)  # pass 1: counts, the first errors, duplicates
    if not check.ok and not skip_bad: refuse, listing check.errors
    for row in read_rows(path, check.format, default_type=t):  # pass 2: the same rows again
        if isinstance(row, ImportRow): store in batches

Duplicates inside one file are yielded like any row (deduplication against the bank is the service's
job, which also makes a re-import idempotent); ``scan_file`` counts them.
"""

from __future__ import annotations

import ast
import codecs
import csv
import re
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import BinaryIO, Final

from trustdesk.errors import InvalidInput
from trustdesk.safety.vocabulary import HashType

MIN_PDQ_QUALITY: Final = 50
NOTE_LIMIT: Final = 500
MAX_LINE_BYTES: Final = 64 * 1024
PROGRESS_STEP: Final = 64 * 1024  # bytes between two progress callbacks
KEPT_ERRORS: Final = 1000  # errors an ImportCheck keeps (it counts them all)
DUPLICATE_WINDOW: Final = 1_000_000  # distinct rows scan_file remembers to count duplicates
_PDQ_MIN_BITS: Final = 32
_PDQ_MAX_BITS: Final = 256 - 32
_SNIFF_BYTES: Final = 4096


class ImportFormat(StrEnum):
    CSV = "csv"
    TSV = "tsv"
    PYTX = "pytx"

    @classmethod
    def detect(cls, path: Path) -> ImportFormat:
        """The same as ``detect_format(path)``."""
        return detect_format(path)


@dataclass(frozen=True, slots=True)
class ImportRow:
    line: int
    hash_type: HashType
    value: str  # lower-case hex
    quality: int | None  # PDQ only; None when the file does not say
    note: str | None


@dataclass(frozen=True, slots=True)
class RowError:
    line: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


class ImportFileError(InvalidInput):
    """The file as a whole cannot be imported (not one bad row): no header, empty, binary, unknown form."""

    code = "import_file_invalid"

    def __init__(self, line: int | None, message: str) -> None:
        super().__init__(message if line is None else f"line {line}: {message}", field="file")
        self.line = line
        self.reason = message


@dataclass(frozen=True)
class ImportCheck:
    """What pass 1 found: enough to refuse, or to import the good rows and report the bad ones."""

    path: Path
    format: ImportFormat
    lines: int  # physical lines, blanks and comments included
    bytes: int
    rows: int  # good rows, duplicates included
    by_type: Mapping[HashType, int]
    errors: tuple[RowError, ...]  # the first KEPT_ERRORS, in line order
    error_count: int
    duplicates: int  # good rows that repeat an earlier good row of the file
    duplicates_complete: bool  # False when the file had more distinct rows than DUPLICATE_WINDOW
    warnings: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return self.error_count == 0

    @property
    def errors_truncated(self) -> bool:
        return self.error_count > len(self.errors)


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
_QUOTED = re.compile(r"""'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*\"""")
_MATCH_DISTANCE = re.compile(r"(?:\d+|-)")


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


# --- the file ---------------------------------------------------------------------------------------


def _sniff(head: bytes, path: Path) -> None:
    """Refuse files that are not text hash lists, before reading them line by line."""
    if not head:
        raise ImportFileError(None, f"{path.name} is empty")
    if head.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        raise ImportFileError(None, f"{path.name} is UTF-32 text: save it as UTF-8")
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise ImportFileError(None, f"{path.name} is UTF-16 text: save it as UTF-8")
    if head[:1] == b"\x80" and head[1:2] in {bytes([n]) for n in range(2, 6)}:
        raise ImportFileError(
            None,
            f"{path.name} is a Python pickle (python-threatexchange's stored fetch state?), not a hash "
            "list: export it with `threatexchange dataset -P -S > list.txt` and import that",
        )
    if b"\x00" in head:
        raise ImportFileError(None, f"{path.name} is a binary file, not a text hash list")


def _is_content(text: str) -> bool:
    stripped = text.strip()
    return bool(stripped) and not stripped.startswith("#")


def _columns(text: str, delimiter: str) -> list[str]:
    cells = next(csv.reader([text], delimiter=delimiter, skipinitialspace=True), [])
    return [cell.strip().lower() for cell in cells]


def _is_pytx_csv_header(columns: list[str]) -> bool:
    return "signal_type" in columns and "signal_str" in columns and "hash" not in columns


def _looks_like_value(token: str) -> bool:
    return len(token) in {32, 64} and _HEX.fullmatch(token) is not None


def _looks_pytx(text: str) -> bool:
    tokens = text.split()
    if tokens and tokens[0] in _ROTATIONS:
        tokens = tokens[1:]
    if not tokens:
        return False
    first = tokens[0].lower()
    if first in _TYPE_NAMES or first in _NOT_INDEXED:
        return True
    return _looks_like_value(tokens[0]) and ("," not in text or len(tokens) > 1)


def detect_format(path: Path) -> ImportFormat:
    """The format of ``path``, from its extension and its first line; ImportFileError when unsure.

    A bare hash on the first line means one value a line (``pytx``) whatever the extension; the pytx
    ``dataset --csv`` header means ``pytx``; otherwise ``.csv`` and ``.tsv``/``.tab`` decide, and for any
    other name a header with a ``hash`` column (tab- or comma-separated) or a pytx line does.
    """
    path = Path(path)
    with path.open("rb") as f:
        head = f.read(_SNIFF_BYTES)
        _sniff(head, path)
        f.seek(0)
        first: str | None = None
        number = 0
        for raw in iter(lambda: f.readline(MAX_LINE_BYTES), b""):
            number += 1
            try:
                text = raw.decode("utf-8").removeprefix("\ufeff") if number == 1 else raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise ImportFileError(number, _encoding_message(raw, exc)) from None
            if _is_content(text):
                first = text.strip()
                break
    if first is None:
        raise ImportFileError(None, f"{path.name} has only blank lines and comments")
    suffix = path.suffix.lower()
    comma, tab = _columns(first, ","), _columns(first, "\t")
    if _is_pytx_csv_header(comma):
        return ImportFormat.PYTX
    if _looks_like_value(first):
        return ImportFormat.PYTX
    if suffix == ".csv":
        return ImportFormat.CSV
    if suffix in {".tsv", ".tab"}:
        return ImportFormat.TSV
    if "\t" in first and "hash" in tab:
        return ImportFormat.TSV
    if "hash" in comma:
        return ImportFormat.CSV
    if _looks_pytx(first):
        return ImportFormat.PYTX
    raise ImportFileError(
        number,
        f"cannot tell the format of {path.name} from its name and its first line {_show(first, 50)}: "
        "pass --format csv, tsv or pytx",
    )


def _encoding_message(raw: bytes, exc: UnicodeDecodeError) -> str:
    column = len(raw[: exc.start].decode("utf-8", "replace")) + 1
    return f"not UTF-8 (byte 0x{raw[exc.start]:02x} at column {column}): save the file as UTF-8"


@dataclass(frozen=True)
class _Schema:
    """Which header names fill which part of a row."""

    value: str
    type: str | None
    quality: str | None
    note: str | None
    known: tuple[str, ...]
    pytx: bool = False


_CSV_SCHEMA: Final = _Schema("hash", "type", "quality", "note", ("hash", "type", "quality", "note"))
_PYTX_CSV_SCHEMA: Final = _Schema(
    "signal_str", "signal_type", None, None, ("signal_type", "signal_str", "collab", "category", "tags"), True
)


class RowReader:
    """An iterable of the rows and row errors of one file, in line order, with progress.

    ``bytes_read`` grows as lines are consumed (the file is never read ahead by more than a line), and
    ``on_progress(bytes_read)`` is called every ``PROGRESS_STEP`` bytes and at the end. ``warnings``
    collects file-level remarks (unknown columns) once each. Iterating again reads the file again.
    """

    def __init__(
        self,
        path: Path,
        fmt: ImportFormat | None = None,
        *,
        default_type: HashType = HashType.PDQ,
        on_progress: Callable[[int], None] | None = None,
    ) -> None:
        if default_type is HashType.MD5:
            raise ValueError("default_type is for 64-hex values: pdq or sha256 (32 hex is always md5)")
        self.path = Path(path)
        if not self.path.is_file():
            raise ImportFileError(None, f"no such file: {self.path}")
        self.format = detect_format(self.path) if fmt is None else ImportFormat(fmt)
        self.default_type = default_type
        self.total_bytes = self.path.stat().st_size
        self.bytes_read = 0
        self.lines = 0
        self.warnings: list[str] = []
        self._on_progress = on_progress
        self._pending: list[RowError] = []
        self._record_start: int | None = None
        self._record_end = 0

    def __iter__(self) -> Iterator[ImportRow | RowError]:
        return self._rows()

    def _rows(self) -> Iterator[ImportRow | RowError]:
        self.bytes_read = self.lines = 0
        self.warnings = []
        self._pending = []
        produced = False
        with self.path.open("rb") as f:
            _sniff(f.read(_SNIFF_BYTES), self.path)
            f.seek(0)
            lines = self._lines(f)
            if self.format is ImportFormat.PYTX:
                rows = self._pytx(lines)
            else:
                rows = self._tabular(lines, "," if self.format is ImportFormat.CSV else "\t", _CSV_SCHEMA)
            for row in rows:
                produced = True
                yield row
            if self._pending:
                produced = True
                yield from self._flush()
        if self._on_progress is not None:
            self._on_progress(self.bytes_read)
        if not produced:
            raise ImportFileError(
                None, f"{self.path.name} has no hashes ({self.lines} lines of headers, blanks and comments)"
            )

    def _flush(self) -> Iterator[RowError]:
        pending, self._pending = self._pending, []
        yield from pending

    def _lines(self, f: BinaryIO) -> Iterator[tuple[int, str]]:
        """Physical lines, decoded, with their numbers; a bad line becomes a pending RowError."""
        reported = 0
        number = 0
        while raw := f.readline(MAX_LINE_BYTES):
            number += 1
            self.lines = number
            self.bytes_read += len(raw)
            if self._on_progress is not None and self.bytes_read - reported >= PROGRESS_STEP:
                reported = self.bytes_read
                self._on_progress(self.bytes_read)
            if len(raw) == MAX_LINE_BYTES and not raw.endswith(b"\n"):
                while (more := f.readline(MAX_LINE_BYTES)) and not more.endswith(b"\n"):
                    self.bytes_read += len(more)
                self.bytes_read += len(more)
                self._pending.append(RowError(number, f"the line is longer than {MAX_LINE_BYTES} bytes"))
                continue
            if number == 1 and raw.startswith(codecs.BOM_UTF8):
                raw = raw[len(codecs.BOM_UTF8) :]
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                self._pending.append(RowError(number, _encoding_message(raw, exc)))
                continue
            yield number, text

    # --- csv and tsv (and pytx's dataset --csv) -----------------------------------------------------

    def _feed(self, lines: Iterator[tuple[int, str]]) -> Iterator[str]:
        """What the csv module reads: content lines only, noting where each record starts and ends."""
        for number, text in lines:
            if not _is_content(text):
                continue
            if self._record_start is None:
                self._record_start = number
            self._record_end = number
            yield text

    def _next_record(self, reader: Iterator[list[str]]) -> tuple[int, list[str] | RowError] | None:
        self._record_start = None
        try:
            record = next(reader)
        except StopIteration:
            return None
        except csv.Error as exc:
            line = self._record_start or self._record_end
            return line, RowError(line, f"not valid CSV: {exc}")
        line = self._record_start or self._record_end
        if self._record_end != line:
            return line, RowError(
                line,
                f"the record runs on to line {self._record_end}: a quoted field spans lines "
                "(an unbalanced '\"'?)",
            )
        return line, record

    def _tabular(
        self, lines: Iterator[tuple[int, str]], delimiter: str, schema: _Schema
    ) -> Iterator[ImportRow | RowError]:
        reader = csv.reader(self._feed(lines), delimiter=delimiter, skipinitialspace=True)
        first = self._next_record(reader)
        if self._pending:
            raise ImportFileError(self._pending[0].line, self._pending[0].message)
        if first is None:
            raise ImportFileError(None, f"{self.path.name} has no header row (only blank lines and comments)")
        header_line, header = first
        if isinstance(header, RowError):
            raise ImportFileError(header_line, header.message)
        columns = [cell.strip().lower() for cell in header]
        if schema is _CSV_SCHEMA and _is_pytx_csv_header(columns):
            if self.format is ImportFormat.PYTX:
                schema = _PYTX_CSV_SCHEMA
            else:
                raise ImportFileError(
                    header_line,
                    "this is `threatexchange dataset --csv` output, with no 'hash' column: "
                    "import it with --format pytx (or without --format)",
                )
        index = self._header_index(header_line, header, columns, schema)
        width = len(columns)
        value_at = index[schema.value]
        type_at = index.get(schema.type) if schema.type else None
        quality_at = index.get(schema.quality) if schema.quality else None
        note_at = index.get(schema.note) if schema.note else None
        while (item := self._next_record(reader)) is not None:
            yield from self._flush()
            line, record = item
            if isinstance(record, RowError):
                yield record
                continue
            if len(record) > width:
                yield RowError(
                    line,
                    f"{len(record)} fields but the header has {width} columns "
                    "(quote a note that contains the delimiter)",
                )
                continue
            record.extend([""] * (width - len(record)))
            value = record[value_at]
            if not value.strip():
                yield RowError(line, f"no hash in the {schema.value!r} column")
                continue
            if schema.pytx:
                yield self._pytx_csv_row(line, record, index)
                continue
            yield _row(
                line,
                value,
                record[type_at] if type_at is not None else None,
                record[quality_at] if quality_at is not None else None,
                record[note_at] if note_at is not None else None,
                self.default_type,
            )

    def _header_index(
        self, line: int, header: list[str], columns: list[str], schema: _Schema
    ) -> dict[str, int]:
        index: dict[str, int] = {}
        unknown: list[str] = []
        for position, name in enumerate(columns):
            if name in schema.known:
                if name in index:
                    raise ImportFileError(line, f"the column {name!r} appears twice")
                index[name] = position
            else:
                unknown.append(repr(header[position].strip()) if name else f"(unnamed column {position + 1})")
        if schema.value not in index:
            listed = ", ".join(repr(cell.strip()) for cell in header)
            hint = ""
            if any(_looks_like_value(cell.strip()) for cell in header):
                hint = (
                    f"; line {line} is a hash, not a header: a CSV or TSV file starts with a header row "
                    "(hash, and optionally type, quality, note); for one hash a line use --format pytx"
                )
            raise ImportFileError(line, f"no {schema.value!r} column; columns are: {listed}{hint}")
        if unknown:
            self.warnings.append(
                f"line {line}: ignoring unknown columns {', '.join(unknown)} "
                f"(known: {', '.join(schema.known)})"
            )
        return index

    def _pytx_csv_row(self, line: int, record: list[str], index: dict[str, int]) -> ImportRow | RowError:
        def cell(name: str) -> str:
            at = index.get(name)
            return record[at].strip() if at is not None else ""

        category = cell("category")
        if category in _REFUSED_CATEGORIES:
            return RowError(line, f"category {category}: {_REFUSED_CATEGORIES[category]}; not imported")
        collab = cell("collab")
        tags = ",".join(cell("tags").split())
        note = " ".join(part for part in (repr(collab) if collab else "", category, tags) if part)
        return _row(
            line,
            cell("signal_str"),
            cell("signal_type") or None,
            None,
            note,
            self.default_type,
            derived_note=True,
        )

    # --- pytx text --------------------------------------------------------------------------------

    def _pytx(self, lines: Iterator[tuple[int, str]]) -> Iterator[ImportRow | RowError]:
        first = True
        for number, text in lines:
            yield from self._flush()
            if not _is_content(text):
                continue
            if first and _is_pytx_csv_header(_columns(text.strip(), ",")):
                yield from self._tabular(_chain(number, text, lines), ",", _CSV_SCHEMA)
                return
            first = False
            yield self._pytx_line(number, text.strip())

    def _pytx_line(self, line: int, text: str) -> ImportRow | RowError:
        parts = text.split(None, 1)
        rotation = None
        if parts[0] in _ROTATIONS and len(parts) > 1:
            rotation = parts[0]
            parts = parts[1].split(None, 1)
        first = parts[0]
        rest = parts[1] if len(parts) > 1 else ""
        key = first.lower()
        if key in _TYPE_NAMES or key in _NOT_INDEXED:
            if key in _NOT_INDEXED:
                return RowError(line, _not_indexed(key))
            if not rest:
                return RowError(line, f"signal type {key!r} but no value after it")
            type_name: str | None = first
            value, *more = rest.split(None, 1)
            rest = more[0] if more else ""
        else:
            second = rest.split(None, 1)[0] if rest else ""
            if second and _HEX.fullmatch(second) and len(second) >= 16:
                return RowError(line, f"unknown signal type {_show(first)}; Trustdesk indexes {_INDEXED}")
            type_name, value = None, first
        if _is_match_output(value, rest):
            return RowError(
                line,
                "this is `threatexchange match` output (signal type, distance, collaboration, opinion): "
                "it names no hash; export the hashes with `threatexchange dataset -P -S`",
            )
        category = _category(rest)
        if category in _REFUSED_CATEGORIES:
            return RowError(line, f"category {category}: {_REFUSED_CATEGORIES[category]}; not imported")
        note = f"rotation {rotation} {rest}" if rotation else rest
        return _row(line, value, type_name, None, note, self.default_type, derived_note=True)


def _chain(number: int, text: str, rest: Iterator[tuple[int, str]]) -> Iterator[tuple[int, str]]:
    yield number, text
    yield from rest


def _is_match_output(value: str, rest: str) -> bool:
    """``pdq 12 (Sample Data) POSITIVE_CLASS`` or ``pdq ROTATE90 12 (Sample Data) ...``."""
    if value in _ROTATIONS:
        value, _, rest = rest.partition(" ")
        rest = rest.strip()
    return _MATCH_DISTANCE.fullmatch(value) is not None and rest.startswith("(")


def _category(rest: str) -> str | None:
    """The opinion category in ``dataset -P`` metadata: after the collaboration's repr, if any."""
    if not rest:
        return None
    quoted = _QUOTED.match(rest)
    if quoted is not None:
        try:
            ast.literal_eval(quoted.group())
        except (ValueError, SyntaxError):
            return None
        rest = rest[quoted.end() :].strip()
    token = rest.split(None, 1)[0] if rest else ""
    return token if token in _CATEGORIES else None


# --- entry points -----------------------------------------------------------------------------------


def read_rows(
    path: Path,
    fmt: ImportFormat | None = None,
    *,
    default_type: HashType = HashType.PDQ,
    on_progress: Callable[[int], None] | None = None,
) -> Iterator[ImportRow | RowError]:
    """Every row and row error of ``path`` in line order, lazily (see the module's docstring).

    Raises ImportFileError (at once for an unknown format, on the first ``next`` for a bad header or a
    binary file, at the end for a file with no hashes at all).
    """
    return iter(RowReader(path, fmt, default_type=default_type, on_progress=on_progress))


def scan_file(
    path: Path,
    fmt: ImportFormat | None = None,
    *,
    default_type: HashType = HashType.PDQ,
    on_progress: Callable[[int], None] | None = None,
    kept_errors: int = KEPT_ERRORS,
    duplicate_window: int = DUPLICATE_WINDOW,
) -> ImportCheck:
    """Pass 1 of an import: read every row, count good rows per type, errors and duplicates.

    Memory is bounded: ``kept_errors`` errors are kept (all are counted), and duplicates are counted
    among the first ``duplicate_window`` distinct rows (about 60 bytes each); past it the count is a
    lower bound and ``duplicates_complete`` is False.
    """
    reader = RowReader(path, fmt, default_type=default_type, on_progress=on_progress)
    by_type: Counter[HashType] = Counter()
    errors: list[RowError] = []
    error_count = duplicates = 0
    seen: set[int] = set()
    complete = True
    for item in reader:
        if isinstance(item, RowError):
            error_count += 1
            if len(errors) < kept_errors:
                errors.append(item)
            continue
        by_type[item.hash_type] += 1
        key = hash((item.hash_type, item.value))
        if key in seen:
            duplicates += 1
        elif len(seen) < duplicate_window:
            seen.add(key)
        else:
            complete = False
    return ImportCheck(
        path=reader.path,
        format=reader.format,
        lines=reader.lines,
        bytes=reader.bytes_read,
        rows=sum(by_type.values()),
        by_type=dict(by_type),
        errors=tuple(errors),
        error_count=error_count,
        duplicates=duplicates,
        duplicates_complete=complete,
        warnings=tuple(reader.warnings),
    )
