"""The portal's new-request form: form fields to a ``RequestIn``, and every error back to its form field.

Pure apart from reading a submitted form: no database, no clock. What each instrument needs is read from
the catalogue, never written here a second time.
"""

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import ValidationError
from starlette.datastructures import FormData

from trustdesk.errors import DomainError
from trustdesk.lawful.catalogue import Catalogue, Instrument, RequestField
from trustdesk.lawful.schemas import RequestIn
from trustdesk.vocabulary import DataCategory, IssuerKind, TargetType

Values = dict[str, str | list[str]]
"""The raw input of a form, as typed: shown again when the form comes back with errors."""
Errors = dict[str, str]
"""Form field name -> what is wrong with it; ``form`` for the form as a whole."""

GENERAL = "form"
TEXT_FIELDS = (
    "instrument",
    "reference",
    "emergency_justification",
    "supervisor_name",
    "supervisor_email",
    "supervisor_phone",
    "issuer_name",
    "issuer_kind",
    "issuer_country",
    "legal_basis",
    "statement_of_reasons",
    "redress_information",
    "territorial_scope",
    "offence_description",
    "offence_max_penalty_years",
    "listed_offence",
    "targets",
    "period_from",
    "period_to",
    "respond_by",
    "non_disclosure_until",
    "confidential_until",
    "nonce",
)
CHECKBOXES = ("emergency", "suspect_confirmed")
LISTS = ("data_categories",)
DATETIME_FIELDS = ("period_from", "period_to", "respond_by", "non_disclosure_until", "confidential_until")
MAX_FIELD_CHARS = 20_000
NONCE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")

LABELS: Mapping[str, str] = {
    "form": "The form",
    "instrument": "Legal instrument",
    "reference": "Your reference",
    "emergency": "Emergency",
    "emergency_justification": "Why this is an emergency",
    "supervisor_name": "Supervisor's name",
    "supervisor_email": "Supervisor's e-mail",
    "supervisor_phone": "Supervisor's phone",
    "issuer_name": "Issuing authority",
    "issuer_kind": "Kind of authority",
    "issuer_country": "Country",
    "legal_basis": "Legal basis",
    "statement_of_reasons": "Statement of reasons",
    "redress_information": "Redress information",
    "territorial_scope": "Territorial scope",
    "offence_description": "Offence",
    "offence_max_penalty_years": "Maximum penalty (years)",
    "listed_offence": "Listed offence",
    "suspect_confirmed": "Suspect confirmed",
    "targets": "Targets",
    "data_categories": "Data categories",
    "period_from": "Period from",
    "period_to": "Period to",
    "respond_by": "Answer by",
    "non_disclosure_until": "Non-disclosure order until",
    "confidential_until": "Confidential until",
    "document": "Signed order (PDF)",
}
"""The form's fields as its labels and its error summary name them."""

REQUEST_FIELD_LABELS: Mapping[RequestField, str] = {
    RequestField.ISSUING_AUTHORITY: "the issuing authority",
    RequestField.LEGAL_BASIS: "the legal basis",
    RequestField.STATEMENT_OF_REASONS: "a statement of reasons",
    RequestField.REDRESS_INFORMATION: "redress information",
    RequestField.TERRITORIAL_SCOPE: "the territorial scope",
    RequestField.TARGETS: "targets",
    RequestField.DATA_CATEGORIES: "data categories",
    RequestField.OFFENCE: "the offence",
    RequestField.OFFENCE_MAX_PENALTY_YEARS: "the offence's maximum penalty",
    RequestField.EMERGENCY_JUSTIFICATION: "an emergency justification",
    RequestField.SUPERVISOR_CONTACT: "a supervisor to call back",
    RequestField.ORDER_DOCUMENT: "the signed order (PDF)",
}
"""How the help texts name the fields an instrument requires."""

SERVICE_FIELDS: Mapping[str, str] = {
    "instrument": "instrument",
    "emergency": "emergency",
    "emergency_justification": "emergency_justification",
    "issuing_authority": "issuer_name",
    "issuing_authority.name": "issuer_name",
    "issuing_authority.kind": "issuer_kind",
    "issuing_authority.country": "issuer_country",
    "legal_basis": "legal_basis",
    "statement_of_reasons": "statement_of_reasons",
    "redress_information": "redress_information",
    "territorial_scope": "territorial_scope",
    "supervisor_contact": "supervisor_name",
    "offence": "offence_description",
    "offence.max_penalty_years": "offence_max_penalty_years",
    "offence.listed_offence": "listed_offence",
    "targets": "targets",
    "data_categories": "data_categories",
    "respond_by": "respond_by",
    "order_document": "document",
    "file": "document",
}
"""Fields named by the lawful service's errors -> the form fields that hold them."""

