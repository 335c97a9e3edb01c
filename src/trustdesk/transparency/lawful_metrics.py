"""Metrics of the lawful desk for a period and scope: one row per request computed by the database
(`requests_in`), aggregated by the database, a few dozen small groups back in Python.

Definitions (docs/transparency-reports.md):

- a request counts in the period it was **received** in (``received_at``), in the scope of its issuing
  authority's country;
- its **outcome**: ``withdrawn`` (the authority withdrew it), else ``refused`` (refused on receipt, by the
  reviewer's decision, or because the enforcing authority raised a ground), else the latest decision not
  sent back by an approver (``complied``, ``partial``), else ``pending``;
- **fulfilled**: effect was given — a production built (production and information orders), data
  preserved (preservation orders), content removed or disabled (removal orders);
- **accounts specified**: the targets the request names; **accounts affected**: distinct accounts whose
  data was produced (one user notice per request and account is recorded, sent or withheld), whose data
  was preserved, or whose content was removed;
- **legal-process type**: ``emergency`` for a request on the emergency track, else the instrument's kind
  in the catalogue (production, preservation, removal, information);
- **time to give effect**: from receipt to the first production, hold or removal;
- **time to acknowledge**: the acknowledgement (tracking number, deadline, receipt) is the answer to the
  submission that records ``received_at``, so it is 0 for every request; the model keeps no later
  acknowledgement time.
- the **orders of DSA Arts 9 and 10** (EU template 3) are the requests from authorities of Member States:
  removal orders are orders to act (Art. 9), production and information orders are orders to provide
  information (Art. 10); preservation orders are neither. Their category is
  ``STATEMENT_CATEGORY_RISK_FOR_PUBLIC_SECURITY`` for TCO removal orders (terrorist content, as
  ``safety/orders.py`` classifies their cases) and ``STATEMENT_CATEGORY_NOT_SPECIFIED_ORDER`` otherwise.
"""

from collections import defaultdict
from typing import Any, Final

from sqlalchemy import String, and_, case, cast, exists, func, literal, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.selectable import Subquery

from trustdesk.lawful.catalogue import EU_MEMBER_STATES, Catalogue
from trustdesk.lawful.models import (
    Correspondence,
    Decision,
    LawfulRequest,
    PreservationHold,
    PrincipleConflict,
    Production,
    Removal,
    RemovalComplaint,
    RequestTarget,
    UserNotice,
)
from trustdesk.lawful.vocabulary import ConflictResolution, EnforcingAnswer
from trustdesk.lawful.workflow import RequestStatus
from trustdesk.policy.values import Ground
from trustdesk.transparency.metrics import Scope, in_period, median_of, seconds_between, true_count
from trustdesk.transparency.periods import Period
from trustdesk.transparency.protection import Median, Tree
from trustdesk.vocabulary import InstrumentCode, InstrumentKind

__all__ = ["OUTCOMES", "PROCESS_TYPES", "compute", "requests_in"]

OUTCOMES: Final = ("complied", "partial", "refused", "withdrawn", "pending")
PROCESS_TYPES: Final = ("production", "information", "preservation", "removal", "emergency")
ORDER_CATEGORY: Final = {InstrumentCode.EU_TCO_REMOVAL: "STATEMENT_CATEGORY_RISK_FOR_PUBLIC_SECURITY"}
NOT_SPECIFIED_ORDER: Final = "STATEMENT_CATEGORY_NOT_SPECIFIED_ORDER"
_DISCLOSING: Final = (InstrumentKind.PRODUCTION.value, InstrumentKind.INFORMATION.value)


