"""NCMEC CyberTipline reports: the validation of the record and its XML documents.

`validate_report` / `validate_file` refuse an incomplete or malformed record with a `ReportIncomplete`
naming the element at fault by its API path (``reporter.reportingPerson.email``); `report_xml` (for
``POST /submit``) and `file_details_xml` (for ``POST /fileinfo``) render the documents with
:mod:`xml.etree.ElementTree`, in the schema's element order. The record, the API and the sources of the
element names, orders and maximum lengths are :mod:`trustdesk.safety.cybertipline`.

Pure: no ORM, no web, no wall clock (every time is given).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from datetime import UTC, datetime
from enum import StrEnum
from typing import Final

from trustdesk.safety.cybertipline import (
    ContactPerson,
    CyberTiplineReport,
    Email,
    EventName,
    FileAnnotation,
    FileRelevance,
    IncidentType,
    IndustryClassification,
    IpCaptureEvent,
    ReportedFile,
    ReportingPerson,
    WebPageIncident,
)

__all__ = [
    "SCHEMA_LOCATION",
    "XML_CONTENT_TYPE",
    "ReportIncomplete",
    "file_details_xml",
    "report_xml",
    "validate_file",
    "validate_report",
]

SCHEMA_LOCATION: Final = "https://report.cybertip.org/ispws/xsd"
XSI: Final = "http://www.w3.org/2001/XMLSchema-instance"
XML_CONTENT_TYPE: Final = "text/xml; charset=utf-8"


# ----------------------------------------------------------------------------------- validation


class ReportIncomplete(ValueError):
    """The record is incomplete or malformed; ``field`` is the element's path in the API's own names."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem


_EMAIL: Final = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_URL: Final = re.compile(r"https?://\S+")
# Maximum lengths (one source; see the docstring of trustdesk.safety.cybertipline).
_MAX: Final[Mapping[str, int]] = {
    "platform": 256,
    "escalateToHighPriority": 3000,
    "incidentDateTimeDescription": 3000,
    "legalURL": 2083,
    "espIdentifier": 255,
    "espService": 100,
    "screenName": 256,
    "originalFileName": 2056,
    "locationOfFile": 2083,
    "hashType": 64,
    "firstName": 100,
    "lastName": 100,
    "email": 255,
}


def _text(value: str | None, path: str, *, required: bool = False) -> None:
    if value is None:
        if required:
            raise ReportIncomplete(path, "is required")
        return
    if not value.strip():
        raise ReportIncomplete(path, "is blank")
    limit = _MAX.get(path.rpartition(".")[2])
    if limit is not None and len(value) > limit:
        raise ReportIncomplete(path, f"is {len(value)} characters long, at most {limit} allowed")


def _aware(value: datetime | None, path: str) -> None:
    if value is not None and value.utcoffset() is None:
        raise ReportIncomplete(path, "must be an aware datetime (UTC), got a naive one")


def _email(value: str | None, path: str, *, required: bool = False) -> None:
    _text(value, path, required=required)
    if value is not None and not _EMAIL.fullmatch(value):
        raise ReportIncomplete(path, f"{value!r} is not an e-mail address")


def _url(value: str, path: str) -> None:
    _text(value, path, required=True)
    if not _URL.fullmatch(value):
        raise ReportIncomplete(path, f"{value!r} is not an http(s) URL")


def _enum(value: object, kind: type[StrEnum], path: str) -> None:
    if not isinstance(value, kind):
        raise ReportIncomplete(path, f"must be a {kind.__name__}, got {value!r}")


def _ip_event(event: IpCaptureEvent, path: str) -> None:
    _text(event.ip_address, f"{path}.ipAddress", required=True)
    if event.event_name is not None:
        _enum(event.event_name, EventName, f"{path}.eventName")
    _aware(event.date_time, f"{path}.dateTime")
    if event.port is not None and not 1 <= event.port <= 65535:
        raise ReportIncomplete(f"{path}.port", f"must be 1 to 65535, got {event.port}")


def validate_file(file: ReportedFile, path: str = "fileDetails") -> None:
    """Refuse an incomplete or malformed file record with a `ReportIncomplete` naming the element."""
    _text(file.file_name, f"{path}.fileName", required=True)
    if file.file_viewed_by_esp is None:
        raise ReportIncomplete(
            f"{path}.fileViewedByEsp", "must be stated: did a person at the platform view the file?"
        )
    if file.exif_viewed_by_esp and not file.file_viewed_by_esp:
        raise ReportIncomplete(f"{path}.exifViewedByEsp", "cannot be true when fileViewedByEsp is false")
    _text(file.original_file_name, f"{path}.originalFileName")
    _aware(file.uploaded_to_esp_timestamp, f"{path}.uploadedToEspTimestamp")
    if file.location_of_file is not None:
        _text(file.location_of_file, f"{path}.locationOfFile")
    _enum(file.file_relevance, FileRelevance, f"{path}.fileRelevance")
    for annotation in file.annotations:
        _enum(annotation, FileAnnotation, f"{path}.fileAnnotations")
    if file.industry_classification is not None:
        _enum(file.industry_classification, IndustryClassification, f"{path}.industryClassification")
    for hashed in file.original_file_hashes:
        _text(hashed.hash_type, f"{path}.originalFileHash.hashType", required=True)
        _text(hashed.value, f"{path}.originalFileHash", required=True)
    if file.ip_capture_event is not None:
        _ip_event(file.ip_capture_event, f"{path}.ipCaptureEvent")
    _text(file.additional_info, f"{path}.additionalInfo")


