"""Hash-list importers: every format, every error with its line, streaming, format detection."""

import io
import random
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from rich.console import Console

from trustdesk.safety.importers import (
    MAX_LINE_BYTES,
    NOTE_LIMIT,
    ImportCheck,
    ImportFileError,
    ImportFormat,
    ImportRow,
    RowError,
    RowReader,
    detect_format,
    normalise_hash,
    read_rows,
    resolve_type,
    scan_file,
)
from trustdesk.safety.progress import import_progress
from trustdesk.safety.vocabulary import HashType

LISTS = Path(__file__).resolve().parents[2].parent / "shared" / "testdata" / "pdq" / "lists"

PDQ_A = "f162eb9daab170c0567fe3632d9a5548c5612982dd5e374a7424ebbc8a835c95"
PDQ_B = "b062eb9d2ab170c0567fcb672d9a5548c5612982dd5e374a7424ebbc8b135cb5"
MD5 = "d3b07384d113edec49eaa6238ad5ff00"
SHA = "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03"
ZERO_PDQ = "0" * 64

Write = Callable[..., Path]


@pytest.fixture
def write(tmp_path: Path) -> Write:
    """Write a file (str as UTF-8 without newline translation, or bytes) and return its path."""

    def _write(content: str | bytes, name: str = "list.csv") -> Path:
        path = tmp_path / name
        path.write_bytes(content.encode() if isinstance(content, str) else content)
        return path

    return _write


def rows(path: Path, fmt: ImportFormat | None = None, **kwargs: HashType) -> list[ImportRow | RowError]:
    return list(read_rows(path, fmt, **kwargs))


def good(items: list[ImportRow | RowError]) -> list[ImportRow]:
    assert all(isinstance(item, ImportRow) for item in items), [str(i) for i in items]
    return [item for item in items if isinstance(item, ImportRow)]


def errors(items: list[ImportRow | RowError]) -> list[str]:
    return [str(item) for item in items if isinstance(item, RowError)]


def only_error(path: Path, fmt: ImportFormat | None = None, **kwargs: HashType) -> str:
    found = errors(rows(path, fmt, **kwargs))
    assert len(found) == 1, found
    return found[0]


# --- CSV and TSV: good data -------------------------------------------------------------------------


def test_csv_with_every_column_reads_rows_with_line_numbers(write: Write) -> None:
    path = write(f"hash,type,quality,note\n{PDQ_A},pdq,90,first\n{MD5},md5,,\n{SHA},sha256,,a video\n")
    assert good(rows(path)) == [
        ImportRow(2, HashType.PDQ, PDQ_A, 90, "first"),
        ImportRow(3, HashType.MD5, MD5, None, None),
        ImportRow(4, HashType.SHA256, SHA, None, "a video"),
    ]


def test_csv_quoting_crlf_bom_upper_case_comments_and_blanks(write: Write) -> None:
    path = write(
        "\ufeff# exported 2026-11-02\r\n"
        "\r\n"
        "Hash , Quality , NOTE\r\n"
        f'"{PDQ_A.upper()}",  77 ,"a note, with a comma and ""quotes"""\r\n'
        "   \r\n"
        "# a comment between rows, with a comma\r\n"
        f"  {MD5.upper()}  ,, \r\n"
    )
    assert good(rows(path)) == [
        ImportRow(4, HashType.PDQ, PDQ_A, 77, 'a note, with a comma and "quotes"'),
        ImportRow(7, HashType.MD5, MD5, None, None),
    ]


def test_bom_directly_before_the_header(write: Write) -> None:
    path = write(f"\ufeffhash\n{PDQ_A}\n")
    assert good(rows(path)) == [ImportRow(2, HashType.PDQ, PDQ_A, None, None)]


def test_tsv(write: Write) -> None:
    path = write(f"hash\tquality\tnote\r\n{PDQ_A}\t100\tone, two\r\n{MD5}\t\t\r\n", "list.tsv")
    assert detect_format(path) is ImportFormat.TSV
    assert good(rows(path)) == [
        ImportRow(2, HashType.PDQ, PDQ_A, 100, "one, two"),
        ImportRow(3, HashType.MD5, MD5, None, None),
    ]


