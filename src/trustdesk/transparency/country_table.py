"""Government requests per country, quarter by quarter, in the way messaging platforms publish them
(Telegram's quarterly per-country table, with what Google, Meta and Apple add: requests received, not
only fulfilled, accounts specified, and the legal-process type). From `Protected` figures only.

One row per quarter of the report's period, issuing country and legal-process type (production,
information, preservation, removal, emergency), after the country's ``all`` row.
"""

from typing import Final

from trustdesk.transparency.eu_templates import CSV, to_csv
from trustdesk.transparency.protection import Protected, cell

__all__ = ["CSV", "FILE", "HEADER", "render"]

FILE: Final = "government_requests_by_country.csv"
HEADER: Final = (
    "quarter", "country", "legal_process_type", "requests_received", "requests_fulfilled",
    "accounts_specified", "accounts_affected",
)  # fmt: skip
_COLUMNS: Final = ("received", "fulfilled", "accounts_specified", "accounts_affected")


def render(p: Protected) -> bytes:
    table = p.at("lawful", "country_table")
    assert isinstance(table, list)
    rows = []
    for entry in table:
        assert isinstance(entry, dict)
        rows.append(
            [str(entry["quarter"]), str(entry["country"]), str(entry["process_type"])]
            + [cell(entry[column]) for column in _COLUMNS]
        )
    return to_csv(HEADER, rows)
