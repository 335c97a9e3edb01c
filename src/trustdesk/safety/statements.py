"""Statements of reasons (DSA Art. 17) in the EU Transparency Database's schema: the statement, its JSON,
and its building from a moderation decision. Pure: no ORM, no web, no clock.

The source of truth is ``/work/shared/reference/dsa-statement-of-reasons.md`` ("the reference"). Every
statement built or serialised here is first validated against the database's rules, which are
:mod:`trustdesk.safety.statement_rules` (``validate_statement``, ``StatementRefused``, ``RULES``).
"""

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import date
from enum import Enum, StrEnum
from typing import Final

from trustdesk.safety.restrictions import DecisionGround, Restriction
from trustdesk.safety.vocabulary import ContentKind, DsaCategory, DsaKeyword

__all__ = [
    "ARRAY_FIELDS",
    "FIELDS",
    "AccountType",
    "AutomatedDecision",
    "CaseSource",
    "ContentType",
    "DecisionAccount",
    "DecisionGroundCode",
    "DecisionMonetary",
    "DecisionProvision",
    "DecisionVisibility",
    "EeaCountry",
    "ModerationDecision",
    "SourceType",
    "Statement",
    "YesNo",
    "build_statement",
    "is_present",
    "to_json",
    "to_json_line",
]


class DecisionVisibility(StrEnum):
    CONTENT_REMOVED = "DECISION_VISIBILITY_CONTENT_REMOVED"
    CONTENT_DISABLED = "DECISION_VISIBILITY_CONTENT_DISABLED"
    CONTENT_DEMOTED = "DECISION_VISIBILITY_CONTENT_DEMOTED"
    CONTENT_AGE_RESTRICTED = "DECISION_VISIBILITY_CONTENT_AGE_RESTRICTED"
    CONTENT_INTERACTION_RESTRICTED = "DECISION_VISIBILITY_CONTENT_INTERACTION_RESTRICTED"
    CONTENT_LABELLED = "DECISION_VISIBILITY_CONTENT_LABELLED"
    OTHER = "DECISION_VISIBILITY_OTHER"


class DecisionMonetary(StrEnum):
    SUSPENSION = "DECISION_MONETARY_SUSPENSION"
    TERMINATION = "DECISION_MONETARY_TERMINATION"
    OTHER = "DECISION_MONETARY_OTHER"


class DecisionProvision(StrEnum):
    PARTIAL_SUSPENSION = "DECISION_PROVISION_PARTIAL_SUSPENSION"
    TOTAL_SUSPENSION = "DECISION_PROVISION_TOTAL_SUSPENSION"
    PARTIAL_TERMINATION = "DECISION_PROVISION_PARTIAL_TERMINATION"
    TOTAL_TERMINATION = "DECISION_PROVISION_TOTAL_TERMINATION"


class DecisionAccount(StrEnum):
    SUSPENDED = "DECISION_ACCOUNT_SUSPENDED"
    TERMINATED = "DECISION_ACCOUNT_TERMINATED"


class AccountType(StrEnum):
    BUSINESS = "ACCOUNT_TYPE_BUSINESS"
    PRIVATE = "ACCOUNT_TYPE_PRIVATE"


class DecisionGroundCode(StrEnum):
    ILLEGAL_CONTENT = "DECISION_GROUND_ILLEGAL_CONTENT"
    INCOMPATIBLE_CONTENT = "DECISION_GROUND_INCOMPATIBLE_CONTENT"


class YesNo(StrEnum):
    YES = "Yes"
    NO = "No"


class ContentType(StrEnum):
    APP = "CONTENT_TYPE_APP"
    AUDIO = "CONTENT_TYPE_AUDIO"
    IMAGE = "CONTENT_TYPE_IMAGE"
    PRODUCT = "CONTENT_TYPE_PRODUCT"
    SYNTHETIC_MEDIA = "CONTENT_TYPE_SYNTHETIC_MEDIA"
    TEXT = "CONTENT_TYPE_TEXT"
    VIDEO = "CONTENT_TYPE_VIDEO"
    OTHER = "CONTENT_TYPE_OTHER"