def test_without_a_type_column_64_hex_is_the_default_type(write: Write) -> None:
    path = write(f"hash\n{PDQ_A}\n{MD5}\n")
    assert [(r.hash_type, r.value) for r in good(rows(path))] == [(HashType.PDQ, PDQ_A), (HashType.MD5, MD5)]
    as_sha = good(rows(path, default_type=HashType.SHA256))
    assert [r.hash_type for r in as_sha] == [HashType.SHA256, HashType.MD5]


def test_an_empty_type_cell_is_inferred_and_pytx_names_are_accepted(write: Write) -> None:
    path = write(f"hash,type\n{PDQ_A},\n{MD5},video_md5\n{SHA},HASH_VIDEO_SHA256\n")
    assert [r.hash_type for r in good(rows(path))] == [HashType.PDQ, HashType.MD5, HashType.SHA256]


def test_md5_is_not_a_default_type(write: Write) -> None:
    with pytest.raises(ValueError, match="pdq or sha256"):
        RowReader(write(f"hash\n{PDQ_A}\n"), default_type=HashType.MD5)


def test_unknown_columns_are_ignored_and_named_once(write: Write) -> None:
    path = write(f"hash,source,qualty,\n{PDQ_A},ncmec,80,\n{PDQ_B},iwf,90,\n")
    reader = RowReader(path)
    assert [r.value for r in good(list(reader))] == [PDQ_A, PDQ_B]
    assert reader.warnings == [
        (
            "line 1: ignoring unknown columns 'source', 'qualty', (unnamed column 4) "
            "(known: hash, type, quality, note)"
        )
    ]


def test_short_rows_have_empty_trailing_cells(write: Write) -> None:
    path = write(f"hash,quality,note\n{PDQ_A}\n")
    assert good(rows(path)) == [ImportRow(2, HashType.PDQ, PDQ_A, None, None)]


def test_duplicates_are_yielded_and_counted(write: Write) -> None:
    path = write(f"hash\n{PDQ_A}\n{PDQ_A.upper()}\n{PDQ_B}\n")
    assert [r.line for r in good(rows(path))] == [2, 3, 4]
    check = scan_file(path)
    assert (check.rows, check.duplicates, check.duplicates_complete) == (3, 1, True)


def test_the_duplicate_window_bounds_memory(write: Write) -> None:
    path = write(f"hash\n{PDQ_A}\n{PDQ_B}\n{PDQ_B}\n{PDQ_A}\n")
    check = scan_file(path, duplicate_window=1)
    assert (check.duplicates, check.duplicates_complete) == (1, False)  # PDQ_A remembered, PDQ_B not


