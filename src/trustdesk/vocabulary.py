"""Closed vocabularies shared by several domains.

Each is an enum: the set of values is part of the design, and a value outside it is a bug or bad input.
"""

from enum import StrEnum


class DataCategory(StrEnum):
    """The unit of every disclosure decision (see reference/legal-instruments.md)."""

    SUBSCRIBER = "subscriber"
    IDENTIFICATION = "identification"
    TRAFFIC = "traffic"
    CONTENT = "content"


class TargetType(StrEnum):
    """How an authority designates what a request is about."""

    PHONE = "phone"
    USERNAME = "username"
    USER_ID = "user_id"
    CONTENT_URL = "content_url"


class IssuerKind(StrEnum):
    """Kinds of authority that issue requests; an agency has exactly one."""

    POLICE = "police"
    PROSECUTOR = "prosecutor"
    INVESTIGATING_JUDGE = "investigating_judge"
    COURT = "court"
    REGULATOR = "regulator"
    OTHER = "other"


class InstrumentCode(StrEnum):
    """Legal instruments Trustdesk understands; their rules live in lawful/instruments.toml."""

    EU_EPOC = "EU_EPOC"
    EU_EPOC_PR = "EU_EPOC_PR"
    EU_TCO_REMOVAL = "EU_TCO_REMOVAL"
    EU_DSA_ART9 = "EU_DSA_ART9"
    EU_DSA_ART10 = "EU_DSA_ART10"
    US_SUBPOENA = "US_SUBPOENA"
    US_2703D = "US_2703D"
    US_WARRANT = "US_WARRANT"
    US_PRESERVATION = "US_PRESERVATION"
    US_EMERGENCY = "US_EMERGENCY"
    NATIONAL_COURT_ORDER = "NATIONAL_COURT_ORDER"
    IN_IT_RULES_3_1_J = "IN_IT_RULES_3_1_J"


class InstrumentKind(StrEnum):
    """What an instrument orders the platform to do."""

    PRODUCTION = "production"
    PRESERVATION = "preservation"
    REMOVAL = "removal"
    INFORMATION = "information"
