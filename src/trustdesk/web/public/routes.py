"""Public pages: the landing page, the single point of contact (DSA Art. 11 and 13) and the instruments.

No login. Every fact on these pages comes from the policy files and the instrument catalogue the desk
itself runs on, so the published requirements cannot drift from the rules actually applied. The human
wording of each closed vocabulary lives here, once; the templates only lay it out.
"""

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Final

import pycountry
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from trustdesk.app import Container
from trustdesk.errors import DomainError, NotFound
from trustdesk.lawful.catalogue import (
    EU_MEMBER_STATES,
    CategoryRule,
    DeadlineRule,
    HoldRule,
    Instrument,
    PauseRule,
    RequestField,
    UserNoticeRule,
)
from trustdesk.policy.rules import Contact, ContactKind, Jurisdiction, JurisdictionStatus, PolicySet
from trustdesk.signing.protocol import SignerError, public_key_pem
from trustdesk.vocabulary import DataCategory, InstrumentKind, IssuerKind, TargetType
from trustdesk.web.browser import page
from trustdesk.web.deps import ContainerDep
from trustdesk.web.public.channels import channels_view
from trustdesk.web.public.moderation import router as moderation_router

router = APIRouter(include_in_schema=False)
router.include_router(moderation_router)  # /notice, /appeal

FACE: Final = "public"
PEM_MEDIA_TYPE: Final = "application/x-pem-file"

# ------------------------------------------------------------------------------------ human words

FIELD_LABELS: Final[Mapping[RequestField, tuple[str, str]]] = {
    RequestField.ISSUING_AUTHORITY: ("The issuing authority", "its name, its kind and its country"),
    RequestField.LEGAL_BASIS: ("The legal basis", "the provision of law the order rests on"),
    RequestField.STATEMENT_OF_REASONS: ("A statement of reasons", "why the content is illegal"),
    RequestField.REDRESS_INFORMATION: (
        "Information on redress",
        "the remedies open to the platform and to the user against the order",
    ),
    RequestField.TERRITORIAL_SCOPE: ("The territorial scope", "the countries in which the order applies"),
    RequestField.TARGETS: ("The targets", "the accounts or content concerned"),
    RequestField.DATA_CATEGORIES: ("The data categories", "which categories of data are sought"),
    RequestField.OFFENCE: ("The offence", "a description of the offence under investigation"),
    RequestField.OFFENCE_MAX_PENALTY_YEARS: (
        "The penalty",
        "the maximum custodial sentence for the offence, in years, or the listed offence it is",
    ),
    RequestField.EMERGENCY_JUSTIFICATION: (
        "An emergency justification",
        "the imminent threat to life, physical integrity or safety",
    ),
    RequestField.SUPERVISOR_CONTACT: (
        "A supervisor's contact",
        "name, official e-mail and phone number, for the platform's call-back",
    ),
    RequestField.ORDER_DOCUMENT: (
        "The signed order",
        "the order itself, uploaded as a document after submission",
    ),
}
"""Each request field's name and what it must say, in the words an officer uses."""

ISSUER_LABELS: Final[Mapping[IssuerKind, str]] = {
    IssuerKind.POLICE: "police",
    IssuerKind.PROSECUTOR: "public prosecutor",
    IssuerKind.INVESTIGATING_JUDGE: "investigating judge",
    IssuerKind.COURT: "court",
    IssuerKind.REGULATOR: "regulator",
    IssuerKind.OTHER: "other authority",
}

CATEGORY_LABELS: Final[Mapping[DataCategory, tuple[str, str]]] = {
    DataCategory.SUBSCRIBER: (
        "Subscriber data",
        "who holds the account: phone number, username, display name, e-mail, registration time",
    ),
    DataCategory.IDENTIFICATION: (
        "Identification data",
        "data sought only to identify the user: IP address, source port and time of sessions",
    ),
    DataCategory.TRAFFIC: (
        "Traffic data",
        "metadata of communications, not their content: who talked to whom and when",
    ),
    DataCategory.CONTENT: ("Content data", "what was said or shared: message text, media, files"),
}
"""Each data category's name and what it covers."""

TARGET_LABELS: Final[Mapping[TargetType, str]] = {
    TargetType.PHONE: "phone number",
    TargetType.USERNAME: "username",
    TargetType.USER_ID: "platform user id",
    TargetType.CONTENT_URL: "URL or platform locator of the content",
}

