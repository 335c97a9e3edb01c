"""NCMEC CyberTipline reports (18 U.S.C. § 2258A): the report record.

A provider that obtains actual knowledge of apparent child sexual abuse material reports it to NCMEC's
CyberTipline "as soon as reasonably possible" and preserves what it reported for one year
(reference/legal-instruments.md). The service does that with these parts:

* this module: the report as frozen values named after the CyberTipline Reporting API's own elements
  (`CyberTiplineReport` → ``<report>``, `ReportedFile` → ``<fileDetails>``), their closed vocabularies
  and the API's response codes;
* :mod:`trustdesk.safety.cybertipline_xml`: `validate_report` / `validate_file`, which refuse an
  incomplete record with a `ReportIncomplete` naming the element at fault by its API path
  (``reporter.reportingPerson.email``), and `report_xml` / `file_details_xml`, which render the documents
  with :mod:`xml.etree.ElementTree`;
* :mod:`trustdesk.safety.cybertipline_clients`: the `CyberTiplineClient` protocol with two
  implementations, `HttpCyberTiplineClient` (the API over HTTPS) and `InMemoryCyberTiplineClient` (the
  test double: records calls, assigns report ids, can be told to fail transiently).

The API ("ESP reporting web service", XML over HTTPS, HTTP Basic authentication with credentials NCMEC
issues to a registered provider) has these calls, relative to a base URL: ``POST /submit`` (a ``<report>``
document, ``text/xml``) answers a ``<reportResponse>`` carrying the new ``reportId``; ``POST /upload``
(multipart form fields ``id`` and ``file``) answers ``fileId`` and NCMEC's MD5 ``hash`` of the bytes;
``POST /fileinfo`` (a ``<fileDetails>`` document) describes one uploaded file; ``POST /finish`` (form field
``id``) completes the report and answers a ``<reportDoneResponse>``; ``POST /retract`` (form field ``id``)
cancels a report that is not finished. Every answer carries ``responseCode`` (0 is success) and usually
``responseDescription``. Production is ``https://report.cybertip.org/ispws``; NCMEC's test environment is
`TEST_BASE_URL` (``https://exttest.cybertip.org/ispws``), which no test here ever calls.

Sources, and what they confirm. NCMEC's documentation page (``/ispws/documentation``) and its XSD
(``/ispws/xsd``, behind credentials) could not be read from here. The element names, their order and the
calls above were taken from public open-source integrations that cite that documentation, and a name is
used here only where at least two of them agree: roostorg/coop (``docs/NCMEC.md`` and its XSD-order tests
for ``incidentSummary``, ``personOrUserReported``, ``fileDetails`` and ``ipCaptureEvent``), a Python
gateway that builds both documents with ElementTree (the ``report`` / ``reporter`` / ``reportingPerson``
element orders, the ``reportResponse`` / ``reportDoneResponse`` answers, the response codes), a
pydantic-xml model of the schema (cardinalities and maximum lengths), and civitai's CyberTipline client
(``submit`` / ``upload`` / ``fileinfo`` / ``finish`` / ``retract``, the ``fileViewedByEsp`` flag).
Confirmed that way: the root elements and their ``xsi:noNamespaceSchemaLocation``; ``incidentSummary``
(``incidentType``, ``platform``, ``escalateToHighPriority``, ``incidentDateTime``,
``incidentDateTimeDescription``) and the eight incident types; ``internetDetails`` with
``webPageIncident`` (``url``) and ``chatImIncident`` (``chatClient``, ``chatRoomName``); ``reporter``
(``reportingPerson``, ``contactPerson``, ``companyTemplate``, ``termsOfService``, ``legalURL``) and a
person's ``firstName``, ``lastName``, ``phone``, ``email``; ``personOrUserReported``
(``personOrUserReportedPerson``, ``espIdentifier``, ``espService``, ``screenName``, ``displayName``,
``profileUrl``, ``ipCaptureEvent``, ``priorCTReports``, ``additionalInfo``); ``ipCaptureEvent``
(``ipAddress``, ``eventName``, ``dateTime``, ``possibleProxy``, ``port``) and its event names;
``fileDetails`` (``reportId``, ``fileId``, ``originalFileName``, ``uploadedToEspTimestamp``,
``locationOfFile``, ``fileViewedByEsp``, ``exifViewedByEsp``, ``publiclyAvailable``, ``fileRelevance``,
``fileAnnotations``, ``industryClassification``, ``originalFileHash`` with its ``hashType`` attribute,
``additionalInfo``), the ten file annotations and the classifications A1, A2, B1, B2.

Not confirmed, and so kept out or marked: a ``fileName`` element inside ``fileDetails`` (one source's
XSD order lists it, the others do not; the file's name travels as the multipart file name of
``/upload`` and as ``originalFileName``); the cardinality of ``ipCaptureEvent`` in ``fileDetails`` (one
per file here, the smaller reading); which ``hashType`` values NCMEC accepts (MD5 and SHA1 are the
documented examples; PDQ and SHA256 are passed through as written); ``accountTemporarilyDisabled`` and
``accountPermanentlyDisabled`` (their content is not known, so they are not emitted); the numeric response
codes beyond 0 (success), 1000 (server error), 2000 (authentication), 3100 (not authorised), 4100
(validation failed), 5001 (no such report), 5101 (already retracted) and 5102 (already finished).
The maximum lengths that :mod:`trustdesk.safety.cybertipline_xml` checks come from a single source and are
NCMEC's only where it is right; the documents NCMEC refuses still come back as `CyberTiplineError` with
code 4100, so nothing depends on them. The requirements that go beyond the schema are this platform's own
and are said so where they are checked (a reported account's ``espIdentifier``, at least one file,
``fileViewedByEsp`` stated for every file).

Pure: no ORM, no web, no wall clock (every time is given).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Final

__all__ = [
    "PRODUCTION_BASE_URL",
    "TEST_BASE_URL",
    "TRANSIENT_CODES",
    "ChatImIncident",
    "ContactPerson",
    "CyberTiplineReport",
    "Email",
    "EmailType",
    "EventName",
    "FileAnnotation",
    "FileHash",
    "FileRelevance",
    "IncidentSummary",
    "IncidentType",
    "IndustryClassification",
    "IpCaptureEvent",
    "ReportedFile",
    "Reporter",
    "ReportingPerson",
    "ResponseCode",
    "UserReported",
    "WebPageIncident",
]

PRODUCTION_BASE_URL: Final = "https://report.cybertip.org/ispws"
TEST_BASE_URL: Final = "https://exttest.cybertip.org/ispws"
"""NCMEC's test environment: reports sent there are not processed. Never called by the test suite."""


