"""The yearly transparency report on terrorist content online (Regulation (EU) 2021/784 Art. 7(3)) as a
CSV of fields: ``field,value`` rows, from `Protected` figures only.

Removal orders and complaints come from the lawful desk (the report's scope); the provider's own
measures (own-initiative removals, the hash banks that prevent re-upload, decisions reversed) from content
moderation, for a global report only (empty in a country's).
"""

from typing import Final

from trustdesk.transparency.eu_templates import CSV, to_csv
from trustdesk.transparency.protection import Figure, Protected, cell

__all__ = ["CSV", "FILE", "render"]

FILE: Final = "tco_report.csv"

_ORDERS: Final = (
    ("removal_orders_received", "removal orders received (Art. 3)"),
    ("removal_orders_executed", "removal orders executed: content removed or access disabled"),
    ("items_removed_or_disabled", "items removed or disabled after removal orders"),
    ("removal_orders_not_executed", "removal orders not executed"),
    ("complaints_received", "complaints of content providers received (Art. 10)"),
    ("complaints_upheld_content_reinstated", "complaints upheld: content reinstated"),
    ("complaints_dismissed", "complaints dismissed"),
    ("complaints_pending", "complaints not yet answered"),
    ("content_reinstated", "content reinstated after a complaint, scrutiny or proceedings"),
)
_MEASURES: Final = (
    ("own_initiative_removals", "terrorist content removed by the provider's own measures (Art. 5)"),
    ("of_which_solely_automated", "of which by automated means alone"),
    ("hash_banks", "hash lists used to prevent re-upload"),
    ("active_hashes", "hashes in those lists"),
    ("decisions_reversed", "moderation decisions on terrorist content reversed after a complaint"),
)


def render(p: Protected) -> bytes:
    orders = p.at("lawful", "tco")
    assert isinstance(orders, dict)
    rows = [["period", str(p.at("period_range")), "the reporting period"],
            ["scope", str(p.at("scope")), "global, or the issuing authorities' country"]]  # fmt: skip
    rows += [[name, cell(orders[name]), text] for name, text in _ORDERS]
    grounds = orders["not_executed_by_ground"]
    assert isinstance(grounds, dict)
    rows += [
        [f"not_executed_because_{ground}", cell(n), f"removal orders not executed on the ground {ground}"]
        for ground, n in sorted(grounds.items())
    ]
    measures: Figure = p.figures.get("moderation", {})
    assert isinstance(measures, dict)
    own = measures.get("terrorist_content", {})
    assert isinstance(own, dict)
    rows += [[name, cell(own.get(name)), text] for name, text in _MEASURES]
    return to_csv(["field", "value", "description"], rows)
