"""The three formats, and telling them apart: ``ImportFormat``, ``detect_format`` and its recognisers.

Also what the reader needs to know about each format, without reading a file: ``_sniff`` refuses
empty, UTF-16/32, pickled and binary files before any line is parsed, ``_encoding_message`` words a
line that is not UTF-8, ``_is_match_output`` and ``_category`` read a pytx line's tail, and the
``_Schema``s map a CSV header (ours, or pytx's ``dataset --csv``) to a row's parts.
"""

from __future__ import annotations

import ast
import codecs
import csv
import re
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Final

from trustdesk.safety.importers.rows import ImportFileError
from trustdesk.safety.importers.values import (
    _CATEGORIES,
    _HEX,
    _NOT_INDEXED,
    _ROTATIONS,
    _TYPE_NAMES,
    MAX_LINE_BYTES,
    _show,
)

_SNIFF_BYTES: Final = 4096
_QUOTED = re.compile(r"""'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*\"""")
_MATCH_DISTANCE = re.compile(r"(?:\d+|-)")


class ImportFormat(StrEnum):
    CSV = "csv"
    TSV = "tsv"
    PYTX = "pytx"

    @classmethod
    def detect(cls, path: Path) -> ImportFormat:
        """The same as ``detect_format(path)``."""
        return detect_format(path)


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