class SourceType(StrEnum):
    ARTICLE_16 = "SOURCE_ARTICLE_16"
    TRUSTED_FLAGGER = "SOURCE_TRUSTED_FLAGGER"
    OTHER_NOTIFICATION = "SOURCE_TYPE_OTHER_NOTIFICATION"
    VOLUNTARY = "SOURCE_VOLUNTARY"


class AutomatedDecision(StrEnum):
    FULLY = "AUTOMATED_DECISION_FULLY"
    PARTIALLY = "AUTOMATED_DECISION_PARTIALLY"
    NOT_AUTOMATED = "AUTOMATED_DECISION_NOT_AUTOMATED"


class EeaCountry(StrEnum):
    """The ``territorial_scope`` values (reference line 48): the EEA, Greece as ``GR``."""

    AT = "AT"
    BE = "BE"
    BG = "BG"
    CY = "CY"
    CZ = "CZ"
    DE = "DE"
    DK = "DK"
    EE = "EE"
    ES = "ES"
    FI = "FI"
    FR = "FR"
    GR = "GR"
    HR = "HR"
    HU = "HU"
    IE = "IE"
    IS = "IS"
    IT = "IT"
    LI = "LI"
    LT = "LT"
    LU = "LU"
    LV = "LV"
    MT = "MT"
    NL = "NL"
    NO = "NO"
    PL = "PL"
    PT = "PT"
    RO = "RO"
    SE = "SE"
    SI = "SI"
    SK = "SK"


@dataclass(frozen=True, kw_only=True)
class Statement:
    """One statement of reasons; the field names and values are the database's (reference lines 28-59).
    Absent optional fields are ``None`` (or an empty tuple for arrays)."""

    decision_visibility: tuple[DecisionVisibility, ...] = ()
    decision_visibility_other: str | None = None
    decision_monetary: DecisionMonetary | None = None
    decision_monetary_other: str | None = None
    decision_provision: DecisionProvision | None = None
    decision_account: DecisionAccount | None = None
    account_type: AccountType | None = None
    decision_ground: DecisionGroundCode
    decision_ground_reference_url: str | None = None
    illegal_content_legal_ground: str | None = None
    illegal_content_explanation: str | None = None
    incompatible_content_ground: str | None = None
    incompatible_content_explanation: str | None = None
    incompatible_content_illegal: YesNo | None = None
    content_type: tuple[ContentType, ...]
    content_type_other: str | None = None
    category: DsaCategory
    category_addition: tuple[DsaCategory, ...] = ()
    category_specification: tuple[DsaKeyword, ...] = ()
    category_specification_other: str | None = None
    territorial_scope: tuple[EeaCountry, ...] | None = None
    content_language: str | None = None
    content_date: date
    application_date: date
    end_date_account_restriction: date | None = None
    end_date_monetary_restriction: date | None = None
    end_date_service_restriction: date | None = None
    end_date_visibility_restriction: date | None = None
    decision_facts: str
    source_type: SourceType
    source_identity: str | None = None
    automated_detection: YesNo
    automated_decision: AutomatedDecision
    puid: str
    content_id: Mapping[str, str] | None = field(default=None, hash=False)


FIELDS: Final = tuple(f.name for f in fields(Statement))
"""The database's field names, in the reference's order."""

ARRAY_FIELDS: Final = frozenset(
    {
        "decision_visibility",
        "content_type",
        "category_addition",
        "category_specification",
        "territorial_scope",
    }
)
"""The fields whose type is ``array``."""


def is_present(value: object) -> bool:
    """Whether a field's value counts as given: not None, not blank text, not an empty array."""
    if value is None:
        return False
    if isinstance(value, str):
        return value.strip() != ""
    if isinstance(value, tuple | list | frozenset | set | dict):
        return len(value) > 0
    return True


