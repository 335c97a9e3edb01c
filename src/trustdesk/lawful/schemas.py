"""API shapes of lawful requests: what an authority sends and what it gets back."""

import re
from datetime import datetime
from typing import Annotated, Self

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
    model_validator,
)

from trustdesk.vocabulary import DataCategory, InstrumentCode, IssuerKind, TargetType

Text200 = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Text2000 = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]
Text10000 = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=10000)]
CountryCode = Annotated[
    str, StringConstraints(strip_whitespace=True, to_upper=True, pattern=r"^[A-Za-z]{2}$")
]

_TARGET_PATTERNS: dict[TargetType, tuple[re.Pattern[str], str]] = {
    TargetType.PHONE: (re.compile(r"^\+[1-9]\d{6,14}$"), "an E.164 phone number such as +33612345678"),
    TargetType.USERNAME: (re.compile(r"^@?[A-Za-z0-9_]{3,64}$"), "a username of 3-64 letters, digits or _"),
    TargetType.USER_ID: (re.compile(r"^[A-Za-z0-9@:._=/+-]{1,255}$"), "a platform user id"),
    TargetType.CONTENT_URL: (
        re.compile(r"^(https?|ref|matrix)://[^\s<>\"']{1,490}$"),
        "an http(s):// URL or a platform locator (ref://... or matrix://...)",
    ),
}


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class IssuingAuthority(Strict):
    name: Text200
    kind: IssuerKind
    country: CountryCode


class Offence(Strict):
    description: Text2000
    max_penalty_years: Annotated[int, Field(ge=0, le=100)] | None = None
    listed_offence: Annotated[str, StringConstraints(pattern=r"^[a-z_]{3,64}$")] | None = Field(
        default=None,
        description="An offence on the instrument's closed list (e.g. terrorism, child_sexual_abuse, "
        "fraud_non_cash_payment) that qualifies whatever the penalty",
    )
    by_information_system: bool = Field(
        default=False,
        description="Committed wholly or partly by means of an information system "
        "(e-Evidence Art. 5(4)(b),(c))",
    )
    sentence_months: Annotated[int, Field(ge=1, le=1200)] | None = Field(
        default=None,
        description="The order is for the execution of a custodial sentence or detention order of this many "
        "months (e-Evidence Art. 5(3)); absent = an investigation",
    )
    committed_in_issuing_state: bool = Field(
        default=False, description="The offence was committed in the issuing State (e-Evidence Art. 8(2))"
    )
    person_resides_in_issuing_state: bool = Field(
        default=False, description="The person whose data is sought resides in the issuing State (Art. 8(2))"
    )


class ValidatingAuthority(Strict):
    name: Text200
    kind: IssuerKind


class Validation(Strict):
    """The judge, court, investigating judge or prosecutor who validated the order (e-Evidence Art. 4)."""

    authority: ValidatingAuthority
    validated_at: AwareDatetime


class SupervisorContact(Strict):
    """Who can confirm an emergency request by call-back (forged emergency requests are a known fraud)."""

    name: Text200
    email: Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[^@\s]{1,64}@[^@\s]{1,253}$")]
    phone: Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^\+[1-9]\d{6,14}$")]


class Target(Strict):
    type: TargetType
    value: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]

    @field_validator("value")
    @classmethod
    def _value_fits_type(cls, value: str, info: ValidationInfo) -> str:
        kind = info.data.get("type")
        if kind is None:  # the type itself was invalid and is reported on its own
            return value
        pattern, shape = _TARGET_PATTERNS[kind]
        if not pattern.match(value):
            raise ValueError(f"a {kind.value} target must be {shape}")
        return value


class Period(Strict):
    start: AwareDatetime = Field(alias="from")
    end: AwareDatetime = Field(alias="to")

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.start >= self.end:
            raise ValueError("period.from must be before period.to")
        return self


