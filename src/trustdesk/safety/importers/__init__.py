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

from trustdesk.safety.importers.formats import ImportFormat, detect_format
from trustdesk.safety.importers.reader import PROGRESS_STEP, RowReader, read_rows
from trustdesk.safety.importers.rows import ImportFileError, ImportRow, RowError
from trustdesk.safety.importers.scan import DUPLICATE_WINDOW, KEPT_ERRORS, ImportCheck, scan_file
from trustdesk.safety.importers.values import (
    MAX_LINE_BYTES,
    MIN_PDQ_QUALITY,
    NOTE_LIMIT,
    normalise_hash,
    resolve_type,
)

__all__ = [
    "DUPLICATE_WINDOW",
    "KEPT_ERRORS",
    "MAX_LINE_BYTES",
    "MIN_PDQ_QUALITY",
    "NOTE_LIMIT",
    "PROGRESS_STEP",
    "ImportCheck",
    "ImportFileError",
    "ImportFormat",
    "ImportRow",
    "RowError",
    "RowReader",
    "detect_format",
    "normalise_hash",
    "read_rows",
    "resolve_type",
    "scan_file",
]