def validate_report(report: CyberTiplineReport) -> None:
    """Refuse an incomplete or malformed report with a `ReportIncomplete` naming the element at fault.

    Beyond the schema, this platform requires the reported account (``personOrUserReported`` with its
    ``espIdentifier``: every file on the platform was shared by an account) and at least one file.
    """
    summary = report.incident_summary
    _enum(summary.incident_type, IncidentType, "incidentSummary.incidentType")
    if summary.incident_date_time is None:
        raise ReportIncomplete("incidentSummary.incidentDateTime", "is required")
    _aware(summary.incident_date_time, "incidentSummary.incidentDateTime")
    _text(summary.platform, "incidentSummary.platform")
    _text(summary.escalate_to_high_priority, "incidentSummary.escalateToHighPriority")
    _text(summary.incident_date_time_description, "incidentSummary.incidentDateTimeDescription")

    for index, detail in enumerate(report.internet_details):
        if isinstance(detail, WebPageIncident):
            if not detail.urls:
                raise ReportIncomplete(f"internetDetails[{index}].webPageIncident.url", "is required")
            for url in detail.urls:
                _url(url, f"internetDetails[{index}].webPageIncident.url")

    reporter = report.reporter
    person = reporter.reporting_person
    _email(person.email, "reporter.reportingPerson.email", required=True)
    _text(person.first_name, "reporter.reportingPerson.firstName")
    _text(person.last_name, "reporter.reportingPerson.lastName")
    _text(person.phone, "reporter.reportingPerson.phone")
    if reporter.contact_person is not None:
        contact = reporter.contact_person
        if not any((contact.email, contact.phone)):
            raise ReportIncomplete("reporter.contactPerson", "needs an email or a phone")
        _email(contact.email, "reporter.contactPerson.email")
    _text(reporter.company_template, "reporter.companyTemplate")
    _text(reporter.terms_of_service, "reporter.termsOfService")
    if reporter.legal_url is not None:
        _url(reporter.legal_url, "reporter.legalURL")

    user = report.user_reported
    if user is None:
        raise ReportIncomplete("personOrUserReported", "is required: name the account that shared the files")
    _text(user.esp_identifier, "personOrUserReported.espIdentifier", required=True)
    _text(user.esp_service, "personOrUserReported.espService")
    _text(user.screen_name, "personOrUserReported.screenName")
    for name in user.display_names:
        _text(name, "personOrUserReported.displayName")
    for url in user.profile_urls:
        _url(url, "personOrUserReported.profileUrl")
    for email in user.emails:
        _email(email.address, "personOrUserReported.personOrUserReportedPerson.email", required=True)
    for index, event in enumerate(user.ip_capture_events):
        _ip_event(event, f"personOrUserReported.ipCaptureEvent[{index}]")
    for prior in user.prior_ct_reports:
        if prior <= 0:
            raise ReportIncomplete("personOrUserReported.priorCTReports", f"{prior} is not a report id")
    _text(user.additional_info, "personOrUserReported.additionalInfo")

    if not report.files:
        raise ReportIncomplete("fileDetails", "at least one file is required")
    for index, file in enumerate(report.files):
        validate_file(file, f"fileDetails[{index}]")
    _text(report.additional_info, "additionalInfo")


# ----------------------------------------------------------------------------------- XML