def requests_in(session: Session, catalogue: Catalogue, period: Period, scope: Scope) -> Subquery:
    """One row per request received in the period and scope, with everything the metrics count."""
    lr = LawfulRequest
    kind = case({i.code: i.kind.value for i in catalogue}, value=lr.instrument, else_=literal("other"))

    def latest(column: Any) -> Any:
        return (
            select(column)
            .where(Decision.request_id == lr.id, Decision.rejected.is_(False))
            .order_by(Decision.decided_at.desc(), Decision.id.desc())
            .limit(1)
            .correlate(lr)
            .scalar_subquery()
        )

    outcome_of_decision = latest(Decision.outcome)
    withdrawn = or_(
        lr.status == RequestStatus.WITHDRAWN,
        exists().where(Correspondence.request_id == lr.id, Correspondence.kind == "withdrawal"),
    )
    refused = or_(
        lr.status == RequestStatus.REFUSED,
        lr.receipt_ground.is_not(None),
        lr.enforcing_answer == EnforcingAnswer.GROUNDS_RAISED,
        outcome_of_decision == "refuse",
    )
    outcome = case(
        (withdrawn, literal("withdrawn")),
        (refused, literal("refused")),
        (outcome_of_decision == "partial", literal("partial")),
        (outcome_of_decision == "comply", literal("complied")),
        else_=literal("pending"),
    )

    def per_request(expression: Any, table: Any, *where: Any) -> Any:
        return select(expression).where(table.request_id == lr.id, *where).correlate(lr).scalar_subquery()

    targets_n = per_request(func.count(), RequestTarget)
    notices_n = per_request(func.count(func.distinct(UserNotice.account_id)), UserNotice)
    holds_n = per_request(func.count(func.distinct(PreservationHold.account_id)), PreservationHold)
    removed_n = per_request(func.count(func.distinct(Removal.provider_account_id)), Removal)
    items_n = per_request(func.count(), Removal)
    affected = case(
        (kind.in_(_DISCLOSING), notices_n),
        (kind == InstrumentKind.PRESERVATION.value, holds_n),
        (kind == InstrumentKind.REMOVAL.value, removed_n),
        else_=literal(0),
    )
    effect_at = case(
        (kind.in_(_DISCLOSING), per_request(func.min(Production.created_at), Production)),
        (
            kind == InstrumentKind.PRESERVATION.value,
            per_request(func.min(PreservationHold.placed_at), PreservationHold),
        ),
        (kind == InstrumentKind.REMOVAL.value, per_request(func.min(Removal.effective_at), Removal)),
        else_=None,
    )
    member_state = lr.issuer_country.in_(sorted(EU_MEMBER_STATES))
    order_type = case(
        (and_(member_state, kind == InstrumentKind.REMOVAL.value), literal("art9")),
        (and_(member_state, kind.in_(_DISCLOSING)), literal("art10")),
        else_=None,
    )
    query = select(
        lr.id.label("id"),
        lr.issuer_country.label("country"),
        lr.instrument.label("instrument"),
        kind.label("kind"),
        case((lr.emergency.is_(True), literal("emergency")), else_=kind).label("process_type"),
        outcome.label("outcome"),
        targets_n.label("targets_n"),
        affected.label("affected_n"),
        items_n.label("items_n"),
        case((effect_at.is_not(None), literal(1)), else_=literal(0)).label("fulfilled"),
        seconds_between(session, effect_at, lr.received_at).label("effect_seconds"),
        order_type.label("order_type"),
        case(ORDER_CATEGORY, value=lr.instrument, else_=literal(NOT_SPECIFIED_ORDER)).label("order_category"),
        lr.receipt_ground.label("receipt_ground"),
        latest(cast(Decision.grounds, String)).label("grounds_text"),
    ).where(in_period(lr.received_at, period))
    if scope.country:
        query = query.where(lr.issuer_country == scope.country)
    return query.subquery("requests_in_period")


def _blank() -> dict[str, int]:
    return {
        "received": 0,
        **dict.fromkeys(OUTCOMES, 0),
        "fulfilled": 0,
        "accounts_specified": 0,
        "accounts_affected": 0,
    }


def _add(into: dict[str, int], outcome: str, n: int, fulfilled: int, specified: int, affected: int) -> None:
    into["received"] += n
    into[outcome] += n
    into["fulfilled"] += fulfilled
    into["accounts_specified"] += specified
    into["accounts_affected"] += affected


def _grouped(session: Session, rows: Subquery) -> list[Any]:
    c = rows.c
    return list(
        session.execute(
            select(
                c.country, c.instrument, c.kind, c.process_type, c.outcome, c.order_type, c.order_category,
                func.count(), func.coalesce(func.sum(c.fulfilled), 0),
                func.coalesce(func.sum(c.targets_n), 0),
                func.coalesce(func.sum(c.affected_n), 0), func.coalesce(func.sum(c.items_n), 0),
            ).group_by(
                c.country, c.instrument, c.kind, c.process_type, c.outcome, c.order_type, c.order_category
            )
        ).all()
    )  # fmt: skip


def _table_order(item: tuple[tuple[str, str], Any]) -> tuple[str, bool, str]:
    (country, process), _ = item
    return country, process != "all", process