# --- CSV and TSV: every error, with its line -------------------------------------------------------


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("abc", "'abc' is not a 64-hex PDQ hash or a 32-hex MD5 hash: it has 3 characters"),
        ("abc,pdq", "'abc' is not a 64-hex PDQ hash: it has 3 characters"),
        (
            f"{PDQ_A[:-1]}z,pdq",
            f"'{PDQ_A[:-1]}z' is not a 64-hex PDQ hash: 'z' at position 64 is not a hex digit",
        ),
        (
            f"{PDQ_A[:-1]}g",
            f"'{PDQ_A[:-1]}g' is not a 64-hex PDQ hash: 'g' at position 64 is not a hex digit",
        ),
        ("abz", "'abz' is not a 64-hex PDQ hash or a 32-hex MD5 hash: 'z' at position 3 is not a hex digit"),
        (
            f"{PDQ_A},md5",
            (
                f"'{PDQ_A}' is not a 32-hex MD5 hash: it has 64 characters, like a PDQ or SHA-256 hash "
                "(check its type)"
            ),
        ),
        (
            f"{MD5},pdq",
            f"'{MD5}' is not a 64-hex PDQ hash: it has 32 characters, like an MD5 hash (check its type)",
        ),
        (f"{MD5},sha256", f"'{MD5}' is not a 64-hex SHA-256 hash: it has 32 characters, like an MD5 hash"),
        (f"{PDQ_A},url", "signal type 'url' is not a hash Trustdesk indexes; it indexes pdq, md5 and sha256"),
        (f"{PDQ_A},photo", "unknown signal type 'photo'; Trustdesk indexes pdq, md5 and sha256"),
        (",pdq", "no hash in the 'hash' column"),
        (
            f"{ZERO_PDQ},pdq",
            (
                f"'{ZERO_PDQ}' is a degenerate PDQ hash: 0 of its 256 bits are set, "
                "where a real one sets about half"
            ),
        ),
        (f"{'f' * 64},pdq", "is a degenerate PDQ hash: 256 of its 256 bits are set"),
        (
            "d41d8cd98f00b204e9800998ecf8427e,md5",
            "'d41d8cd98f00b204e9800998ecf8427e' is the MD5 of empty content: it would match every empty file",
        ),
        (
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855,sha256",
            "is the SHA-256 of empty content",
        ),
        (f"{'0' * 32},md5", f"'{'0' * 32}' is a placeholder, not an MD5 digest"),
        (f"{'F' * 64},sha256", f"'{'f' * 64}' is a placeholder, not an SHA-256 digest"),
        (f"{PDQ_A},pdq,high", "quality 'high' is not an integer 0..100"),
        (f"{PDQ_A},pdq,-5", "quality '-5' is not an integer 0..100"),
        (f"{PDQ_A},pdq,80.0", "quality '80.0' is not an integer 0..100"),
        (f"{MD5},md5,80", "quality 80 given for an MD5 hash: only PDQ hashes have a quality"),
        (
            f"{PDQ_A},pdq,90,a,b",
            "5 fields but the header has 4 columns (quote a note that contains the delimiter)",
        ),
        (f'{PDQ_A},pdq,90,"tab\there"', "note contains a control character (U+0009)"),
    ],
)
def test_row_errors_name_the_line(write: Write, row: str, message: str) -> None:
    path = write(f"# a list\nhash,type,quality,note\n{PDQ_B},pdq,90,fine\n\n{row}\n{PDQ_A},pdq,,fine\n")
    items = rows(path)
    assert [item.line for item in items] == [3, 5, 6]
    assert isinstance(items[1], RowError)
    assert str(items[1]).startswith("line 5: ")
    assert message in str(items[1])


@pytest.mark.parametrize(
    ("quality", "outcome"),
    [
        ("0", "quality 0 is below 50: PDQ hashes under 50 are not trustworthy"),
        ("49", "quality 49 is below 50: PDQ hashes under 50 are not trustworthy"),
        ("50", 50),
        ("100", 100),
        ("101", "quality 101 is not an integer 0..100"),
        ("1000", "quality 1000 is not an integer 0..100"),
        ("", None),
    ],
)
def test_quality_boundaries(write: Write, quality: str, outcome: int | str | None) -> None:
    [item] = rows(write(f"hash,quality\n{PDQ_A},{quality}\n"))
    if isinstance(outcome, str):
        assert str(item) == f"line 2: {outcome}"
    else:
        assert isinstance(item, ImportRow)
        assert item.quality == outcome


def test_note_limit(write: Write) -> None:
    at_limit, over = "n" * NOTE_LIMIT, "n" * (NOTE_LIMIT + 1)
    items = rows(write(f"hash,note\n{PDQ_A},{at_limit}\n{PDQ_B},{over}\n"))
    assert isinstance(items[0], ImportRow)
    assert items[0].note == at_limit
    assert str(items[1]) == f"line 3: note is {NOTE_LIMIT + 1} characters; the limit is {NOTE_LIMIT}"


def test_a_quoted_field_may_not_span_lines(write: Write) -> None:
    path = write(f'hash,note\n{PDQ_A},"stray quote\n{PDQ_B},x"\n{MD5},\n')
    assert errors(rows(path)) == [
        "line 2: the record runs on to line 3: a quoted field spans lines (an unbalanced '\"'?)"
    ]
    assert [r.line for r in rows(path) if isinstance(r, ImportRow)] == [4]