KIND_LABELS: Final[Mapping[InstrumentKind, str]] = {
    InstrumentKind.PRODUCTION: "Production of data",
    InstrumentKind.PRESERVATION: "Preservation of data for a later production",
    InstrumentKind.REMOVAL: "Removal of content",
    InstrumentKind.INFORMATION: "Information about users",
}

NOTICE_LABELS: Final[Mapping[UserNoticeRule, str]] = {
    UserNoticeRule.ISSUING_AUTHORITY_INFORMS: (
        "The issuing authority informs the person whose data is sought; the platform does not notify "
        "the user unless the authority tells it to."
    ),
    UserNoticeRule.BEFORE_DISCLOSURE_UNLESS_BARRED: (
        "The platform notifies the user before disclosing, unless a non-disclosure order (such as "
        "18 U.S.C. § 2705(b)) bars it; then when the order lapses."
    ),
    UserNoticeRule.AFTER_DISCLOSURE_UNLESS_BARRED: (
        "The platform notifies the user after the disclosure (an emergency leaves no time before), "
        "unless a non-disclosure order bars it; then when the order lapses."
    ),
    UserNoticeRule.INFORM_CONTENT_PROVIDER_UNLESS_CONFIDENTIAL: (
        "The platform informs the user who posted the content of the removal and its reasons, unless "
        "the authority requires confidentiality for a limited time."
    ),
    UserNoticeRule.INFORM_RECIPIENT_UNLESS_DEFERRED: (
        "The platform informs the user of the order and of the effect given to it, when effect is given "
        "or at the later time the issuing authority sets."
    ),
    UserNoticeRule.NONE_REQUIRED: "No notice is due: nothing is disclosed or removed.",
    UserNoticeRule.PER_ORDER: "The order says whether, when and by whom the user is told.",
}
"""Who informs the user, and when."""

PAUSE_LABELS: Final[Mapping[PauseRule, str]] = {
    PauseRule.NONE: "The period runs without pause.",
    PauseRule.SUSPEND: "A request for clarification stops the clock until the authority answers.",
    PauseRule.RESTART: (
        "If the order cannot be executed (force majeure, a manifest error, missing information), the "
        "platform tells the authority, and the full period starts again once the reason is gone."
    ),
}

CONTACT_LABELS: Final[Mapping[ContactKind, str]] = {
    ContactKind.LEGAL_REPRESENTATIVE: "Legal representative",
    ContactKind.POINT_OF_CONTACT: "Point of contact",
}

STATUS_LABELS: Final[Mapping[JurisdictionStatus, str]] = {
    JurisdictionStatus.ACTIVE: "Active",
    JurisdictionStatus.RESTRICTED: "Restricted",
    JurisdictionStatus.EXITED: "Exited",
}

STATUS_MEANINGS: Final[Mapping[JurisdictionStatus, str]] = {
    JurisdictionStatus.ACTIVE: (
        "The platform operates there and answers requests made under the instruments it recognises."
    ),
    JurisdictionStatus.RESTRICTED: (
        "The platform still operates there but has restricted its operations: every request is "
        "acknowledged at once as usual, then examined by a senior reviewer before any answer is given."
    ),
    JurisdictionStatus.EXITED: (
        "The platform does not operate there. Requests from its authorities are still acknowledged at "
        "once with a tracking number and answered with a refusal that states why: nothing is lost or "
        "silently dropped."
    ),
}

OFFENCE_LABELS: Final[Mapping[str, str]] = {
    "fraud_non_cash_payment": "fraud involving non-cash means of payment",
    "child_sexual_abuse": "child sexual abuse",
    "terrorism": "terrorism",
}
"""Listed offences named in the catalogue; any other is shown with its underscores as spaces."""

_PARENTHESES: Final = re.compile(r"\s*\([^)]*\)")

# ------------------------------------------------------------------------------------ formatting


def join(items: Iterable[str], word: str = "and") -> str:
    """``a``; ``a and b``; ``a, b and c``."""
    values = list(items)
    if len(values) <= 1:
        return "".join(values)
    return f"{', '.join(values[:-1])} {word} {values[-1]}"


def duration(value: timedelta) -> str:
    """A period as people say it: hours below two days, else days (24 hours stays 24 hours)."""
    seconds = int(value.total_seconds())
    if seconds < 2 * 86_400 and seconds % 3_600 == 0:
        hours = seconds // 3_600
        return f"{hours} hour{'s' if hours != 1 else ''}"
    if seconds % 86_400 == 0:
        days = seconds // 86_400
        return f"{days} day{'s' if days != 1 else ''}"
    minutes = seconds // 60
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


