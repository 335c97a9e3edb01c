"""The EU harmonised transparency templates (Implementing Regulation (EU) 2024/2835) as CSV files.

One file per template, one header row, then the data rows; the period in every row written
``YYYY-MM-DD/YYYY-MM-DD``; categories as the ``STATEMENT_CATEGORY_*`` codes of the statements of reasons
(``STATEMENT_CATEGORY_NOT_SPECIFIED_ORDER`` for orders). Built from `Protected` figures only, so every
cell is what the small-count rule lets be published; every cell goes through the production CSVs' formula
neutralisation (``lawful.package.csv_row``). Medians are in seconds. Files: 1, 2, 3, 4, 5, 6, 7, 8, 10
(9 and 11, human resources and the qualitative descriptions, are not records Trustdesk keeps).
"""

import csv
import io
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Final

from trustdesk.lawful.package import csv_row
from trustdesk.safety.vocabulary import DsaCategory
from trustdesk.transparency.moderation_metrics import RESTRICTION_COLUMNS
from trustdesk.transparency.protection import Figure, Protected, cell

__all__ = ["CSV", "TEMPLATES", "ReportContext", "render", "to_csv"]

CSV: Final = "text/csv; charset=utf-8"
NOT_SPECIFIED_ORDER: Final = "STATEMENT_CATEGORY_NOT_SPECIFIED_ORDER"


@dataclass(frozen=True)
class ReportContext:
    """What the identification template says about the report itself."""

    provider: str
    publication_date: date
    previous_report_date: date | None
    version: int