def to_json(statement: Statement) -> dict[str, object]:
    """The statement as the database stores it: validated, its field names, enum keys as strings, arrays
    de-duplicated and sorted, the main category dropped from ``category_addition``, ``source_identity``
    dropped for ``SOURCE_VOLUNTARY``, dates ``YYYY-MM-DD``, absent fields left out."""
    from trustdesk.safety.statement_rules import validate_statement  # statement_rules imports this module

    s = validate_statement(statement)
    out: dict[str, object] = {}
    for name in FIELDS:
        value = getattr(s, name)
        if name == "category_addition":
            value = tuple(c for c in value if c != s.category)
        if name == "source_identity" and s.source_type is SourceType.VOLUNTARY:
            value = None
        if name == "territorial_scope" and value is not None:
            out[name] = sorted({str(v) for v in value})
        elif not is_present(value):
            continue
        elif name in ARRAY_FIELDS:
            out[name] = sorted({str(v) for v in value})
        elif isinstance(value, date):
            out[name] = value.isoformat()
        elif isinstance(value, Enum):
            out[name] = str(value.value)
        elif isinstance(value, Mapping):
            out[name] = dict(value)
        else:
            out[name] = value
    return out


def to_json_line(statement: Statement) -> str:
    """One JSON line (no newline): ``to_json`` compactly, UTF-8 text kept as is."""
    return json.dumps(to_json(statement), ensure_ascii=False, separators=(",", ":"))


# --- the builder -------------------------------------------------------------------------------------


class CaseSource(StrEnum):
    """How the case came to the moderators."""

    USER_NOTICE = "user_notice"  # a notice under Art. 16
    TRUSTED_FLAGGER = "trusted_flagger"  # a notice by a trusted flagger (Art. 22)
    OWN_INITIATIVE = "own_initiative"  # found by Trustdesk itself (detectors, banks, review)
    AUTHORITY_ORDER = "authority_order"  # an order of a judicial or administrative authority (Art. 9)


_SOURCE_TYPE: Final = {
    CaseSource.USER_NOTICE: SourceType.ARTICLE_16,
    CaseSource.TRUSTED_FLAGGER: SourceType.TRUSTED_FLAGGER,
    CaseSource.OWN_INITIATIVE: SourceType.VOLUNTARY,
    CaseSource.AUTHORITY_ORDER: SourceType.OTHER_NOTIFICATION,
}
_VISIBILITY: Final = {
    Restriction.REMOVE: DecisionVisibility.CONTENT_REMOVED,
    Restriction.DISABLE: DecisionVisibility.CONTENT_DISABLED,
    Restriction.GEO_RESTRICT: DecisionVisibility.CONTENT_DISABLED,
    Restriction.DEMOTE: DecisionVisibility.CONTENT_DEMOTED,
    Restriction.LABEL: DecisionVisibility.CONTENT_LABELLED,
    Restriction.AGE_RESTRICT: DecisionVisibility.CONTENT_AGE_RESTRICTED,
}
_CONTENT_TYPE: Final = {
    ContentKind.TEXT: ContentType.TEXT,
    ContentKind.IMAGE: ContentType.IMAGE,
    ContentKind.VIDEO: ContentType.VIDEO,
    ContentKind.FILE: ContentType.OTHER,
}
FILE_CONTENT_TYPE_OTHER: Final = "File shared in a conversation"


@dataclass(frozen=True, kw_only=True)
class ModerationDecision:
    """What was decided, in Trustdesk's words; ``build_statement`` turns it into the database's."""

    puid: str
    restrictions: frozenset[Restriction]
    territorial_scope: tuple[str, ...] | None = None
    """For ``GEO_RESTRICT``: the ISO 3166-1 alpha-2 codes where access is disabled (EEA codes only)."""
    category: DsaCategory
    keywords: tuple[DsaKeyword, ...] = ()
    keyword_other: str | None = None
    ground: DecisionGround
    ground_text: str
    """The legal ground (law and provision) if illegal, the terms-of-service clause if incompatible."""
    explanation: str
    tos_url: str | None = None
    also_illegal: bool | None = None
    """For a terms-of-service ground: whether the content is also considered illegal (None: not stated)."""
    facts: str
    source: CaseSource
    source_identity: str | None = None
    automated_detection: bool
    automated_decision: AutomatedDecision
    content_types: tuple[ContentKind | ContentType, ...]
    content_date: date
    application_date: date
    content_language: str | None = None
    account_type: AccountType | None = None
    account_restriction_end: date | None = None
    """The end of an account suspension (None: indefinite)."""
    visibility_restriction_end: date | None = None