def country_table(session: Session, catalogue: Catalogue, period: Period, scope: Scope) -> list[Tree]:
    """Per quarter of the period, country and legal-process type (and ``all`` of the country): requests
    received, fulfilled, accounts specified and affected."""
    out: list[Tree] = []
    for quarter in period.quarters():
        table: dict[tuple[str, str], dict[str, int]] = defaultdict(_blank)
        for country, _, _, process, outcome, _, _, n, done, spec, aff, _ in _grouped(
            session, requests_in(session, catalogue, quarter, scope)
        ):
            figures = (outcome, int(n), int(done), int(spec), int(aff))
            _add(table[(country, process)], *figures)
            _add(table[(country, "all")], *figures)
        out += [
            {"quarter": quarter.label, "country": country, "process_type": process,
             **{k: v[k] for k in _TABLE_KEYS}}
            for (country, process), v in sorted(table.items(), key=_table_order)
        ]  # fmt: skip
    return out


def compute(session: Session, catalogue: Catalogue, period: Period, scope: Scope) -> dict[str, Tree]:
    rows = requests_in(session, catalogue, period, scope)
    c = rows.c
    total = _blank()
    by_instrument = {i.code.value: _blank() for i in catalogue}
    by_process = {p: _blank() for p in PROCESS_TYPES}
    by_country: dict[str, dict[str, int]] = defaultdict(_blank)
    kinds: dict[str, dict[str, int]] = {
        k: {"received": 0, "fulfilled": 0} for k in ("emergency", "preservation", "removal")
    }
    items_removed = 0
    orders: dict[tuple[str, str, str], dict[str, int]] = defaultdict(lambda: {"orders": 0, "items": 0})
    for (
        country,
        instrument,
        kind,
        process,
        outcome,
        order_type,
        category,
        n,
        done,
        spec,
        aff,
        items,
    ) in _grouped(session, rows):
        code = instrument.value if isinstance(instrument, InstrumentCode) else str(instrument)
        figures = (outcome, int(n), int(done), int(spec), int(aff))
        for target in (total, by_instrument[code], by_process[process], by_country[country]):
            _add(target, *figures)
        for name, matches in (
            ("emergency", process == "emergency"),
            ("preservation", kind == InstrumentKind.PRESERVATION.value),
            ("removal", kind == InstrumentKind.REMOVAL.value),
        ):
            if matches:
                kinds[name]["received"] += int(n)
                kinds[name]["fulfilled"] += int(done)
        if kind == InstrumentKind.REMOVAL.value:
            items_removed += int(items)
        if order_type is not None:
            for where in (country, "TOTAL"):
                orders[(category, where, order_type)]["orders"] += int(n)
                orders[(category, where, order_type)]["items"] += int(spec)
    give_effect = median_of(session, rows, "effect_seconds", c.fulfilled == 1)
    return {
        **total,
        "by_instrument": dict(by_instrument),
        "by_process_type": dict(by_process),
        "by_country": {k: by_country[k] for k in sorted(by_country)},
        "refused_by_ground": _refused_by_ground(session, rows),
        "emergency": kinds["emergency"],
        "preservation": kinds["preservation"],
        "removal_orders": {**kinds["removal"], "items_removed": items_removed},
        "median_seconds": {
            "acknowledge": Median(0.0, total["received"]) if total["received"] else Median(None, 0),
            "give_effect": give_effect,
        },
        "principle_conflicts": _conflicts(session, period, scope),
        "eu_orders": _eu_orders(session, rows, orders),
        "tco": _tco(session, rows, period, scope),
        "country_table": country_table(session, catalogue, period, scope),
    }


def _refused_by_ground(session: Session, rows: Subquery, *where: Any) -> dict[str, Tree]:
    """Refused requests per ground (refused on receipt on it, or the decision gave it); a request refused
    on several grounds counts under each."""
    c = rows.c
    counts = session.execute(
        select(
            *[
                true_count(
                    and_(
                        c.outcome == "refused",
                        or_(c.receipt_ground == ground.value, c.grounds_text.like(f'%"{ground.value}"%')),
                        *where,
                    )
                )
                for ground in Ground
            ]
        )
    ).one()
    return {ground.value: int(n) for ground, n in zip(Ground, counts, strict=True)}