_NESTED: Mapping[str, Mapping[str, str]] = {
    "issuing_authority": {"name": "issuer_name", "kind": "issuer_kind", "country": "issuer_country"},
    "supervisor_contact": {
        "name": "supervisor_name",
        "email": "supervisor_email",
        "phone": "supervisor_phone",
    },
    "offence": {
        "description": "offence_description",
        "max_penalty_years": "offence_max_penalty_years",
        "listed_offence": "listed_offence",
    },
    "period": {"from": "period_from", "start": "period_from", "to": "period_to", "end": "period_to"},
}
_EMPTY_NESTED: Mapping[str, str] = {
    "issuing_authority": "issuer_name",
    "supervisor_contact": "supervisor_name",
    "offence": "offence_description",
    "period": "period_to",
}
_PATTERN_HINTS: Mapping[str, str] = {
    "supervisor_phone": "Write an international (E.164) number such as +33612345678.",
    "supervisor_email": "Write an e-mail address such as name@police.example.",
    "issuer_country": "Write a two-letter ISO country code such as FR.",
    "territorial_scope": "Write two-letter ISO country codes separated by commas, such as FR, DE.",
    "listed_offence": "Choose an offence from the list.",
}


# --- reading the form -----------------------------------------------------------------------------


def read_values(form: FormData) -> Values:
    """The text the officer typed, field by field (files are read separately)."""
    values: Values = {}
    for name in TEXT_FIELDS:
        raw = form.get(name)
        values[name] = raw[:MAX_FIELD_CHARS] if isinstance(raw, str) else ""
    for name in CHECKBOXES:
        values[name] = "on" if isinstance(form.get(name), str) else ""
    for name in LISTS:
        values[name] = [v for v in form.getlist(name) if isinstance(v, str)][: len(DataCategory) * 2]
    return values


def empty_values(*, issuer_kind: str, issuer_country: str, nonce: str) -> Values:
    values: Values = dict.fromkeys((*TEXT_FIELDS, *CHECKBOXES), "")
    values["data_categories"] = []
    values.update(issuer_kind=issuer_kind, issuer_country=issuer_country, nonce=nonce)
    return values


def _text(values: Values, name: str) -> str:
    value = values.get(name, "")
    return value.strip() if isinstance(value, str) else ""


def _optional(values: Values, name: str) -> str | None:
    return _text(values, name) or None


def utc_from_local(text: str) -> datetime:
    """A ``datetime-local`` value (``2026-11-02T09:00``) read as UTC; an explicit offset is kept."""
    parsed = datetime.fromisoformat(text.strip())
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def local_from_utc(value: datetime | None) -> str:
    """The ``datetime-local`` value showing ``value`` in UTC."""
    return "" if value is None else value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M")