def _content_type(kind: ContentKind | ContentType) -> ContentType:
    return _CONTENT_TYPE[kind] if isinstance(kind, ContentKind) else kind


def build_statement(decision: ModerationDecision) -> Statement:
    """The statement of reasons for ``decision``, validated (``StatementRefused`` otherwise).

    Content restrictions map to ``decision_visibility`` (a geo-restriction is CONTENT_DISABLED in its
    ``territorial_scope``, everything else applies in the whole EEA); ``TERMINATE`` to
    DECISION_ACCOUNT_TERMINATED (it supersedes a suspension), ``SUSPEND`` to DECISION_ACCOUNT_SUSPENDED."""
    from trustdesk.safety.statement_rules import StatementRefused, validate_statement  # see to_json

    d = decision
    visibility = tuple(sorted({_VISIBILITY[r] for r in d.restrictions if r in _VISIBILITY}))
    account = (
        DecisionAccount.TERMINATED
        if Restriction.TERMINATE in d.restrictions
        else DecisionAccount.SUSPENDED
        if Restriction.SUSPEND in d.restrictions
        else None
    )
    if Restriction.GEO_RESTRICT in d.restrictions:
        if not d.territorial_scope:
            raise StatementRefused(
                "territorial_scope.geo_restriction",
                "territorial_scope",
                "a geo-restriction needs its territorial scope",
            )
        try:
            scope = tuple(sorted({EeaCountry(code.upper()) for code in d.territorial_scope}))
        except ValueError:
            raise StatementRefused(
                "territorial_scope.allowed", "territorial_scope", "holds a code outside the EEA"
            ) from None
    else:
        scope = tuple(EeaCountry)
    content_types = tuple(sorted({_content_type(k) for k in d.content_types}))
    illegal = d.ground is DecisionGround.ILLEGAL_CONTENT
    statement = Statement(
        decision_visibility=visibility,
        decision_account=account,
        account_type=d.account_type,
        decision_ground=DecisionGroundCode.ILLEGAL_CONTENT
        if illegal
        else DecisionGroundCode.INCOMPATIBLE_CONTENT,
        decision_ground_reference_url=d.tos_url,
        illegal_content_legal_ground=d.ground_text if illegal else None,
        illegal_content_explanation=d.explanation if illegal else None,
        incompatible_content_ground=None if illegal else d.ground_text,
        incompatible_content_explanation=None if illegal else d.explanation,
        incompatible_content_illegal=None
        if illegal or d.also_illegal is None
        else (YesNo.YES if d.also_illegal else YesNo.NO),
        content_type=content_types,
        content_type_other=FILE_CONTENT_TYPE_OTHER if ContentKind.FILE in d.content_types else None,
        category=d.category,
        category_specification=tuple(sorted(set(d.keywords))),
        category_specification_other=d.keyword_other,
        territorial_scope=scope,
        content_language=d.content_language,
        content_date=d.content_date,
        application_date=d.application_date,
        end_date_account_restriction=d.account_restriction_end
        if account is DecisionAccount.SUSPENDED
        else None,
        end_date_visibility_restriction=d.visibility_restriction_end if visibility else None,
        decision_facts=d.facts,
        source_type=_SOURCE_TYPE[d.source],
        source_identity=None if d.source is CaseSource.OWN_INITIATIVE else d.source_identity,
        automated_detection=YesNo.YES if d.automated_detection else YesNo.NO,
        automated_decision=d.automated_decision,
        puid=d.puid,
    )
    return validate_statement(statement)