# ----------------------------------------------------------------------------------- vocabularies


class IncidentType(StrEnum):
    """``incidentSummary/incidentType``: the CyberTipline's incident categories, verbatim."""

    CHILD_PORNOGRAPHY = "Child Pornography (possession, manufacture, and distribution)"
    CHILD_SEX_TRAFFICKING = "Child Sex Trafficking"
    CHILD_SEX_TOURISM = "Child Sex Tourism"
    CHILD_SEXUAL_MOLESTATION = "Child Sexual Molestation"
    MISLEADING_DOMAIN_NAME = "Misleading Domain Name"
    MISLEADING_WORDS_OR_IMAGES = "Misleading Words or Digital Images on the Internet"
    ONLINE_ENTICEMENT = "Online Enticement of Children for Sexual Acts"
    UNSOLICITED_OBSCENE_MATERIAL = "Unsolicited Obscene Material Sent to a Child"


class EventName(StrEnum):
    """``ipCaptureEvent/eventName``."""

    LOGIN = "Login"
    REGISTRATION = "Registration"
    PURCHASE = "Purchase"
    UPLOAD = "Upload"
    OTHER = "Other"
    UNKNOWN = "Unknown"


class EmailType(StrEnum):
    """The ``type`` attribute of an ``email`` element."""

    BUSINESS = "Business"
    HOME = "Home"
    WORK = "Work"


class FileRelevance(StrEnum):
    """``fileDetails/fileRelevance``: the reported file itself, or supporting material."""

    REPORTED = "Reported"
    SUPPLEMENTAL_REPORTED = "Supplemental Reported"


class IndustryClassification(StrEnum):
    """``fileDetails/industryClassification`` (prepubescent A / pubescent B; 1 sex act, 2 lascivious)."""

    A1 = "A1"
    A2 = "A2"
    B1 = "B1"
    B2 = "B2"


class FileAnnotation(StrEnum):
    """The empty flag elements inside ``fileDetails/fileAnnotations``."""

    ANIME_DRAWING_VIRTUAL_HENTAI = "animeDrawingVirtualHentai"
    POTENTIAL_MEME = "potentialMeme"
    VIRAL = "viral"
    POSSIBLE_SELF_PRODUCTION = "possibleSelfProduction"
    PHYSICAL_HARM = "physicalHarm"
    VIOLENCE_GORE = "violenceGore"
    BESTIALITY = "bestiality"
    LIVE_STREAMING = "liveStreaming"
    INFANT = "infant"
    GENERATIVE_AI = "generativeAi"


