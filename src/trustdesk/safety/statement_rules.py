"""The EU Transparency Database's rules for a statement of reasons (DSA Art. 17, Art. 24(5)): what it
refuses, and why. Pure: no ORM, no web, no clock.

The source of truth is ``/work/shared/reference/dsa-statement-of-reasons.md`` ("the reference"); every
rule the validator enforces has a stable id in ``RULES`` with the reference line it encodes. The statement
itself (its fields and values), its JSON and its building from a decision are
:mod:`trustdesk.safety.statements`.
"""

import re
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from enum import Enum
from typing import Any, Final
from urllib.parse import urlsplit

from trustdesk.safety.pii import PiiKind, find_personal_data
from trustdesk.safety.statements import (
    ARRAY_FIELDS,
    FIELDS,
    AccountType,
    AutomatedDecision,
    ContentType,
    DecisionAccount,
    DecisionGroundCode,
    DecisionMonetary,
    DecisionProvision,
    DecisionVisibility,
    EeaCountry,
    SourceType,
    Statement,
    YesNo,
    is_present,
)
from trustdesk.safety.vocabulary import DsaCategory, DsaKeyword

__all__ = [
    "END_DATES",
    "FREE_TEXT",
    "ISO_639_1",
    "MAX_LENGTH",
    "RULES",
    "StatementRefused",
    "validate_batch",
    "validate_statement",
]

ISO_639_1: Final = frozenset(
    """aa ab ae af ak am an ar as av ay az ba be bg bh bi bm bn bo br bs ca ce ch co cr cs cu cv cy da de dv
    dz ee el en eo es et eu fa ff fi fj fo fr fy ga gd gl gn gu gv ha he hi ho hr ht hu hy hz ia id ie ig ii
    ik io is it iu ja jv ka kg ki kj kk kl km kn ko kr ks ku kv kw ky la lb lg li ln lo lt lu lv mg mh mi mk
    ml mn mr ms mt my na nb nd ne ng nl nn no nr nv ny oc oj om or os pa pi pl ps pt qu rm rn ro ru rw sa sc
    sd se sg si sk sl sm sn so sq sr ss st su sv sw ta te tg th ti tk tl tn to tr ts tt tw ty ug uk ur uz ve
    vi vo wa wo xh yi yo za zh zu""".upper().split()
)

END_DATES: Final = (
    "end_date_account_restriction",
    "end_date_monetary_restriction",
    "end_date_service_restriction",
    "end_date_visibility_restriction",
)
MAX_LENGTH: Final[Mapping[str, int]] = {
    "decision_visibility_other": 500,
    "decision_monetary_other": 500,
    "decision_ground_reference_url": 500,
    "illegal_content_legal_ground": 500,
    "illegal_content_explanation": 2000,
    "incompatible_content_ground": 500,
    "incompatible_content_explanation": 2000,
    "content_type_other": 500,
    "category_specification_other": 500,
    "decision_facts": 5000,
    "source_identity": 500,
    "puid": 500,
}
FREE_TEXT: Final = tuple(name for name in MAX_LENGTH if name != "puid")
"""The fields a person writes in: none may hold personal data (reference line 19)."""
_LINE_OF_LENGTH: Final = {
    "decision_visibility_other": 29,
    "decision_monetary_other": 31,
    "decision_ground_reference_url": 36,
    "illegal_content_legal_ground": 37,
    "illegal_content_explanation": 38,
    "incompatible_content_ground": 39,
    "incompatible_content_explanation": 40,
    "content_type_other": 43,
    "category_specification_other": 47,
    "decision_facts": 53,
    "source_identity": 55,
    "puid": 58,
}
_LINE_OF_STRING: Final = {**_LINE_OF_LENGTH, "content_language": 49}
"""The fields whose type is ``string`` (the type column of the reference), with their line."""