def sentence(text: str) -> str:
    """A policy phrase as a sentence: capital first letter, full stop at the end."""
    text = text.strip()
    return first_upper(text) + ("" if text.endswith((".", "!", "?")) else ".")


def long_date(value: date) -> str:
    months = (
        "January", "February", "March", "April", "May", "June",
        "July", "August", "September", "October", "November", "December",
    )  # fmt: skip
    return f"{value.day} {months[value.month - 1]} {value.year}"


def language_name(code: str) -> str:
    found = pycountry.languages.get(alpha_2=code)
    name = getattr(found, "common_name", None) or getattr(found, "name", None)
    return _PARENTHESES.sub("", name) if isinstance(name, str) else code


def country_name(code: str, policy: PolicySet) -> str:
    jurisdiction = policy.jurisdiction(code)
    if jurisdiction is not None:
        return jurisdiction.name
    found = pycountry.countries.get(alpha_2=code)
    name = getattr(found, "common_name", None) or getattr(found, "name", None)
    return name if isinstance(name, str) else code


def first_upper(text: str) -> str:
    return text[:1].upper() + text[1:]


def issuers(kinds: Iterable[IssuerKind]) -> str:
    wanted = set(kinds)
    return first_upper(join((ISSUER_LABELS[kind] for kind in IssuerKind if kind in wanted), "or"))


# ------------------------------------------------------------------------------------ views


@dataclass(frozen=True)
class CategoryView:
    code: str
    label: str
    issuers: str
    threshold: str


@dataclass(frozen=True)
class InstrumentView:
    """One instrument, worded for an officer: what a valid request must contain and what follows."""

    code: str
    title: str
    legal_basis: str
    kind: str
    scope: str
    in_force: str
    issuers: str
    required: tuple[tuple[str, str], ...]
    """(name, what it must say) of each required field."""
    emergency_required: tuple[tuple[str, str], ...]
    categories: tuple[CategoryView, ...]
    deadline: str
    emergency_deadline: str
    pause: str
    hold: str | None
    notice: str
    enforcing_notification: str | None
    callback_verification: bool
    voluntary: bool
    recognised_by: tuple[tuple[str, str], ...]
    """(code, name) of the policy's jurisdictions that recognise it."""


@dataclass(frozen=True)
class EmergencyTrack:
    code: str
    title: str
    deadline: str
    needs: str


@dataclass(frozen=True)
class ContactView:
    kind: str
    name: str
    address: str
    email: str
    phone: str
    tel: str


@dataclass(frozen=True)
class JurisdictionView:
    code: str
    name: str
    status: str
    status_label: str
    meaning: str
    since: str | None
    reason: str | None
    contact: ContactView | None
    languages: tuple[str, ...]
    instruments: tuple[tuple[str, str], ...]
    """(code, title), in catalogue order."""

    @property
    def heading(self) -> str:
        return f"{self.name} ({self.code})"


def _threshold(rule: CategoryRule) -> str:
    if rule.min_penalty_years is None:
        return "No threshold"
    years = rule.min_penalty_years
    text = f"Offences punishable by a maximum custodial sentence of at least {years} year{'s' * (years != 1)}"
    if rule.listed_offences:
        listed = sorted(OFFENCE_LABELS.get(o, o.replace("_", " ")) for o in rule.listed_offences)
        text += f", or whatever the penalty: {join(listed, 'or')}"
    return text


def _target(rule: DeadlineRule, value: timedelta) -> str:
    return f"{duration(value)} from receipt{' (platform target)' if rule.configurable else ''}"


def _deadline(rule: DeadlineRule) -> str:
    if rule.as_ordered:
        return f"The date set in the order; {duration(rule.standard)} from receipt when it sets none"
    return _target(rule, rule.standard)


def _emergency_deadline(rule: DeadlineRule) -> str:
    if rule.emergency is None:
        return "No separate emergency track"
    return _target(rule, rule.emergency)


def _hold(kind: InstrumentKind, rule: HoldRule | None) -> str | None:
    if rule is None:
        return None
    what = "Removed content and related data are kept" if kind is InstrumentKind.REMOVAL else "Data is held"
    text = f"{what} for {rule.duration.spoken()}"
    if rule.max_extensions == 0:
        return text + "."
    times = {1: "once", 2: "twice"}.get(rule.max_extensions, f"up to {rule.max_extensions} times")
    extension = rule.extension.spoken() if rule.extension is not None else ""
    return f"{text}; the authority may extend it {times} by {extension}."