def test_not_utf8_is_an_error_at_its_line_and_the_rest_is_read(write: Write) -> None:
    path = write(f"hash,note\n{PDQ_A},caf\xe9\n".encode("latin-1") + f"{PDQ_B},ok\n".encode())
    items = rows(path)
    assert str(items[0]) == "line 2: not UTF-8 (byte 0xe9 at column 69): save the file as UTF-8"
    assert isinstance(items[1], ImportRow)
    assert items[1].line == 3


def test_an_overlong_line_is_an_error_and_reading_goes_on(write: Write) -> None:
    path = write(f"hash,note\n{PDQ_A},{'x' * MAX_LINE_BYTES}\n{PDQ_B},\n")
    items = rows(path)
    assert str(items[0]) == f"line 2: the line is longer than {MAX_LINE_BYTES} bytes"
    assert isinstance(items[1], ImportRow)
    assert items[1].line == 3


# --- file-level errors ------------------------------------------------------------------------------


def test_no_hash_column(write: Write) -> None:
    path = write(f"sha,quality\n{PDQ_A},90\n")
    with pytest.raises(ImportFileError, match=r"^line 1: no 'hash' column; columns are: 'sha', 'quality'$"):
        rows(path)


def test_no_hash_column_after_comments_names_the_header_line(write: Write) -> None:
    with pytest.raises(ImportFileError, match=r"^line 3: no 'hash' column"):
        rows(write(f"# list\n\nvalue\n{PDQ_A}\n"))


def test_a_headerless_csv_gets_a_hint(write: Write) -> None:
    path = write(f"{PDQ_A},90\n")
    with pytest.raises(ImportFileError, match=r"line 1 is a hash, not a header.*--format pytx"):
        rows(path, ImportFormat.CSV)


def test_a_column_twice(write: Write) -> None:
    with pytest.raises(ImportFileError, match=r"^line 1: the column 'hash' appears twice$"):
        rows(write(f"hash,Hash\n{PDQ_A},{PDQ_B}\n"))


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "list.csv is empty"),
        (b"# only\n\n   \n# comments\n", "only blank lines and comments"),
        ("hash\n".encode("utf-16"), "list.csv is UTF-16 text: save it as UTF-8"),
        (b"\x80\x04\x95\x10\x00", "list.csv is a Python pickle"),
        (b"hash\n\x00\x01\x02", "list.csv is a binary file"),
    ],
)
def test_files_that_are_not_hash_lists(write: Write, content: bytes, message: str) -> None:
    path = write(content)
    with pytest.raises(ImportFileError, match=message):
        detect_format(path)
    with pytest.raises(ImportFileError, match=message):
        rows(path, ImportFormat.CSV)


def test_a_header_without_rows_has_no_hashes(write: Write) -> None:
    with pytest.raises(ImportFileError, match=r"list.csv has no hashes \(3 lines"):
        rows(write("# x\nhash,quality\n\n"))


def test_only_comments_with_an_explicit_format(write: Write) -> None:
    with pytest.raises(ImportFileError, match=r"list\.txt has no hashes"):
        rows(write("# nothing\n", "list.txt"), ImportFormat.PYTX)
    with pytest.raises(ImportFileError, match="no header row"):
        rows(write("# nothing\n", "list.txt"), ImportFormat.CSV)


def test_a_bad_header_encoding_is_a_file_error(write: Write) -> None:
    with pytest.raises(ImportFileError, match=r"^line 1: not UTF-8"):
        rows(write(b"h\xe9sh\n" + PDQ_A.encode()), ImportFormat.CSV)


def test_file_errors_carry_a_stable_code(write: Write) -> None:
    with pytest.raises(ImportFileError) as caught:
        rows(write("nope\n"), ImportFormat.CSV)
    assert (caught.value.code, caught.value.line, caught.value.reason) == (
        "import_file_invalid",
        1,
        "no 'hash' column; columns are: 'nope'",
    )