RULES: Final[Mapping[str, tuple[int, str]]] = {
    "batch.size": (10, "a batch holds 1 to 100 statements"),
    "batch.puid_unique": (15, "a duplicate puid is refused (422): no two statements of a batch share one"),
    "no_personal_data": (19, "no personal data may be submitted, free-text fields included"),
    "decision.at_least_one": (28, "at least one of the four decision_* fields must be present"),
    "decision_visibility.allowed": (28, "decision_visibility values are DECISION_VISIBILITY_*"),
    "decision_visibility_other.required": (29, "required when the list holds DECISION_VISIBILITY_OTHER"),
    "decision_monetary.allowed": (30, "decision_monetary is one of DECISION_MONETARY_*"),
    "decision_monetary_other.required": (31, "required when DECISION_MONETARY_OTHER"),
    "decision_provision.allowed": (32, "decision_provision is one of DECISION_PROVISION_*"),
    "decision_account.allowed": (33, "decision_account is one of DECISION_ACCOUNT_*"),
    "account_type.allowed": (34, "account_type is ACCOUNT_TYPE_BUSINESS or ACCOUNT_TYPE_PRIVATE"),
    "decision_ground.required": (35, "decision_ground is always required"),
    "decision_ground.allowed": (35, "decision_ground is ILLEGAL_CONTENT or INCOMPATIBLE_CONTENT"),
    "decision_ground_reference_url.url": (36, "decision_ground_reference_url is a URL"),
    "illegal_content_legal_ground.required": (37, "required when ground is ILLEGAL_CONTENT"),
    "illegal_content_explanation.required": (38, "required when ground is ILLEGAL_CONTENT"),
    "incompatible_content_ground.required": (39, "required when ground is INCOMPATIBLE_CONTENT"),
    "incompatible_content_explanation.required": (40, "required when ground is INCOMPATIBLE_CONTENT"),
    "incompatible_content_illegal.allowed": (41, 'incompatible_content_illegal is "Yes" or "No"'),
    "incompatible_content_illegal.only_with_incompatible": (41, "only with INCOMPATIBLE_CONTENT"),
    "content_type.required": (42, "content_type is always required (a non-empty array)"),
    "content_type.allowed": (42, "content_type values are CONTENT_TYPE_*"),
    "content_type_other.required": (43, "required when the list holds CONTENT_TYPE_OTHER"),
    "category.required": (44, "category is always required"),
    "category.allowed": (44, "category is one of the 16 STATEMENT_CATEGORY_* values"),
    "category_addition.allowed": (45, "category_addition values are the same 16 values"),
    "category_specification.allowed": (46, "category_specification values are the KEYWORD_* list"),
    "territorial_scope.allowed": (48, "territorial_scope values are the EEA codes listed"),
    "territorial_scope.geo_restriction": (48, "builder: a geo-restriction states its territorial scope"),
    "content_language.allowed": (49, "content_language is an upper-case ISO 639-1 code"),
    "content_date.required": (50, "content_date is always required"),
    "content_date.format": (50, "content_date is a date YYYY-MM-DD"),
    "content_date.range": (50, "content_date is 2000-01-01 … 2038-01-01"),
    "application_date.required": (51, "application_date is always required"),
    "application_date.format": (51, "application_date is a date YYYY-MM-DD"),
    "application_date.range": (51, "application_date is 2020-01-01 … 2038-01-01"),
    **{f"{name}.format": (52, f"{name} is a date YYYY-MM-DD") for name in END_DATES},
    **{f"{name}.range": (52, f"{name} is at most 2038-01-01") for name in END_DATES},
    **{
        f"{name}.not_before_application": (52, f"{name} is not before application_date") for name in END_DATES
    },
    "decision_facts.required": (53, "decision_facts is always required"),
    "source_type.required": (54, "source_type is always required"),
    "source_type.allowed": (54, "source_type is one of the four SOURCE_* values"),
    "automated_detection.required": (56, "automated_detection is always required"),
    "automated_detection.allowed": (56, 'automated_detection is "Yes" or "No"'),
    "automated_decision.required": (57, "automated_decision is always required"),
    "automated_decision.allowed": (57, "automated_decision is one of AUTOMATED_DECISION_*"),
    "puid.required": (58, "puid is always required"),
    "puid.charset": (58, "puid holds only a-z A-Z 0-9 - _"),
    "content_id.key": (59, 'content_id has only the key "EAN-13"'),
    "content_id.ean13": (59, "the EAN-13 is 13 digits"),
    **{
        f"{name}.max_length": (line, f"{name} is at most {MAX_LENGTH[name]} characters")
        for name, line in _LINE_OF_LENGTH.items()
    },
    **{f"{name}.string": (line, f"{name} is a string") for name, line in _LINE_OF_STRING.items()},
    "content_id.object": (59, 'content_id is an object (a mapping, only key "EAN-13")'),
}
"""Every rule: its id → (line of the reference it encodes, what it says)."""