def to_csv(header: Sequence[str], rows: Sequence[Sequence[str]]) -> bytes:
    """A CSV file (RFC 4180, CRLF), every cell neutralised against spreadsheet formulas."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(csv_row(header))
    for row in rows:
        writer.writerow(csv_row(row))
    return buffer.getvalue().encode("utf-8")


def _group(figures: Figure) -> Mapping[str, Figure]:
    assert isinstance(figures, dict), figures
    return figures


def _category_name(code: str) -> str:
    return code.removeprefix("STATEMENT_CATEGORY_").replace("_", " ").capitalize()


RESTRICTIONS: Final = tuple(RESTRICTION_COLUMNS)
Renderer = Callable[[Protected, ReportContext], bytes]


def _identification(p: Protected, context: ReportContext) -> bytes:
    header = ["provider_name", "publication_date", "previous_report_date", "period_start", "period_end",
              "period", "report_version"]  # fmt: skip
    first, last = str(p.at("period_range")).split("/")
    row = [context.provider, context.publication_date.isoformat(),
           context.previous_report_date.isoformat() if context.previous_report_date else "", first, last,
           str(p.at("period_range")), str(context.version)]  # fmt: skip
    return to_csv(header, [row])


def _categories(_: Protected, __: ReportContext) -> bytes:
    codes = [c.value for c in DsaCategory] + [NOT_SPECIFIED_ORDER]
    return to_csv(["category", "category_name"], [[code, _category_name(code)] for code in codes])


def _orders(p: Protected, _: ReportContext) -> bytes:
    header = ["period", "category", "scope"] + [
        f"{kind}_{column}"
        for kind in ("art9", "art10")
        for column in ("orders", "items", "median_time_to_inform_of_receipt_seconds",
                       "median_time_to_give_effect_seconds")
    ]  # fmt: skip
    rows = []
    orders = p.at("lawful", "eu_orders")
    assert isinstance(orders, list)
    for entry in orders:
        group = _group(entry)
        row = [str(p.at("period_range")), str(group["category"]), str(group["scope"])]
        for kind in ("art9", "art10"):
            figures = _group(group[kind])
            row += [cell(figures["orders"]), cell(figures["items"]),
                    cell(figures["median_seconds_to_inform_of_receipt"]),
                    cell(figures["median_seconds_to_give_effect"])]  # fmt: skip
        rows.append(row)
    return to_csv(header, rows)


def _by_category(section: Figure) -> list[tuple[str, Mapping[str, Figure]]]:
    group = _group(section)
    return [("TOTAL", _group(group["total"]))] + [
        (code, _group(figures)) for code, figures in _group(group["by_category"]).items()
    ]


def _notices(p: Protected, _: ReportContext) -> bytes:
    columns = ("notices", "trusted_flaggers", "items", "median_seconds_to_act", "actions_legal_grounds",
               "actions_terms_and_conditions")  # fmt: skip
    header = ["period", "category", "notices", "of_which_trusted_flaggers", "items_concerned",
              "median_time_to_act_seconds", "actions_legal_grounds",
              "actions_terms_and_conditions"]  # fmt: skip
    rows = [
        [str(p.at("period_range")), code, *(cell(figures[c]) for c in columns)]
        for code, figures in _by_category(p.at("moderation", "notices"))
    ]
    return to_csv(header, rows)


def _own_initiative(which: str) -> Renderer:
    def render_(p: Protected, _: ReportContext) -> bytes:
        header = ["period", "category", "measures", "of_which_automated_detection",
                  "of_which_solely_automated", *RESTRICTIONS]  # fmt: skip
        columns = ("measures", "automated_detection", "solely_automated", *RESTRICTIONS)
        rows = [
            [str(p.at("period_range")), code, *(cell(figures[c]) for c in columns)]
            for code, figures in _by_category(p.at("moderation", "own_initiative", which))
        ]
        return to_csv(header, rows)

    return render_


def _appeals(p: Protected, _: ReportContext) -> bytes:
    columns = ("complaints", "upheld", "partially_reversed", "reversed", "pending",
               "median_seconds_to_decide", "out_of_court_disputes")  # fmt: skip
    header = ["period", "category", "complaints", "upheld", "partially_reversed", "reversed", "pending",
              "median_time_to_decide_seconds", "out_of_court_disputes", "art23_suspensions_accounts",
              "art23_suspensions_notifiers"]  # fmt: skip
    suspensions = _group(p.at("moderation", "art23_suspensions"))
    rows = []
    for code, figures in _by_category(p.at("moderation", "appeals")):
        art23 = (
            [cell(suspensions["accounts"]), cell(suspensions["notifiers"])] if code == "TOTAL" else ["", ""]
        )
        rows.append([str(p.at("period_range")), code, *(cell(figures[c]) for c in columns), *art23])
    return to_csv(header, rows)


def _automated(p: Protected, _: ReportContext) -> bytes:
    figures = _group(p.at("moderation", "automated_means"))
    header = ["period", "measures_solely_automated", "measures_not_solely_automated",
              "actions_after_automated_detection", "reversed_on_appeal", "accuracy_share_reversed_on_appeal",
              "precision", "recall"]  # fmt: skip
    row = [str(p.at("period_range")), cell(figures["solely_automated"]),
           cell(figures["not_solely_automated"]),
           cell(figures["actions_after_automated_detection"]), cell(figures["reversed_on_appeal"]),
           cell(figures["share_reversed_on_appeal"]), "", ""]  # fmt: skip
    return to_csv(header, [row])


def _amar(p: Protected, _: ReportContext) -> bytes:
    amar = _group(p.at("amar"))
    order = sorted(amar, key=lambda k: (k != "TOTAL", k))
    rows = [[str(p.at("period_range")), scope, cell(amar[scope])] for scope in order]
    return to_csv(["period", "scope", "average_monthly_active_recipients"], rows)


TEMPLATES: Final[dict[str, Renderer]] = {
    "1_report_identification.csv": _identification,
    "2_categories_names.csv": _categories,
    "3_member_states_orders.csv": _orders,
    "4_notices.csv": _notices,
    "5_own_initiative_illegal.csv": _own_initiative("illegal"),
    "6_own_initiative_TC.csv": _own_initiative("terms_and_conditions"),
    "7_appeals_and_recidivism.csv": _appeals,
    "8_automated_means.csv": _automated,
    "10_AMAR.csv": _amar,
}


def render(p: Protected, context: ReportContext) -> dict[str, bytes]:
    """Every template file of a global report, by file name."""
    return {name: renderer(p, context) for name, renderer in TEMPLATES.items()}