# --- pytx -------------------------------------------------------------------------------------------


def test_pytx_lines_of_each_supported_signal_type(write: Write) -> None:
    path = write(
        "# threatexchange dataset -P -S\n"
        f"pdq {PDQ_A}\n"
        f"video_md5 {MD5.upper()}\n"
        f"video_sha256 {SHA}\n"
        f"md5 {MD5}\n"
        f"sha256 {SHA}\n"
        "\n"
        f"photo_md5\t{MD5}\n",
        "signals.txt",
    )
    assert detect_format(path) is ImportFormat.PYTX
    assert [(r.line, r.hash_type, r.value, r.note) for r in good(rows(path))] == [
        (2, HashType.PDQ, PDQ_A, None),
        (3, HashType.MD5, MD5, None),
        (4, HashType.SHA256, SHA, None),
        (5, HashType.MD5, MD5, None),
        (6, HashType.SHA256, SHA, None),
        (8, HashType.MD5, MD5, None),
    ]


def test_pytx_dataset_print_with_metadata(write: Write) -> None:
    path = write(
        f"pdq {PDQ_A} 'Sample Data' POSITIVE_CLASS tag1,tag2\n"
        f'pdq {PDQ_B} "Bob\'s list" INVESTIGATION_SEED\n'
        f"pdq {PDQ_A} INVESTIGATION_SEED +1 +ncmec\n"  # -c one collab; StopNCII's metadata
        f"pdq {PDQ_B} 'Sample Data' NEGATIVE_CLASS\n"
        f"video_md5 {MD5} 'X' DISPUTED a\n",
        "dataset.txt",
    )
    items = rows(path)
    assert [(r.line, r.note) for r in items if isinstance(r, ImportRow)] == [
        (1, "'Sample Data' POSITIVE_CLASS tag1,tag2"),
        (2, '"Bob\'s list" INVESTIGATION_SEED'),
        (3, "INVESTIGATION_SEED +1 +ncmec"),
    ]
    assert errors(items) == [
        (
            "line 4: category NEGATIVE_CLASS: the exchange marks this signal a false positive or test data; "
            "not imported"
        ),
        "line 5: category DISPUTED: members of the exchange disagree about this signal; not imported",
    ]


def test_pytx_fields_may_be_separated_by_tabs(write: Write) -> None:
    path = write(f"pdq\t{PDQ_A}\t'Sample Data'\tPOSITIVE_CLASS\n", "signals.txt")
    assert [(r.value, r.note) for r in good(rows(path))] == [(PDQ_A, "'Sample Data' POSITIVE_CLASS")]


def test_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ImportFileError, match="no such file"):
        read_rows(tmp_path / "nope.csv", ImportFormat.CSV)


def test_pytx_hash_rotations(write: Write) -> None:
    path = write(f"ORIGINAL pdq {PDQ_A}\nROTATE90 pdq {PDQ_B}\n pdq {PDQ_A}\n", "hashes.txt")
    assert [(r.value, r.note) for r in good(rows(path))] == [
        (PDQ_A, "rotation ORIGINAL"),
        (PDQ_B, "rotation ROTATE90"),
        (PDQ_A, None),
    ]