def _tco(session: Session, rows: Subquery, period: Period, scope: Scope) -> dict[str, Tree]:
    """TCO removal orders (Regulation (EU) 2021/784 Art. 7(3)): received in the period and scope, executed,
    not executed and why, items removed; complaints received in the period and their outcomes; content
    reinstated in the period."""
    c = rows.c
    tco = c.instrument == InstrumentCode.EU_TCO_REMOVAL
    received, executed, refused, items = session.execute(
        select(
            true_count(tco), true_count(and_(tco, c.fulfilled == 1)),
            true_count(and_(tco, c.outcome == "refused")),
            func.coalesce(func.sum(case((tco, c.items_n), else_=literal(0))), 0),
        )
    ).one()  # fmt: skip
    lr = LawfulRequest
    orders = select(lr.id).where(lr.instrument == InstrumentCode.EU_TCO_REMOVAL)
    if scope.country:
        orders = orders.where(lr.issuer_country == scope.country)
    rc = RemovalComplaint
    complaints, upheld, dismissed, pending = session.execute(
        select(
            func.count(), true_count(rc.upheld.is_(True)), true_count(rc.upheld.is_(False)),
            true_count(rc.answered_at.is_(None)),
        ).where(in_period(rc.received_at, period), rc.request_id.in_(orders))
    ).one()  # fmt: skip
    reinstated = session.scalar(
        select(func.count())
        .select_from(Removal)
        .where(in_period(Removal.reinstated_at, period), Removal.request_id.in_(orders))
    )
    grounds = {k: v for k, v in _refused_by_ground(session, rows, tco).items() if v}
    return {
        "removal_orders_received": int(received),
        "removal_orders_executed": int(executed),
        "removal_orders_not_executed": int(refused),
        "not_executed_by_ground": grounds,
        "items_removed_or_disabled": int(items),
        "complaints_received": int(complaints),
        "complaints_upheld_content_reinstated": int(upheld),
        "complaints_dismissed": int(dismissed),
        "complaints_pending": int(pending),
        "content_reinstated": int(reinstated or 0),
    }


_TABLE_KEYS: Final = ("received", "fulfilled", "accounts_specified", "accounts_affected")


def _eu_orders(
    session: Session, rows: Subquery, orders: dict[tuple[str, str, str], dict[str, int]]
) -> list[Tree]:
    """Template 3: per category and scope (TOTAL, then each Member State), the Art. 9 and Art. 10 orders,
    their items, and the medians (computed per group by the database)."""
    c = rows.c
    groups = sorted(
        {(category, where) for category, where, _ in orders}, key=lambda g: (g[0], g[1] != "TOTAL", g[1])
    )
    out: list[Tree] = []
    for category, where in groups:
        entry: dict[str, Tree] = {"category": category, "scope": where}
        for order_type in ("art9", "art10"):
            counted = orders.get((category, where, order_type), {"orders": 0, "items": 0})
            conditions = [c.order_type == order_type, c.order_category == category]
            if where != "TOTAL":
                conditions.append(c.country == where)
            effect = (
                median_of(session, rows, "effect_seconds", c.fulfilled == 1, *conditions)
                if counted["orders"]
                else Median(None, 0)
            )
            entry[order_type] = {
                "orders": counted["orders"],
                "items": counted["items"],
                "median_seconds_to_inform_of_receipt": Median(0.0, counted["orders"])
                if counted["orders"]
                else Median(None, 0),
                "median_seconds_to_give_effect": effect,
            }
        out.append(entry)
    return out


def _conflicts(session: Session, period: Period, scope: Scope) -> dict[str, Tree]:
    """Principle conflicts detected in the period, per jurisdiction and resolution (open: not yet)."""
    pc = PrincipleConflict
    query = (
        select(pc.jurisdiction, pc.resolution, func.count())
        .where(in_period(pc.detected_at, period))
        .group_by(pc.jurisdiction, pc.resolution)
    )
    if scope.country:
        query = query.where(pc.jurisdiction == scope.country)
    out: dict[str, dict[str, int]] = {}
    for jurisdiction, resolution, n in session.execute(query):
        entry = out.setdefault(
            jurisdiction, {"total": 0, "open": 0, **{r.value: 0 for r in ConflictResolution}}
        )
        entry["total"] += int(n)
        entry["open" if resolution is None else ConflictResolution(resolution).value] += int(n)
    return {k: out[k] for k in sorted(out)}