def _scope(instrument: Instrument, policy: PolicySet) -> str:
    if instrument.any_jurisdiction:
        return "Authorities of any country"
    countries = instrument.jurisdictions
    if countries <= EU_MEMBER_STATES and len(EU_MEMBER_STATES - countries) <= 3:
        missing = sorted(country_name(c, policy) for c in EU_MEMBER_STATES - countries)
        return "EU Member States" + (f" except {join(missing)}" if missing else "")
    return join(sorted(country_name(c, policy) for c in countries))


def _in_force(instrument: Instrument, today: date) -> str:
    start = instrument.applies_from
    if start is None:
        return "Yes"
    if today >= start:
        return f"Since {long_date(start)}"
    return f"From {long_date(start)}: requests under it cannot be submitted before that day"


def _labels(fields: Iterable[str], targets: str) -> tuple[tuple[str, str], ...]:
    """Name and meaning of each field present, in a fixed order; the targets say how they are given."""
    present = set(fields)
    labels = []
    for field in RequestField:
        if field.value in present:
            name, what = FIELD_LABELS[field]
            labels.append(
                (name, f"{what}, each given as a {targets}" if field is RequestField.TARGETS else what)
            )
    return tuple(labels)


def instrument_view(instrument: Instrument, policy: PolicySet, today: date) -> InstrumentView:
    categories = tuple(
        CategoryView(
            category.value,
            CATEGORY_LABELS[category][0],
            issuers=issuers(rule.issuers),
            threshold=_threshold(rule),
        )
        for category, rule in instrument.categories.items()
    )
    targets = join((TARGET_LABELS[t] for t in TargetType if t in instrument.target_types), "or")
    enforcing = [
        CATEGORY_LABELS[c][0].lower() for c in DataCategory if c in instrument.enforcing_notification
    ]
    return InstrumentView(
        code=instrument.code.value,
        title=instrument.title,
        legal_basis=instrument.legal_basis,
        kind=KIND_LABELS[instrument.kind],
        scope=_scope(instrument, policy),
        in_force=_in_force(instrument, today),
        issuers=issuers(instrument.issuers),
        required=_labels(instrument.required_fields, targets),
        emergency_required=_labels(instrument.emergency_required_fields, targets),
        categories=categories,
        deadline=_deadline(instrument.deadline),
        emergency_deadline=_emergency_deadline(instrument.deadline),
        pause=PAUSE_LABELS[instrument.deadline.pause],
        hold=_hold(instrument.kind, instrument.hold),
        notice=NOTICE_LABELS[instrument.notice],
        enforcing_notification=(
            f"Must be notified for {join(enforcing)}; the request states whether an exception applies."
            if enforcing
            else None
        ),
        callback_verification=instrument.callback_verification,
        voluntary=instrument.voluntary,
        recognised_by=tuple(
            (j.code, j.name)
            for j in sorted(policy.jurisdictions.values(), key=lambda j: j.name)
            if j.status is not JurisdictionStatus.EXITED and j.recognises(instrument.code)
        ),
    )


_EMERGENCY_FIELDS: Final = (RequestField.EMERGENCY_JUSTIFICATION, RequestField.SUPERVISOR_CONTACT)


def emergency_tracks(instruments: Iterable[Instrument]) -> tuple[EmergencyTrack, ...]:
    """The instruments with an emergency track: its deadline and what an emergency request must add."""
    tracks = []
    for instrument in instruments:
        if instrument.deadline.emergency is None:
            continue
        fields = set(instrument.emergency_required_fields) | (
            set(instrument.required_fields) & {f.value for f in _EMERGENCY_FIELDS}
        )
        needs = [FIELD_LABELS[f][0].lower() for f in _EMERGENCY_FIELDS if f.value in fields]
        if instrument.callback_verification:
            needs.append("a call-back to verify the requester before anything is disclosed")
        tracks.append(
            EmergencyTrack(
                instrument.code.value,
                instrument.title,
                _target(instrument.deadline, instrument.deadline.emergency),
                first_upper(join(needs)) or "Nothing beyond a standard request",
            )
        )
    return tuple(tracks)


def _contact(contact: Contact | None) -> ContactView | None:
    if contact is None:
        return None
    return ContactView(
        CONTACT_LABELS[contact.kind],
        contact.name,
        contact.address,
        contact.email,
        contact.phone,
        contact.phone.replace(" ", ""),
    )


