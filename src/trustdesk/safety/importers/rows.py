"""What reading a hash-list file yields: good rows, row errors, and the error for a whole bad file."""

from __future__ import annotations

from dataclasses import dataclass

from trustdesk.errors import InvalidInput
from trustdesk.safety.vocabulary import HashType


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