def test_pytx_bare_values(write: Write) -> None:
    path = write(f"{PDQ_A}\n{MD5}\n{PDQ_B} 'Sample Data' POSITIVE_CLASS\n", "bare.txt")
    assert [(r.hash_type, r.note) for r in good(rows(path))] == [
        (HashType.PDQ, None),
        (HashType.MD5, None),
        (HashType.PDQ, "'Sample Data' POSITIVE_CLASS"),
    ]
    assert next(r.hash_type for r in good(rows(path, default_type=HashType.SHA256))) is HashType.SHA256


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("url https://example.com/x", "signal type 'url' is not a hash Trustdesk indexes"),
        (f"url_md5 {MD5}", "signal type 'url_md5' is not a hash Trustdesk indexes"),
        ("raw_text hello world", "signal type 'raw_text' is not a hash Trustdesk indexes"),
        ("trend_query {}", "signal type 'trend_query' is not a hash Trustdesk indexes"),
        ("vpdq 0,abc,100,0.0", "signal type 'vpdq' is not a hash Trustdesk indexes"),
        (f"text_tlsh {SHA}", "signal type 'text_tlsh' is not a hash Trustdesk indexes"),
        (f"pdq_ocr {PDQ_A}", "signal type 'pdq_ocr' is not a hash Trustdesk indexes"),
        ("url", "signal type 'url' is not a hash Trustdesk indexes"),
        (f"photo {PDQ_A}", "unknown signal type 'photo'; Trustdesk indexes pdq, md5 and sha256"),
        ("pdq", "signal type 'pdq' but no value after it"),
        ("pdq abc", "'abc' is not a 64-hex PDQ hash: it has 3 characters"),
        (f"video_md5 {PDQ_A}", "is not a 32-hex MD5 hash: it has 64 characters"),
        (f"pdq {ZERO_PDQ}", "is a degenerate PDQ hash"),
        ("abc", "'abc' is not a 64-hex PDQ hash or a 32-hex MD5 hash: it has 3 characters"),
        ("pdq 12 (Sample Data) POSITIVE_CLASS", "this is `threatexchange match` output"),
        ("pdq ROTATE90 3 (Sample Data) POSITIVE_CLASS", "this is `threatexchange match` output"),
        ("video_md5 - (Sample Data) POSITIVE_CLASS", "this is `threatexchange match` output"),
    ],
)
def test_pytx_errors_name_the_line(write: Write, line: str, message: str) -> None:
    path = write(f"pdq {PDQ_A}\n# comment\n{line}\npdq {PDQ_B}\n", "signals.txt")
    items = rows(path, ImportFormat.PYTX)
    assert [item.line for item in items] == [1, 3, 4]
    assert str(items[1]).startswith("line 3: ")
    assert message in str(items[1])


def test_pytx_dataset_csv(write: Write) -> None:
    path = write(
        "signal_type,signal_str,collab,category,tags\r\n"
        f"pdq,{PDQ_A},Sample Data,POSITIVE_CLASS,tag1 tag2\r\n"
        f"video_md5,{MD5},Sample Data,INVESTIGATION_SEED,\r\n"
        f"pdq,{PDQ_B},Sample Data,NEGATIVE_CLASS,\r\n"
        "url,https://example.com,Sample Data,POSITIVE_CLASS,\r\n",
        "collab.csv",
    )
    assert detect_format(path) is ImportFormat.PYTX
    items = rows(path)
    assert [(r.line, r.hash_type, r.note) for r in items if isinstance(r, ImportRow)] == [
        (2, HashType.PDQ, "'Sample Data' POSITIVE_CLASS tag1,tag2"),
        (3, HashType.MD5, "'Sample Data' INVESTIGATION_SEED"),
    ]
    assert [e.split(":")[0] for e in errors(items)] == ["line 4", "line 5"]
    assert "is not a hash Trustdesk indexes" in errors(items)[1]


def test_pytx_dataset_csv_read_as_plain_csv_says_what_to_do(write: Write) -> None:
    path = write(f"signal_type,signal_str,collab,category,tags\npdq,{PDQ_A},S,POSITIVE_CLASS,\n")
    with pytest.raises(ImportFileError, match=r"`threatexchange dataset --csv` output.*--format pytx"):
        rows(path, ImportFormat.CSV)


def test_pytx_notes_from_metadata_are_cut_not_refused(write: Write) -> None:
    tags = ",".join(f"tag{n}" for n in range(200))
    [row] = good(rows(write(f"pdq {PDQ_A} 'S' POSITIVE_CLASS {tags}\n", "x.txt")))
    assert row.note is not None
    assert len(row.note) == NOTE_LIMIT
    assert row.note.endswith("…")