class RequestIn(Strict):
    """A lawful request as an authority submits it."""

    instrument: InstrumentCode
    reference: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
    emergency: bool = False
    emergency_justification: Text2000 | None = None
    issuing_authority: IssuingAuthority
    legal_basis: Text2000
    statement_of_reasons: Text10000 | None = None
    redress_information: Text2000 | None = None
    territorial_scope: Annotated[list[CountryCode], Field(min_length=1, max_length=250)] | None = Field(
        default=None, description="ISO country codes where the order applies (removal orders); absent = all"
    )
    supervisor_contact: SupervisorContact | None = None
    offence: Offence | None = None
    validation: Validation | None = Field(
        default=None,
        description="The validation of an order issued by an authority that may issue it only with one "
        "(e-Evidence Art. 4(1)(b), 4(2)(b), 4(3)(b))",
    )
    targets: Annotated[list[Target], Field(min_length=1, max_length=100)]
    data_categories: Annotated[list[DataCategory], Field(max_length=len(DataCategory))] = []
    period: Period | None = None
    confidential_until: AwareDatetime | None = None
    non_disclosure_until: AwareDatetime | None = Field(
        default=None, description="End of a non-disclosure order (18 U.S.C. 2705(b)): no user notice before"
    )
    suspect_confirmed: bool = Field(
        default=False, description="The order confirms the person is a suspect in a criminal case"
    )
    respond_by: AwareDatetime | None = Field(
        default=None,
        description="The date the order sets for the answer, where the instrument lets it set one",
    )

    @model_validator(mode="after")
    def _emergency_is_justified(self) -> Self:
        if self.emergency and not self.emergency_justification:
            raise ValueError("an emergency request needs an emergency_justification")
        if len(set(self.data_categories)) != len(self.data_categories):
            raise ValueError("data_categories lists a category twice")
        return self


class IssuingAuthorityOut(BaseModel):
    name: str
    kind: IssuerKind
    country: str


class DocumentOut(BaseModel):
    id: str
    filename: str
    content_type: str
    size: int
    sha256: str
    uploaded_at: datetime


class PeriodOut(BaseModel):
    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)

    start: datetime = Field(serialization_alias="from")
    end: datetime = Field(serialization_alias="to")


class CorrespondenceOut(BaseModel):
    id: str
    direction: str
    kind: str
    body: str
    author: str
    at: datetime


class ProductionOut(BaseModel):
    id: str
    categories: list[str]
    records: int
    size: int
    sha256: str
    signer_key_id: str
    created_at: datetime
    expires_at: datetime
    downloads: int
    download: str


class ValidationIn(Strict):
    """The later validation of an emergency order, or its refusal (e-Evidence Art. 4(5))."""

    status: Annotated[str, StringConstraints(pattern=r"^(validated|refused)$")]
    authority: ValidatingAuthority | None = None
    validated_at: AwareDatetime | None = None


class MessageIn(Strict):
    body: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20000)]


class WithdrawIn(Strict):
    reason: Text2000


class LogLeafOut(BaseModel):
    """The request's leaf in the public transparency log (docs/transparency-log.md): its hash at once, its
    index once the sequencer has put it in a signed head; the receipt, salt and inclusion proof are at
    ``receipt_url``."""

    leaf_hash: str
    leaf_index: int | None
    receipt_url: str


class RequestOut(BaseModel):
    """What an officer of the submitting agency sees of a request."""

    tracking_number: str
    status: str
    instrument: InstrumentCode
    instrument_title: str
    reference: str
    emergency: bool
    received_at: datetime
    due_at: datetime | None
    issuing_authority: IssuingAuthorityOut
    targets: list[Target]
    data_categories: list[DataCategory]
    period: PeriodOut | None
    documents: list[DocumentOut]
    outcome: str | None = None
    grounds: list[str] = []
    answered_at: datetime | None = None
    correspondence: list[CorrespondenceOut] = []
    production: ProductionOut | None = None
    transparency_log: LogLeafOut | None = None


class RequestSummary(BaseModel):
    tracking_number: str
    status: str
    instrument: InstrumentCode
    reference: str
    emergency: bool
    received_at: datetime
    due_at: datetime | None