class StatementRefused(ValueError):
    """A statement the Transparency Database would refuse: ``rule`` is a key of ``RULES``, ``field`` the
    database field at fault; ``kind`` names the kind of personal data found (never the data itself)."""

    def __init__(self, rule: str, field: str, message: str, *, kind: PiiKind | None = None) -> None:
        assert rule in RULES, rule
        line = RULES[rule][0]
        super().__init__(f"{field}: {message} (rule {rule}, dsa-statement-of-reasons.md line {line})")
        self.rule = rule
        self.field = field
        self.kind = kind


_ENUM_OF: Final[Mapping[str, type[Enum]]] = {
    "decision_visibility": DecisionVisibility,
    "decision_monetary": DecisionMonetary,
    "decision_provision": DecisionProvision,
    "decision_account": DecisionAccount,
    "account_type": AccountType,
    "decision_ground": DecisionGroundCode,
    "incompatible_content_illegal": YesNo,
    "content_type": ContentType,
    "category": DsaCategory,
    "category_addition": DsaCategory,
    "category_specification": DsaKeyword,
    "territorial_scope": EeaCountry,
    "source_type": SourceType,
    "automated_detection": YesNo,
    "automated_decision": AutomatedDecision,
}
_REQUIRED: Final = (
    "decision_ground",
    "content_type",
    "category",
    "content_date",
    "application_date",
    "decision_facts",
    "source_type",
    "automated_detection",
    "automated_decision",
    "puid",
)
_DECISIONS: Final = ("decision_visibility", "decision_monetary", "decision_provision", "decision_account")
_PUID: Final = re.compile(r"[A-Za-z0-9_\-]+")
_EAN13: Final = re.compile(r"[0-9]{13}")
_DATE_RANGES: Final = {
    "content_date": (date(2000, 1, 1), date(2038, 1, 1)),
    "application_date": (date(2020, 1, 1), date(2038, 1, 1)),
    **dict.fromkeys(END_DATES, (date.min, date(2038, 1, 1))),
}


def _check_types(s: Statement) -> None:
    for name in _LINE_OF_STRING:
        value = getattr(s, name)
        if value is not None and not isinstance(value, str):
            raise StatementRefused(f"{name}.string", name, f"must be a string, not {type(value).__name__}")
    content_id: object = s.content_id  # typed as a mapping; a caller may still pass anything
    if content_id is not None and not isinstance(content_id, Mapping):
        raise StatementRefused("content_id.object", "content_id", 'must be an object (key "EAN-13")')


def _check_allowed(s: Statement) -> None:
    for name, enum in _ENUM_OF.items():
        value = getattr(s, name)
        if not is_present(value):
            continue
        values = value if name in ARRAY_FIELDS else (value,)
        if name in ARRAY_FIELDS and not isinstance(value, tuple | list):
            raise StatementRefused(f"{name}.allowed", name, "must be an array")
        for item in values:
            if not isinstance(item, enum):
                raise StatementRefused(
                    f"{name}.allowed", name, f"holds a value that is not one of {enum.__name__}"
                )