def test_the_conformance_haystack_imports() -> None:
    haystack = LISTS / "haystack.txt"
    if not haystack.is_file():
        pytest.skip(f"the PDQ conformance lists are not here: {LISTS}")
    assert detect_format(haystack) is ImportFormat.PYTX
    check = scan_file(haystack)
    expected = sum(1 for line in haystack.read_text().splitlines() if line.strip())
    assert (check.ok, check.rows, check.by_type) == (True, expected, {HashType.PDQ: expected})
    first = next(read_rows(haystack))
    assert first == ImportRow(1, HashType.PDQ, haystack.read_text().split()[0], None, None)


# --- detect_format ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("list.csv", "hash,quality\n", ImportFormat.CSV),
        ("list.CSV", "# c\nwhatever\n", ImportFormat.CSV),  # the extension decides (the reader will refuse)
        ("list.tsv", "hash\tquality\n", ImportFormat.TSV),
        ("list.tab", "hash\n", ImportFormat.TSV),
        ("list.txt", "hash\tnote\n", ImportFormat.TSV),
        ("list.txt", "\ufeffHash,Note\n", ImportFormat.CSV),
        ("list", "hash\n", ImportFormat.CSV),
        ("list.txt", f"pdq {PDQ_A}\n", ImportFormat.PYTX),
        ("list.txt", f"# x\n\nurl {PDQ_A}\n", ImportFormat.PYTX),
        ("list.txt", f"ROTATE90 pdq {PDQ_A}\n", ImportFormat.PYTX),
        ("list.csv", f"{PDQ_A}\n", ImportFormat.PYTX),  # one bare hash a line, whatever the name
        ("list.te", f"{MD5}\n", ImportFormat.PYTX),
        ("list.txt", "signal_type,signal_str,collab,category,tags\n", ImportFormat.PYTX),
        ("list.tsv", "signal_type,signal_str,collab,category,tags\n", ImportFormat.PYTX),
    ],
)
def test_detect_format(write: Write, name: str, content: str, expected: ImportFormat) -> None:
    path = write(content, name)
    assert detect_format(path) is expected
    assert ImportFormat.detect(path) is expected


@pytest.mark.parametrize(
    "content",
    ["hello world\n", "# c\nsha,quality\n", f"{PDQ_A},90\n", "value\tnote\n", "abc\n"],
)
def test_detect_format_refuses_to_guess(write: Write, content: str) -> None:
    path = write(content, "list.txt")
    with pytest.raises(ImportFileError, match=r"^line \d: cannot tell the format of list.txt.*--format csv"):
        detect_format(path)
    with pytest.raises(ImportFileError, match="cannot tell the format"):
        read_rows(path)


def test_an_explicit_format_skips_detection(write: Write) -> None:
    path = write(f"hash\n{PDQ_A}\n", "hashes.dat")
    assert RowReader(path, ImportFormat.CSV).format is ImportFormat.CSV
    assert RowReader(path, "csv").format is ImportFormat.CSV  # type: ignore[arg-type]


# --- streaming, progress, scan_file -----------------------------------------------------------------

LINES = 200_000


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> Path:
    rnd = random.Random(7)
    path = tmp_path_factory.mktemp("big") / "big.csv"
    with path.open("w") as f:
        f.write("hash,quality,note\n")
        f.writelines(f"{rnd.getrandbits(256):064x},{rnd.randint(50, 100)},row {n}\n" for n in range(LINES))
    return path


def test_the_first_row_comes_before_the_file_is_read(big: Path) -> None:
    reader = RowReader(big)
    items = iter(reader)
    first = next(items)
    assert isinstance(first, ImportRow)
    assert first.line == 2
    assert 0 < reader.bytes_read < 1024 < reader.total_bytes
    second = next(items)
    assert second.line == 3
    assert reader.bytes_read < 1024


def test_reading_a_big_file_takes_constant_memory(big: Path) -> None:
    tracemalloc.start()
    try:
        count = 0
        for item in read_rows(big):
            assert isinstance(item, ImportRow)
            count += 1
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == LINES
    assert peak < 1_000_000 < big.stat().st_size // 10  # the file is about 15 MB


