"""The facts of a stored request for the policy engine, and the recommendation they lead to.

The stored request says what the order says; the platform connector says whether the targets exist and
whether any data of the requested categories is held for them in the period (one export per account,
only up to receipt: e-Evidence Art. 3(8) makes only data stored at receipt evidence).
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from trustdesk.lawful.catalogue import Catalogue, RequestField
from trustdesk.lawful.models import LawfulRequest
from trustdesk.lawful.vocabulary import ValidationStatus
from trustdesk.platform.protocol import Period, PlatformConnector, PlatformError
from trustdesk.policy.engine import PeriodPart, Recommendation, RequestFacts, recommend
from trustdesk.policy.rules import Contact, PolicySet
from trustdesk.vocabulary import DataCategory, InstrumentKind

__all__ = [
    "DATA_HELD_LOOKBACK",
    "TargetLookup",
    "data_held",
    "facts_for",
    "held_period",
    "legal_representative",
    "legal_representative_country",
    "legal_representative_zone",
    "look_up_targets",
    "period_after_receipt",
    "present_fields",
    "recommendation_for",
]

DATA_HELD_LOOKBACK = timedelta(days=365)
"""The period looked at for data held when an order names none (as the executor's default look-back)."""


def present_fields(request: LawfulRequest) -> frozenset[str]:
    """The RequestField names a stored request carries."""
    values: dict[RequestField, object] = {
        RequestField.ISSUING_AUTHORITY: request.issuer_name,
        RequestField.LEGAL_BASIS: request.legal_basis,
        RequestField.STATEMENT_OF_REASONS: request.statement_of_reasons,
        RequestField.REDRESS_INFORMATION: request.redress_information,
        RequestField.TERRITORIAL_SCOPE: request.territorial_scope,
        RequestField.TARGETS: request.targets,
        RequestField.DATA_CATEGORIES: request.data_categories,
        RequestField.OFFENCE: request.offence_description,
        RequestField.OFFENCE_MAX_PENALTY_YEARS: request.offence_max_penalty_years,
        RequestField.EMERGENCY_JUSTIFICATION: request.emergency_justification,
        RequestField.SUPERVISOR_CONTACT: request.supervisor_contact,
        RequestField.ORDER_DOCUMENT: request.documents,
    }
    return frozenset(field.value for field, value in values.items() if value not in (None, "", [], {}))


@dataclass(frozen=True)
class TargetLookup:
    target: str
    account_id: str | None


def look_up_targets(request: LawfulRequest, connector: PlatformConnector) -> list[TargetLookup]:
    """Resolve every target to a platform account (the author, for content locators)."""
    found = []
    for target in request.targets:
        account = connector.lookup_account(target.type, target.value)
        found.append(
            TargetLookup(f"{target.type.value}:{target.value}", account.platform_id if account else None)
        )
    return found


def period_after_receipt(start: datetime | None, end: datetime | None, received_at: datetime) -> PeriodPart:
    """How much of the requested period lies after receipt (e-Evidence Art. 3(8)); pure."""
    if start is None or end is None:
        return PeriodPart.NONE
    if start >= received_at:
        return PeriodPart.WHOLLY
    if end > received_at:
        return PeriodPart.PARTLY
    return PeriodPart.NONE


def held_period(request: LawfulRequest) -> Period | None:
    """The part of the requested period up to receipt, the only data that can be evidence (Art. 3(8));
    the look-back before receipt when the order names no period; None when it lies wholly after."""
    received = request.received_at
    start = request.period_start or received - DATA_HELD_LOOKBACK
    end = min(request.period_end or received, received)
    return Period(start, end) if start < end else None


def data_held(request: LawfulRequest, connector: PlatformConnector, lookups: Iterable[TargetLookup]) -> bool:
    """Whether the platform holds at least one record of the requested categories for a found account
    in the period up to receipt. True when there is nothing to check (a removal, no category, no account
    found, a period wholly after receipt: other rules answer those) or the platform cannot tell."""
    categories = frozenset(DataCategory(c) for c in request.data_categories)
    accounts = list(dict.fromkeys(lookup.account_id for lookup in lookups if lookup.account_id))
    period = held_period(request)
    if not categories or not accounts or period is None:
        return True
    for account in accounts:
        try:
            if connector.export(account, categories, period).records:
                return True
        except PlatformError:
            return True  # the platform cannot tell: never refuse for data not held on an error
    return False


def legal_representative(policy: PolicySet, country: str) -> Contact | None:
    """The platform's contact (its legal representative) for authorities of ``country``, if any."""
    jurisdiction = policy.jurisdiction(country)
    return jurisdiction.contact if jurisdiction is not None else None


def legal_representative_country(policy: PolicySet, country: str) -> str | None:
    """Where the platform's legal representative for ``country`` sits (cross-border-only orders,
    TCO scrutiny)."""
    contact = legal_representative(policy, country)
    return contact.country or None if contact is not None else None


def legal_representative_zone(policy: PolicySet, country: str) -> ZoneInfo:
    """The time zone in which periods protecting an authority's right to object end (Reg. 1182/71): the
    legal representative's; UTC when the policy names none."""
    contact = legal_representative(policy, country)
    return ZoneInfo(contact.timezone if contact is not None else "UTC")


def facts_for(
    request: LawfulRequest,
    agency_country: str,
    lookups: Iterable[TargetLookup],
    *,
    held: bool = True,
    representative_country: str | None = None,
) -> RequestFacts:
    lookups = list(lookups)
    validated = request.validation_status is ValidationStatus.VALIDATED
    return RequestFacts(
        instrument=request.instrument,
        agency_country=agency_country,
        issuer_kind=request.issuer_kind,
        emergency=request.emergency,
        requested_categories=frozenset(DataCategory(c) for c in request.data_categories),
        offence_max_penalty_years=request.offence_max_penalty_years,
        listed_offence=request.listed_offence,
        suspect_confirmed=request.suspect_confirmed,
        present_fields=present_fields(request),
        targets_total=len(lookups),
        targets_found=sum(1 for lookup in lookups if lookup.account_id is not None),
        data_held=held,
        validator_kind=request.validator_kind if validated else None,
        validation_pending=request.validation_status is ValidationStatus.PENDING,
        by_information_system=bool(request.by_information_system),
        sentence_months=request.sentence_months,
        offence_in_issuing_state=bool(request.offence_in_issuing_state),
        person_resides_in_issuing_state=bool(request.person_resides_in_issuing_state),
        period_after_receipt=period_after_receipt(
            request.period_start, request.period_end, request.received_at
        ),
        legal_representative_country=representative_country,
        received_at=request.received_at,
    )


def recommendation_for(
    request: LawfulRequest, catalogue: Catalogue, policy: PolicySet, connector: PlatformConnector
) -> Recommendation:
    """What the policy engine recommends for this request now (targets looked up on the platform, and
    whether it holds data of the requested categories for them up to receipt)."""
    instrument = catalogue.get(request.instrument)
    lookups = look_up_targets(request, connector)
    held = instrument.kind is InstrumentKind.REMOVAL or data_held(request, connector, lookups)
    facts = facts_for(
        request,
        request.agency.country,
        lookups,
        held=held,
        representative_country=legal_representative_country(policy, request.agency.country),
    )
    return recommend(facts, instrument, policy, catalogue.version, catalogue=catalogue)