def _targets(text: str, errors: Errors) -> list[dict[str, str]]:
    targets: list[dict[str, str]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        entry = line.strip()
        if not entry:
            continue
        kind, colon, value = entry.partition(":")
        if not colon or not value.strip():
            errors.setdefault("targets", f"Line {number}: write type:value, for example phone:+33612345678.")
            continue
        targets.append({"type": kind.strip().lower(), "value": value.strip()})
    return targets


def to_request_data(values: Values) -> tuple[dict[str, Any], Errors]:
    """The ``RequestIn`` input of a form, and the errors found before validating it."""
    errors: Errors = {}
    data: dict[str, Any] = {
        "instrument": _text(values, "instrument"),
        "reference": _text(values, "reference"),
        "emergency": values.get("emergency") == "on",
        "emergency_justification": _optional(values, "emergency_justification"),
        "issuing_authority": {
            "name": _text(values, "issuer_name"),
            "kind": _text(values, "issuer_kind"),
            "country": _text(values, "issuer_country"),
        },
        "legal_basis": _text(values, "legal_basis"),
        "statement_of_reasons": _optional(values, "statement_of_reasons"),
        "redress_information": _optional(values, "redress_information"),
        "suspect_confirmed": values.get("suspect_confirmed") == "on",
        "targets": _targets(_text(values, "targets"), errors),
    }
    categories = values.get("data_categories", [])
    data["data_categories"] = list(categories) if isinstance(categories, list) else []
    scope = [code.strip() for code in _text(values, "territorial_scope").split(",") if code.strip()]
    if scope:
        data["territorial_scope"] = scope
    supervisor = {key: _text(values, f"supervisor_{key}") for key in ("name", "email", "phone")}
    if any(supervisor.values()):
        data["supervisor_contact"] = supervisor
    offence: dict[str, Any] = {
        "description": _text(values, "offence_description"),
        "max_penalty_years": _optional(values, "offence_max_penalty_years"),
        "listed_offence": _optional(values, "listed_offence"),
    }
    if any(offence.values()):
        data["offence"] = offence
    if data["emergency"] and not data["emergency_justification"]:
        errors["emergency_justification"] = "Say why this is an emergency: an emergency request needs it."
    moments: dict[str, datetime] = {}
    for name in DATETIME_FIELDS:
        text = _text(values, name)
        if not text:
            continue
        try:
            moments[name] = utc_from_local(text)
        except ValueError:
            errors[name] = "Write a date and time such as 2026-11-02T09:00 (UTC)."
    if "period_from" in moments and "period_to" in moments:
        data["period"] = {"from": moments["period_from"], "to": moments["period_to"]}
    elif ("period_from" in moments) != ("period_to" in moments):
        missing = "period_to" if "period_from" in moments else "period_from"
        errors.setdefault(missing, "Give both ends of the period, or neither.")
    for name in ("respond_by", "non_disclosure_until", "confidential_until"):
        if name in moments:
            data[name] = moments[name]
    return data, errors


# --- errors back to the form ------------------------------------------------------------------------


def _message(error: Mapping[str, Any], field: str) -> str:
    kind = str(error.get("type", ""))
    message = str(error.get("msg", "is not valid")).removeprefix("Value error, ")
    if kind == "missing" or (kind == "string_too_short" and error.get("ctx", {}).get("min_length") == 1):
        return "This field is required."
    if kind == "string_pattern_mismatch":
        return _PATTERN_HINTS.get(field, "This value has the wrong format.")
    if kind in ("int_parsing", "int_from_float"):
        return "Write a whole number."
    if kind == "too_short" and field == "targets":
        return "Name at least one target, one per line as type:value."
    if kind == "enum" and field == "targets":
        allowed = ", ".join(t.value for t in TargetType)
        return f"Unknown target type: use {allowed}."
    if kind == "enum" and field == "instrument":
        return "Choose an instrument."
    if kind == "enum" and field == "issuer_kind":
        return "Choose the kind of authority."
    return message[:1].upper() + message[1:] + ("" if message.endswith(".") else ".")


def _field_of(loc: Sequence[int | str], message: str) -> tuple[str, str]:
    """(form field, prefix) of a validation error's location."""
    if not loc:  # a model-level rule: find the field it speaks of
        for name in ("emergency_justification", "data_categories"):
            if name in message:
                return name, ""
        return GENERAL, ""
    head = str(loc[0])
    if head in _NESTED:
        inner = str(loc[1]) if len(loc) > 1 else ""
        return _NESTED[head].get(inner, _EMPTY_NESTED[head]), ""
    if head == "targets" and len(loc) > 1 and isinstance(loc[1], int):
        return "targets", f"Line {loc[1] + 1}: "
    if head in TEXT_FIELDS or head in CHECKBOXES or head in LISTS:
        return head, ""
    return GENERAL, ""


def validation_errors(exc: ValidationError) -> Errors:
    """A pydantic error per form field (the first one), in words for people."""
    errors: Errors = {}
    for error in exc.errors():
        raw = str(error.get("msg", ""))
        field, prefix = _field_of(error["loc"], raw)
        errors.setdefault(field, prefix + _message(error, field))
    return errors


def domain_error(exc: DomainError, catalogue: Catalogue, instrument_code: str) -> Errors:
    """A service error at the form field it names."""
    name = exc.field or ""
    target = re.fullmatch(r"targets\[(\d+)\](?:\.\w+)?", name)
    if target:
        return {"targets": f"Line {int(target.group(1)) + 1}: {exc.message}."}
    field = SERVICE_FIELDS.get(name, GENERAL)
    message = exc.message
    if exc.code == "missing_required_field" and instrument_code in catalogue:
        message = f"Required for a {catalogue.get(instrument_code).title}."
    elif exc.code == "idempotency_key_reused":
        message = (
            "This form was already sent with different content. Open a new form for a new request, "
            "or find the first one in your list of requests."
        )
    return {field: message[:1].upper() + message[1:]}


def build_request(values: Values) -> tuple[RequestIn | None, Errors]:
    """The request a form describes, or the errors that stop it (at their fields)."""
    data, errors = to_request_data(values)
    try:
        body = RequestIn.model_validate(data)
    except ValidationError as exc:
        return None, validation_errors(exc) | errors
    if errors:
        return None, errors
    return body, {}


# --- what the catalogue says ------------------------------------------------------------------------


def human_duration(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    days, rest = divmod(seconds, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes = rest // 60
    parts = [
        f"{n} {unit}{'s' if n != 1 else ''}"
        for n, unit in ((days, "day"), (hours, "hour"), (minutes, "minute"))
        if n
    ]
    return " ".join(parts) or "0 minutes"


def humanize(name: str) -> str:
    return name.replace("_", " ")


def _joined(items: Iterable[str]) -> str:
    return ", ".join(humanize(i) for i in items)


def data_fields(instrument: Instrument) -> str:
    """What ``app.js`` shows for an instrument: the fields it requires, and who it is (for its help)."""
    names = set(instrument.required_fields) | set(instrument.emergency_required_fields)
    if instrument.supports_emergency:
        names.add("emergency")
    if instrument.deadline.as_ordered:
        names.add("respond_by")
    names.add(f"instrument:{instrument.code.value}")
    return " ".join(sorted(names))


@dataclass(frozen=True)
class InstrumentHelp:
    code: str
    title: str
    legal_basis: str
    kind: str
    deadline: str
    needs: str
    emergency_needs: str
    targets: str
    categories: list[str]
    notes: list[str]


def instrument_help(instrument: Instrument) -> InstrumentHelp:
    rule = instrument.deadline
    deadline = f"{human_duration(rule.standard)} from receipt"
    if rule.as_ordered:
        deadline = f"the date the order sets, else {deadline}"
    if rule.emergency is not None and rule.emergency != rule.standard:
        deadline += f"; emergencies: {human_duration(rule.emergency)}"
    if rule.configurable and not rule.as_ordered:
        deadline += " (the platform's target: the law says without undue delay)"
    categories = []
    for category, cat in instrument.categories.items():
        text = f"{humanize(category)}: issued by {_joined(sorted(cat.issuers))}"
        if cat.min_penalty_years is not None:
            text += f"; offences punishable by at least {cat.min_penalty_years} years"
            if cat.listed_offences:
                text += f", or listed: {_joined(sorted(cat.listed_offences))}"
        categories.append(text)
    notes = []
    if RequestField.ORDER_DOCUMENT in instrument.required_fields:
        notes.append("Attach the signed order (PDF): it is required.")
    if instrument.callback_verification:
        notes.append("The platform verifies the requester by calling the supervisor back before disclosing.")
    if instrument.voluntary:
        notes.append("The law permits disclosure but does not compel it.")
    if rule.pause.value == "suspend":
        notes.append("A question from the legal team stops the clock until you answer.")
    elif rule.pause.value == "restart":
        notes.append("After a question from the legal team, the full period starts again from your answer.")
    return InstrumentHelp(
        code=instrument.code.value,
        title=instrument.title,
        legal_basis=instrument.legal_basis,
        kind=instrument.kind.value,
        deadline=deadline,
        needs=", ".join(REQUEST_FIELD_LABELS[RequestField(f)] for f in sorted(instrument.required_fields)),
        emergency_needs=", ".join(
            REQUEST_FIELD_LABELS[RequestField(f)] for f in sorted(instrument.emergency_required_fields)
        ),
        targets=_joined(sorted(t.value for t in instrument.target_types)),
        categories=categories,
        notes=notes,
    )


def listed_offences(instruments: Iterable[Instrument]) -> list[str]:
    return sorted(set().union(*(rule.listed_offences for i in instruments for rule in i.categories.values())))


ISSUER_KINDS = [kind.value for kind in IssuerKind]
DATA_CATEGORIES = [category.value for category in DataCategory]


def _required(instrument: Instrument) -> frozenset[str]:
    return frozenset(instrument.required_fields | instrument.emergency_required_fields)


def fields_context(instruments: list[Instrument]) -> dict[str, Any]:
    """What the request fields (``portal/_request_fields.html``) need about the instruments offered: their
    codes, titles and data fields, their help, the listed offences, the issuer kinds and data categories,
    and which instruments require each field."""
    return {
        "instruments": [(i.code.value, i.title, data_fields(i)) for i in instruments],
        "help": [instrument_help(i) for i in instruments],
        "listed_offences": listed_offences(instruments),
        "issuer_kinds": ISSUER_KINDS,
        "data_categories": DATA_CATEGORIES,
        "required_by": {
            name: [i.code.value for i in instruments if name in _required(i)] for name in REQUEST_FIELD_LABELS
        },
    }