def test_progress_is_reported_in_bytes_up_to_the_size(big: Path) -> None:
    seen: list[int] = []
    check = scan_file(big, on_progress=seen.append)
    size = big.stat().st_size
    assert len(seen) > 10
    assert seen == sorted(seen)
    assert seen[-1] == size == check.bytes
    assert (check.lines, check.rows, check.ok, check.format) == (LINES + 1, LINES, True, ImportFormat.CSV)


def test_scan_file_keeps_the_first_errors_and_counts_all(write: Write) -> None:
    path = write("hash\n" + "".join(f"bad{n}\n" for n in range(30)) + f"{PDQ_A}\n{MD5}\n# end\n")
    check = scan_file(path, kept_errors=5)
    assert isinstance(check, ImportCheck)
    assert (check.ok, check.error_count, len(check.errors), check.errors_truncated) == (False, 30, 5, True)
    assert [e.line for e in check.errors] == [2, 3, 4, 5, 6]
    assert check.rows == 2
    assert check.by_type == {HashType.PDQ: 1, HashType.MD5: 1}
    assert check.lines == 34


def test_scan_file_then_read_rows_is_the_two_pass_import(write: Write) -> None:
    path = write(f"hash,quality\n{PDQ_A},90\n{PDQ_B},42\n{MD5},\n")
    check = scan_file(path)
    assert [str(e) for e in check.errors] == [
        "line 3: quality 42 is below 50: PDQ hashes under 50 are not trustworthy"
    ]
    stored = [r for r in read_rows(path, check.format) if isinstance(r, ImportRow)]
    assert [r.line for r in stored] == [2, 4]
    assert check.rows == len(stored)


def test_the_progress_bar_helper(big: Path) -> None:
    out = io.StringIO()
    console = Console(file=out, force_terminal=False, width=100)
    with import_progress(big, ["checking", "importing"], console=console) as (checking, importing):
        check = scan_file(big, on_progress=checking)
        rows = sum(1 for _ in read_rows(big, on_progress=importing))
    assert check.ok
    assert rows == check.rows
    assert "checking" in out.getvalue()
    assert "importing" in out.getvalue()


# --- the hex validator ------------------------------------------------------------------------------

hex_char = st.sampled_from("0123456789abcdefABCDEF")


@given(st.lists(hex_char, min_size=64, max_size=64).map("".join), st.sampled_from(["", " ", "\t"]))
def test_any_64_hex_pdq_of_a_real_looking_image_normalises_to_lower_case(value: str, pad: str) -> None:
    ones = int(value, 16).bit_count()
    if not 32 <= ones <= 224:
        with pytest.raises(ValueError, match="degenerate"):
            normalise_hash(value, HashType.PDQ)
        return
    assert normalise_hash(f"{pad}{value}{pad}", HashType.PDQ) == value.lower()
    assert normalise_hash(value, HashType.SHA256) == value.lower()


@given(
    st.lists(hex_char, min_size=32, max_size=32).map("".join),
    st.integers(0, 31),
    st.characters(exclude_characters="0123456789abcdefABCDEF", exclude_categories=("Z", "Cc")),
)
def test_a_non_hex_character_is_refused_with_its_position(value: str, at: int, bad: str) -> None:
    broken = value[:at] + bad + value[at + 1 :]
    with pytest.raises(ValueError, match=f"at position {at + 1} is not a hex digit"):
        normalise_hash(broken, HashType.MD5)


@given(st.text(alphabet="0123456789abcdef", max_size=80).filter(lambda v: len(v) not in {32, 64}))
def test_a_wrong_length_is_refused_for_every_type(value: str) -> None:
    for hash_type in HashType:
        with pytest.raises(ValueError, match=f"it has {len(value)} characters"):
            normalise_hash(value, hash_type)


def test_resolve_type() -> None:
    assert resolve_type(" PDQ ") is HashType.PDQ
    assert resolve_type("video_md5") is HashType.MD5
    assert resolve_type("HASH_SHA256") is HashType.SHA256
    with pytest.raises(ValueError, match="'vpdq' is not a hash Trustdesk indexes"):
        resolve_type("vpdq")