def _timestamp(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _flag(value: bool) -> str:
    return "true" if value else "false"


def _add(parent: ET.Element, tag: str, text: str | None = None, **attributes: str) -> ET.Element:
    element = ET.SubElement(parent, tag, attributes)
    if text is not None:
        element.text = text
    return element


def _maybe(parent: ET.Element, tag: str, value: str | bool | int | None) -> None:
    if value is None:
        return
    if isinstance(value, bool):
        _add(parent, tag, _flag(value))
    else:
        _add(parent, tag, str(value))


def _root(tag: str) -> ET.Element:
    return ET.Element(tag, {"xmlns:xsi": XSI, "xsi:noNamespaceSchemaLocation": SCHEMA_LOCATION})


def _document(root: ET.Element) -> bytes:
    rendered: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return rendered


def _email_element(parent: ET.Element, email: Email) -> None:
    attributes = {}
    if email.type is not None:
        attributes["type"] = email.type.value
    if email.verified is not None:
        attributes["verified"] = _flag(email.verified)
    _add(parent, "email", email.address, **attributes)


def _ip_element(parent: ET.Element, event: IpCaptureEvent) -> None:
    element = _add(parent, "ipCaptureEvent")
    _add(element, "ipAddress", event.ip_address)
    _maybe(element, "eventName", event.event_name.value if event.event_name else None)
    _maybe(element, "dateTime", _timestamp(event.date_time) if event.date_time else None)
    _maybe(element, "possibleProxy", event.possible_proxy)
    _maybe(element, "port", event.port)


def _person(parent: ET.Element, tag: str, person: ReportingPerson | ContactPerson) -> None:
    element = _add(parent, tag)
    _maybe(element, "firstName", person.first_name)
    _maybe(element, "lastName", person.last_name)
    _maybe(element, "phone", person.phone)
    _maybe(element, "email", person.email)


def report_xml(report: CyberTiplineReport) -> bytes:
    """The ``<report>`` document for ``POST /submit``, in the schema's element order; validates first."""
    validate_report(report)
    root = _root("report")

    summary = report.incident_summary
    element = _add(root, "incidentSummary")
    _add(element, "incidentType", summary.incident_type.value)
    _maybe(element, "platform", summary.platform)
    _maybe(element, "escalateToHighPriority", summary.escalate_to_high_priority)
    _add(element, "incidentDateTime", _timestamp(summary.incident_date_time))
    _maybe(element, "incidentDateTimeDescription", summary.incident_date_time_description)

    for detail in report.internet_details:
        element = _add(root, "internetDetails")
        if isinstance(detail, WebPageIncident):
            incident = _add(element, "webPageIncident")
            for url in detail.urls:
                _add(incident, "url", url)
        else:
            incident = _add(element, "chatImIncident")
            _maybe(incident, "chatClient", detail.chat_client)
            _maybe(incident, "chatRoomName", detail.chat_room_name)
            _maybe(incident, "content", detail.content)
        _maybe(incident, "additionalInfo", detail.additional_info)

    reporter = report.reporter
    element = _add(root, "reporter")
    _person(element, "reportingPerson", reporter.reporting_person)
    if reporter.contact_person is not None:
        _person(element, "contactPerson", reporter.contact_person)
    _maybe(element, "companyTemplate", reporter.company_template)
    _maybe(element, "termsOfService", reporter.terms_of_service)
    _maybe(element, "legalURL", reporter.legal_url)

    user = report.user_reported
    assert user is not None  # validate_report refused the report otherwise
    element = _add(root, "personOrUserReported")
    if user.emails:
        person = _add(element, "personOrUserReportedPerson")
        for email in user.emails:
            _email_element(person, email)
    _add(element, "espIdentifier", user.esp_identifier)
    _maybe(element, "espService", user.esp_service)
    _maybe(element, "screenName", user.screen_name)
    for name in user.display_names:
        _add(element, "displayName", name)
    for url in user.profile_urls:
        _add(element, "profileUrl", url)
    for event in user.ip_capture_events:
        _ip_element(element, event)
    for prior in user.prior_ct_reports:
        _add(element, "priorCTReports", str(prior))
    _maybe(element, "additionalInfo", user.additional_info)

    _maybe(root, "additionalInfo", report.additional_info)
    return _document(root)


def file_details_xml(report_id: str, file_id: str, file: ReportedFile) -> bytes:
    """The ``<fileDetails>`` document for ``POST /fileinfo``, after ``/upload`` gave ``file_id``."""
    _text(report_id, "fileDetails.reportId", required=True)
    _text(file_id, "fileDetails.fileId", required=True)
    validate_file(file)
    root = _root("fileDetails")
    _add(root, "reportId", report_id)
    _add(root, "fileId", file_id)
    _maybe(root, "originalFileName", file.original_file_name)
    if file.uploaded_to_esp_timestamp is not None:
        _add(root, "uploadedToEspTimestamp", _timestamp(file.uploaded_to_esp_timestamp))
    _maybe(root, "locationOfFile", file.location_of_file)
    _maybe(root, "fileViewedByEsp", file.file_viewed_by_esp)
    _maybe(root, "exifViewedByEsp", file.exif_viewed_by_esp)
    _maybe(root, "publiclyAvailable", file.publicly_available)
    _add(root, "fileRelevance", file.file_relevance.value)
    if file.annotations:
        annotations = _add(root, "fileAnnotations")
        for annotation in FileAnnotation:  # the schema's order, not the set's
            if annotation in file.annotations:
                _add(annotations, annotation.value)
    if file.industry_classification is not None:
        _add(root, "industryClassification", file.industry_classification.value)
    for hashed in file.original_file_hashes:
        _add(root, "originalFileHash", hashed.value, hashType=hashed.hash_type)
    if file.ip_capture_event is not None:
        _ip_element(root, file.ip_capture_event)
    _maybe(root, "additionalInfo", file.additional_info)
    return _document(root)
