"""The approval preview: exactly what the authority will receive if the pending decision is approved.

The second person approves data, not a summary of it. The preview is built the way the production is
(``execution.produce``): the request's targets looked up on the platform, one export per account found,
for the decided categories over the request's period, minimised to the recommendation's fields with the
package's own minimisation. Nothing is stored, signed or sent.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from trustdesk.lawful.execution import ExecutionPolicy, allowed_fields_of, production_period
from trustdesk.lawful.models import Decision, LawfulRequest
from trustdesk.lawful.package import PackageError, minimised
from trustdesk.lawful.review import look_up_targets
from trustdesk.platform.protocol import FieldValue, Period, PlatformConnector
from trustdesk.vocabulary import DataCategory


@dataclass(frozen=True)
class PreviewRow:
    account_id: str
    kind: str
    at: datetime | None
    values: tuple[FieldValue, ...]  # in the order of the table's columns; None where the record has none


@dataclass(frozen=True)
class PreviewTable:
    """The records of one category, as the package's ``data/<category>.csv`` will hold them."""

    category: str
    columns: tuple[str, ...]
    rows: tuple[PreviewRow, ...]


@dataclass(frozen=True)
class Preview:
    accounts: tuple[str, ...]
    not_found: tuple[str, ...]
    period: Period
    categories: tuple[str, ...]
    fields: dict[str, list[str]] | None  # the allowed fields per category; None: whole records
    tables: tuple[PreviewTable, ...]

    @property
    def records(self) -> int:
        return sum(len(table.rows) for table in self.tables)


@dataclass(frozen=True)
class _Record:
    """One record as the package keeps it (after minimisation)."""

    account_id: str
    kind: str
    at: datetime | None
    fields: Mapping[str, FieldValue]

    def order(self) -> tuple[str, bool, str, str]:
        """The package's order: by account, timeless facts first, then by time and kind."""
        return (self.account_id, self.at is not None, self.at.isoformat() if self.at else "", self.kind)


def disclosure_preview(
    request: LawfulRequest, decision: Decision, connector: PlatformConnector, policy: ExecutionPolicy
) -> Preview:
    """What the production of ``decision`` would contain now (the platform's data may still change)."""
    lookups = look_up_targets(request, connector)
    accounts = list(dict.fromkeys(lookup.account_id for lookup in lookups if lookup.account_id))
    categories = [DataCategory(c) for c in decision.allowed_categories]
    period = production_period(request, policy)
    allowed = allowed_fields_of(decision.recommendation, decision.allowed_categories) or None
    by_category: dict[DataCategory, list[_Record]] = {category: [] for category in sorted(categories)}
    for export in (connector.export(account, categories, period) for account in accounts):
        for record in export.records:
            if record.category not in by_category:  # as the package refuses it: nothing undecided is shown
                raise PackageError(
                    f"the export of account {export.account_id} holds a {record.kind} record of category "
                    f"{record.category.value}, which was not decided"
                )
            row = minimised(record, export.account_id, allowed)
            by_category[record.category].append(_Record(row.account_id, row.kind, row.at, row.fields))
    return Preview(
        accounts=tuple(accounts),
        not_found=tuple(lookup.target for lookup in lookups if lookup.account_id is None),
        period=period,
        categories=tuple(c.value for c in sorted(categories)),
        fields=None if allowed is None else {c.value: sorted(f) for c, f in sorted(allowed.items())},
        tables=tuple(_table(category, rows) for category, rows in by_category.items()),
    )


def _table(category: DataCategory, records: Sequence[_Record]) -> PreviewTable:
    columns = tuple(sorted({name for record in records for name in record.fields}))
    return PreviewTable(
        category=category.value,
        columns=columns,
        rows=tuple(
            PreviewRow(r.account_id, r.kind, r.at, tuple(r.fields.get(name) for name in columns))
            for r in sorted(records, key=_Record.order)
        ),
    )