def _check_dates(s: Statement) -> None:
    for name, (low, high) in _DATE_RANGES.items():
        value = getattr(s, name)
        if value is None:
            continue
        if not isinstance(value, date) or isinstance(value, datetime):
            raise StatementRefused(f"{name}.format", name, "must be a date (YYYY-MM-DD), not a timestamp")
        if not low <= value <= high:
            bound = "" if low == date.min else f"{low.isoformat()} … "
            raise StatementRefused(f"{name}.range", name, f"must be within {bound}{high.isoformat()}")
        if name in END_DATES and value < s.application_date:
            raise StatementRefused(f"{name}.not_before_application", name, "is before application_date")


def _check_text(s: Statement) -> None:
    for name, limit in MAX_LENGTH.items():
        value = getattr(s, name)
        if isinstance(value, str) and len(value) > limit:
            raise StatementRefused(f"{name}.max_length", name, f"is {len(value)} characters, at most {limit}")
    for name in FREE_TEXT:
        value = getattr(s, name)
        if isinstance(value, str) and (kinds := find_personal_data(value)):
            raise StatementRefused(
                "no_personal_data",
                name,
                f"holds personal data ({kinds[0]}); state the facts without it",
                kind=kinds[0],
            )


def validate_statement(statement: Statement) -> Statement:
    """``statement`` if the Transparency Database would accept it; otherwise ``StatementRefused`` naming
    the first rule broken (required fields, types, allowed values, conditions, dates, lengths, personal
    data)."""
    s = statement
    for name in _REQUIRED:
        if not is_present(getattr(s, name)):
            raise StatementRefused(f"{name}.required", name, "is required")
    _check_types(s)
    _check_allowed(s)
    if not any(is_present(getattr(s, name)) for name in _DECISIONS):
        raise StatementRefused(
            "decision.at_least_one", "decision_visibility", "no decision_* field is present"
        )
    if DecisionVisibility.OTHER in s.decision_visibility and not is_present(s.decision_visibility_other):
        raise StatementRefused(
            "decision_visibility_other.required", "decision_visibility_other", "is required"
        )
    if s.decision_monetary is DecisionMonetary.OTHER and not is_present(s.decision_monetary_other):
        raise StatementRefused("decision_monetary_other.required", "decision_monetary_other", "is required")
    if ContentType.OTHER in s.content_type and not is_present(s.content_type_other):
        raise StatementRefused("content_type_other.required", "content_type_other", "is required")
    if s.decision_ground is DecisionGroundCode.ILLEGAL_CONTENT:
        for name in ("illegal_content_legal_ground", "illegal_content_explanation"):
            if not is_present(getattr(s, name)):
                raise StatementRefused(f"{name}.required", name, "is required when the content is illegal")
        if s.incompatible_content_illegal is not None:
            raise StatementRefused(
                "incompatible_content_illegal.only_with_incompatible",
                "incompatible_content_illegal",
                "is only sent with DECISION_GROUND_INCOMPATIBLE_CONTENT",
            )
    else:
        for name in ("incompatible_content_ground", "incompatible_content_explanation"):
            if not is_present(getattr(s, name)):
                raise StatementRefused(
                    f"{name}.required", name, "is required when incompatible with the terms"
                )
    if s.content_language is not None and s.content_language not in ISO_639_1:
        raise StatementRefused(
            "content_language.allowed", "content_language", "is not an upper-case ISO 639-1 code"
        )
    if not _PUID.fullmatch(s.puid):
        raise StatementRefused("puid.charset", "puid", "may hold only a-z A-Z 0-9 - _")
    if s.content_id is not None:
        if set(s.content_id) != {"EAN-13"}:
            raise StatementRefused("content_id.key", "content_id", 'may hold only the key "EAN-13"')
        if not isinstance(s.content_id["EAN-13"], str) or not _EAN13.fullmatch(s.content_id["EAN-13"]):
            raise StatementRefused("content_id.ean13", "content_id", "the EAN-13 must be 13 digits")
    _check_dates(s)
    if s.decision_ground_reference_url is not None and not _is_url(s.decision_ground_reference_url):
        raise StatementRefused(
            "decision_ground_reference_url.url", "decision_ground_reference_url", "is not a URL"
        )
    _check_text(s)
    return s