class ResponseCode:
    """The ``responseCode`` values this module acts on."""

    SUCCESS: Final = 0
    SERVER_ERROR: Final = 1000
    AUTHENTICATION_REQUIRED: Final = 2000
    NOT_AUTHORISED: Final = 3100
    VALIDATION_FAILED: Final = 4100
    NO_SUCH_REPORT: Final = 5001
    ALREADY_RETRACTED: Final = 5101
    ALREADY_FINISHED: Final = 5102


TRANSIENT_CODES: Final = frozenset({ResponseCode.SERVER_ERROR})
"""Response codes a later attempt may get past (NCMEC's own fault)."""


# ----------------------------------------------------------------------------------- the record


@dataclass(frozen=True)
class Email:
    """An ``email`` element: the address, with the optional ``type`` and ``verified`` attributes."""

    address: str
    type: EmailType | None = None
    verified: bool | None = None


@dataclass(frozen=True)
class IpCaptureEvent:
    """``ipCaptureEvent``: an IP address the platform saw, with the event (login, upload) and its time."""

    ip_address: str
    event_name: EventName | None = None
    date_time: datetime | None = None
    possible_proxy: bool | None = None
    port: int | None = None


@dataclass(frozen=True)
class ReportingPerson:
    """``reporter/reportingPerson``: the person at the platform who files the report."""

    email: str
    first_name: str | None = None
    last_name: str | None = None
    phone: str | None = None


@dataclass(frozen=True)
class ContactPerson:
    """``reporter/contactPerson``: whom law enforcement contacts about the report."""

    email: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    phone: str | None = None


@dataclass(frozen=True)
class Reporter:
    """``reporter``: who reports (the provider)."""

    reporting_person: ReportingPerson
    contact_person: ContactPerson | None = None
    company_template: str | None = None
    terms_of_service: str | None = None
    legal_url: str | None = None


@dataclass(frozen=True)
class IncidentSummary:
    """``incidentSummary``: what happened and when."""

    incident_type: IncidentType
    incident_date_time: datetime
    platform: str | None = None
    escalate_to_high_priority: str | None = None
    incident_date_time_description: str | None = None


@dataclass(frozen=True)
class WebPageIncident:
    """``internetDetails/webPageIncident``: the content was on web pages (public channel links)."""

    urls: tuple[str, ...]
    additional_info: str | None = None


@dataclass(frozen=True)
class ChatImIncident:
    """``internetDetails/chatImIncident``: the content was sent in a chat or instant message."""

    chat_client: str | None = None
    chat_room_name: str | None = None
    content: str | None = None
    additional_info: str | None = None


@dataclass(frozen=True)
class UserReported:
    """``personOrUserReported``: the account that shared the material.

    ``emails`` go into ``personOrUserReportedPerson``; the other fields are the element's own children.
    """

    esp_identifier: str
    esp_service: str | None = None
    screen_name: str | None = None
    display_names: tuple[str, ...] = ()
    profile_urls: tuple[str, ...] = ()
    emails: tuple[Email, ...] = ()
    ip_capture_events: tuple[IpCaptureEvent, ...] = ()
    prior_ct_reports: tuple[int, ...] = ()
    additional_info: str | None = None


@dataclass(frozen=True)
class FileHash:
    """``originalFileHash``: a hash of the file as the platform received it, with its ``hashType``."""

    hash_type: str
    value: str


@dataclass(frozen=True)
class ReportedFile:
    """One reported file: ``file_name`` names the upload, the rest is its ``fileDetails`` document.

    ``file_viewed_by_esp`` must be stated (True or False): whether a person at the platform looked at the
    file decides what law enforcement may open without a warrant, so it is never defaulted.
    """

    file_name: str
    file_viewed_by_esp: bool | None
    original_file_name: str | None = None
    uploaded_to_esp_timestamp: datetime | None = None
    location_of_file: str | None = None
    exif_viewed_by_esp: bool | None = None
    publicly_available: bool | None = None
    file_relevance: FileRelevance = FileRelevance.REPORTED
    annotations: frozenset[FileAnnotation] = frozenset()
    industry_classification: IndustryClassification | None = None
    original_file_hashes: tuple[FileHash, ...] = ()
    ip_capture_event: IpCaptureEvent | None = None
    additional_info: str | None = None
    content_type: str = "application/octet-stream"


@dataclass(frozen=True)
class CyberTiplineReport:
    """A whole report: the ``<report>`` document and the files uploaded into it."""

    incident_summary: IncidentSummary
    reporter: Reporter
    user_reported: UserReported | None
    files: tuple[ReportedFile, ...]
    internet_details: tuple[WebPageIncident | ChatImIncident, ...] = ()
    additional_info: str | None = None