def jurisdiction_view(jurisdiction: Jurisdiction, container: Container) -> JurisdictionView:
    return JurisdictionView(
        code=jurisdiction.code,
        name=jurisdiction.name,
        status=jurisdiction.status.value,
        status_label=STATUS_LABELS[jurisdiction.status],
        meaning=STATUS_MEANINGS[jurisdiction.status],
        since=long_date(jurisdiction.since) if jurisdiction.since else None,
        reason=sentence(jurisdiction.reason) if jurisdiction.reason else None,
        contact=_contact(jurisdiction.contact),
        languages=tuple(language_name(code) for code in jurisdiction.languages),
        instruments=tuple((i.code.value, i.title) for i in _recognised(jurisdiction, container)),
    )


def _recognised(jurisdiction: Jurisdiction, container: Container) -> list[Instrument]:
    """The instruments the platform answers from this jurisdiction: none where it does not operate."""
    if jurisdiction.status is JurisdictionStatus.EXITED:
        return []
    return [i for i in container.catalogue if jurisdiction.recognises(i.code)]


def _categories() -> list[tuple[str, str]]:
    return [(label, first_upper(covers)) for label, covers in CATEGORY_LABELS.values()]


def _today(container: Container) -> date:
    now: datetime = container.clock()
    return now.date()


class SignerUnavailable(DomainError):
    status = 503
    code = "signer_unavailable"


# ------------------------------------------------------------------------------------ pages


@router.get("/")
def home(request: Request, container: ContainerDep) -> HTMLResponse:
    try:
        key_id: str | None = container.signer.key_id
    except SignerError:
        key_id = None
    statuses = [j.status for j in container.policy.jurisdictions.values()]
    return page(
        request,
        "public/home.html",
        {
            "face": FACE,
            "key_id": key_id,
            "operating": sum(s is not JurisdictionStatus.EXITED for s in statuses),
            "instrument_count": len(container.catalogue),
        },
    )


@router.get("/contact")
def contact(request: Request, container: ContainerDep) -> HTMLResponse:
    views = [
        jurisdiction_view(j, container)
        for j in sorted(container.policy.jurisdictions.values(), key=lambda j: j.name)
    ]
    groups = [
        (status, STATUS_LABELS[status], [v for v in views if v.status == status.value])
        for status in JurisdictionStatus
    ]
    return page(
        request,
        "public/contact.html",
        {
            "face": FACE,
            "groups": [group for group in groups if group[2]],
            "channels": channels_view(container.channels),
            "emergencies": emergency_tracks(container.catalogue),
            "meanings": STATUS_MEANINGS,
        },
    )


@router.get("/contact/instruments")
def instruments(request: Request, container: ContainerDep) -> HTMLResponse:
    today = _today(container)
    return page(
        request,
        "public/instruments.html",
        {
            "face": FACE,
            "instruments": [instrument_view(i, container.policy, today) for i in container.catalogue],
            "categories": _categories(),
            "catalogue_version": container.catalogue.version,
        },
    )


@router.get("/contact/signing-key.pem")
def signing_key(container: ContainerDep) -> Response:
    try:
        signer = container.signer
        pem = public_key_pem(signer.public_key_bytes())
    except SignerError as exc:
        raise SignerUnavailable(
            "the platform's signing key is unavailable right now; try again later"
        ) from exc
    return Response(
        pem,
        media_type=PEM_MEDIA_TYPE,
        headers={"Content-Disposition": f'inline; filename="trustdesk-signing-key-{signer.key_id}.pem"'},
    )


@router.get("/contact/{code}", response_model=None)
def jurisdiction(code: str, request: Request, container: ContainerDep) -> HTMLResponse | RedirectResponse:
    found = container.policy.jurisdiction(code)
    if found is None:
        raise NotFound(
            f"The platform has no point of contact for {code!r}. Every jurisdiction is listed at /contact."
        )
    if code != found.code:
        return RedirectResponse(f"/contact/{found.code}", status_code=308)
    today = _today(container)
    recognised = _recognised(found, container)
    return page(
        request,
        "public/jurisdiction.html",
        {
            "face": FACE,
            "j": jurisdiction_view(found, container),
            "instruments": [instrument_view(i, container.policy, today) for i in recognised],
            "channels": channels_view(container.channels),
            "emergencies": emergency_tracks(recognised),
            "categories": _categories(),
            "principles": list(container.policy.principles.statements.values()),
            "policy_version": container.policy.version,
        },
    )