def _is_url(value: str) -> bool:
    if any(c.isspace() for c in value):
        return False
    parts = urlsplit(value)
    return parts.scheme in {"http", "https"} and bool(parts.hostname) and "." in (parts.hostname or "")


def validate_batch(statements: Iterable[Statement]) -> tuple[Statement, ...]:
    """A batch for ``POST /api/v1/statements``: 1 to 100 valid statements with distinct puids; a refusal
    names the statement (``statement_N.field``, N from 0, as the database keys its errors)."""
    batch = tuple(statements)
    if not 1 <= len(batch) <= 100:
        raise StatementRefused(
            "batch.size", "statements", f"holds {len(batch)} statements, 1 to 100 are allowed"
        )
    seen: set[str] = set()
    for index, statement in enumerate(batch):
        try:
            validate_statement(statement)
        except StatementRefused as refused:
            message = str(refused).partition(": ")[2]
            raise StatementRefused(
                refused.rule,
                f"statement_{index}.{refused.field}",
                message.rsplit(" (rule ", 1)[0],
                kind=refused.kind,
            ) from refused
        if statement.puid in seen:
            raise StatementRefused(
                "batch.puid_unique", f"statement_{index}.puid", "repeats an earlier statement's puid"
            )
        seen.add(statement.puid)
    return batch


# --- statements as the database stores them (JSON), read back ----------------------------------------

_DATE_FIELDS: Final = frozenset(
    {
        "content_date",
        "application_date",
        "end_date_account_restriction",
        "end_date_monetary_restriction",
        "end_date_service_restriction",
        "end_date_visibility_restriction",
    }
)


def _value(name: str, raw: object) -> object:
    """A JSON value as the `Statement` field holds it; a value that does not convert is kept as it is, so
    that the validator names the rule it breaks."""
    enum = _ENUM_OF.get(name)
    if name in ARRAY_FIELDS:
        if not isinstance(raw, list):
            return raw
        return tuple(_value_of(enum, item) for item in raw)
    if enum is not None:
        return _value_of(enum, raw)
    if name in _DATE_FIELDS and isinstance(raw, str):
        try:
            return date.fromisoformat(raw) if len(raw) == 10 else raw
        except ValueError:
            return raw
    return raw


def _value_of(enum: type[Enum] | None, raw: object) -> object:
    if enum is None:
        return raw
    try:
        return enum(raw)
    except ValueError:
        return raw


def statement_from_json(body: Mapping[str, Any]) -> Statement:
    """A statement in the database's JSON (``safety_statements.body``) as a `Statement`, validated with the
    database's rules (``StatementRefused`` names the rule broken). Unknown fields are ignored, as the
    database drops them."""
    values = {name: _value(name, body[name]) for name in FIELDS if name in body and body[name] is not None}
    for name in ("decision_visibility", "category_addition", "category_specification", "content_type"):
        values.setdefault(name, ())
    for name in ("decision_ground", "category", "content_date", "application_date", "decision_facts",
                 "source_type", "automated_detection", "automated_decision", "puid"):  # fmt: skip
        values.setdefault(name, None)
    statement = Statement(**values)  # type: ignore[arg-type]  # checked by the validator, value by value
    return validate_statement(statement)


def refusal_of(body: Mapping[str, Any]) -> str | None:
    """Why the database would refuse ``body`` (None: it would accept it)."""
    try:
        statement_from_json(body)
    except StatementRefused as refused:
        return str(refused)
    except (TypeError, ValueError, AttributeError) as exc:
        return f"not a statement in the database's schema: {exc}"
    return None
