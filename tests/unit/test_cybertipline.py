"""CyberTipline reports: the record's validation, its XML, and the clients.

The HTTP client talks to `FakeNcmec`, an ``httpx2.MockTransport`` handler that plays NCMEC's API and checks
what it receives (authentication, paths, content types, the documents' element names and order). No test
touches the network; NCMEC's test environment is never called. The contract tests run over both clients.
"""

from __future__ import annotations

import base64
import hashlib
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta, timezone
from email.parser import BytesParser
from email.policy import HTTP

import httpx2
import pytest
from hypothesis import given
from hypothesis import strategies as st

from trustdesk.safety.cybertipline import (
    TEST_BASE_URL,
    ChatImIncident,
    ContactPerson,
    CyberTiplineReport,
    Email,
    EmailType,
    EventName,
    FileAnnotation,
    FileHash,
    FileRelevance,
    IncidentSummary,
    IncidentType,
    IndustryClassification,
    IpCaptureEvent,
    ReportedFile,
    Reporter,
    ReportingPerson,
    ResponseCode,
    UserReported,
    WebPageIncident,
)
from trustdesk.safety.cybertipline_clients import (
    CyberTiplineClient,
    CyberTiplineError,
    CyberTiplineTransientError,
    HttpCyberTiplineClient,
    InMemoryCyberTiplineClient,
)
from trustdesk.safety.cybertipline_xml import (
    SCHEMA_LOCATION,
    ReportIncomplete,
    file_details_xml,
    report_xml,
    validate_report,
)

XSI = "{http://www.w3.org/2001/XMLSchema-instance}"
SEEN = datetime(2026, 11, 30, 14, 5, 9, tzinfo=UTC)
USERNAME, PASSWORD = "esp-user", "esp-secret-pw"

# The schema's element order (see the module docstring for the sources).
REPORT_ORDER = (
    "incidentSummary",
    "internetDetails",
    "reporter",
    "personOrUserReported",
    "additionalInfo",
)
SUMMARY_ORDER = (
    "incidentType",
    "platform",
    "escalateToHighPriority",
    "incidentDateTime",
    "incidentDateTimeDescription",
)
REPORTER_ORDER = ("reportingPerson", "contactPerson", "companyTemplate", "termsOfService", "legalURL")
PERSON_ORDER = ("firstName", "lastName", "phone", "email")
REPORTED_ORDER = (
    "personOrUserReportedPerson",
    "espIdentifier",
    "espService",
    "screenName",
    "displayName",
    "profileUrl",
    "ipCaptureEvent",
    "priorCTReports",
    "additionalInfo",
)
IP_ORDER = ("ipAddress", "eventName", "dateTime", "possibleProxy", "port")
FILE_ORDER = (
    "reportId",
    "fileId",
    "originalFileName",
    "uploadedToEspTimestamp",
    "locationOfFile",
    "fileViewedByEsp",
    "exifViewedByEsp",
    "publiclyAvailable",
    "fileRelevance",
    "fileAnnotations",
    "industryClassification",
    "originalFileHash",
    "ipCaptureEvent",
    "additionalInfo",
)


def make_file(**overrides: object) -> ReportedFile:
    values: dict[str, object] = {
        "file_name": "evidence-1.jpg",
        "file_viewed_by_esp": True,
        "original_file_name": "IMG_0042.jpg",
        "uploaded_to_esp_timestamp": SEEN - timedelta(hours=2),
        "exif_viewed_by_esp": False,
        "publicly_available": False,
        "annotations": frozenset({FileAnnotation.GENERATIVE_AI, FileAnnotation.VIRAL}),
        "industry_classification": IndustryClassification.A1,
        "original_file_hashes": (
            FileHash("MD5", "0" * 32),
            FileHash("PDQ", "f" * 64),
        ),
        "ip_capture_event": IpCaptureEvent("198.51.100.7", EventName.UPLOAD, SEEN - timedelta(hours=2)),
        "additional_info": "Matched bank ncmec-known (PDQ distance 4).",
        "content_type": "image/jpeg",
    }
    values.update(overrides)
    return ReportedFile(**values)  # type: ignore[arg-type]


def make_report(**overrides: object) -> CyberTiplineReport:
    values: dict[str, object] = {
        "incident_summary": IncidentSummary(
            incident_type=IncidentType.CHILD_PORNOGRAPHY,
            incident_date_time=SEEN,
            platform="Example Messenger",
        ),
        "reporter": Reporter(
            reporting_person=ReportingPerson(
                email="safety@example.org", first_name="Ada", last_name="Reviewer"
            ),
            contact_person=ContactPerson(email="le-contact@example.org", phone="+1 555 0100"),
            company_template="Example Messenger Inc.",
            legal_url="https://example.org/terms",
        ),
        "user_reported": UserReported(
            esp_identifier="@mallory:example.org",
            esp_service="Example Messenger",
            screen_name="mallory",
            display_names=("Mallory",),
            emails=(Email("mallory@example.net", EmailType.HOME, verified=True),),
            ip_capture_events=(
                IpCaptureEvent("203.0.113.9", EventName.LOGIN, SEEN - timedelta(days=1), False, 443),
            ),
            prior_ct_reports=(123456,),
        ),
        "files": (make_file(),),
        "internet_details": (ChatImIncident(chat_client="Example Messenger", chat_room_name="!room"),),
        "additional_info": "Detected by hash match at upload.",
    }
    values.update(overrides)
    return CyberTiplineReport(**values)  # type: ignore[arg-type]


def children(element: ET.Element) -> list[str]:
    return [child.tag for child in element]


def assert_in_order(element: ET.Element, order: tuple[str, ...]) -> None:
    tags = children(element)
    assert set(tags) <= set(order), f"unexpected elements in <{element.tag}>: {set(tags) - set(order)}"
    positions = [order.index(tag) for tag in tags]
    assert positions == sorted(positions), f"<{element.tag}> children out of order: {tags}"


def parse(document: bytes, root_tag: str) -> ET.Element:
    assert document.startswith(b"<?xml version='1.0' encoding='utf-8'?>")
    root = ET.fromstring(document)
    assert root.tag == root_tag
    assert root.get(f"{XSI}noNamespaceSchemaLocation") == SCHEMA_LOCATION
    return root


def check_report_document(document: bytes) -> ET.Element:
    """What NCMEC's schema demands of a ``<report>``, as far as the sources confirm it."""
    root = parse(document, "report")
    assert_in_order(root, REPORT_ORDER)
    summary = root.find("incidentSummary")
    assert summary is not None
    assert_in_order(summary, SUMMARY_ORDER)
    assert summary.findtext("incidentType") in {t.value for t in IncidentType}
    reporter = root.find("reporter")
    assert reporter is not None
    assert_in_order(reporter, REPORTER_ORDER)
    person = reporter.find("reportingPerson")
    assert person is not None
    assert_in_order(person, PERSON_ORDER)
    assert person.findtext("email")
    reported = root.find("personOrUserReported")
    if reported is not None:
        assert_in_order(reported, REPORTED_ORDER)
        for event in reported.iterfind("ipCaptureEvent"):
            assert_in_order(event, IP_ORDER)
    return root


def check_file_document(document: bytes) -> ET.Element:
    root = parse(document, "fileDetails")
    assert_in_order(root, FILE_ORDER)
    assert root.findtext("reportId")
    assert root.findtext("fileId")
    for flag in ("fileViewedByEsp", "exifViewedByEsp", "publiclyAvailable"):
        assert root.findtext(flag) in (None, "true", "false")
    annotations = root.find("fileAnnotations")
    if annotations is not None:
        assert set(children(annotations)) <= {a.value for a in FileAnnotation}
    return root


# ----------------------------------------------------------------------------------- XML


def test_report_xml_uses_the_api_element_names_and_order() -> None:
    root = check_report_document(report_xml(make_report()))
    assert children(root) == [
        "incidentSummary",
        "internetDetails",
        "reporter",
        "personOrUserReported",
        "additionalInfo",
    ]
    assert root.findtext("incidentSummary/incidentType") == (
        "Child Pornography (possession, manufacture, and distribution)"
    )
    assert root.findtext("incidentSummary/platform") == "Example Messenger"
    assert root.findtext("incidentSummary/incidentDateTime") == "2026-11-30T14:05:09Z"
    assert root.findtext("internetDetails/chatImIncident/chatClient") == "Example Messenger"
    assert root.findtext("internetDetails/chatImIncident/chatRoomName") == "!room"
    assert children(root.find("reporter")) == [  # type: ignore[arg-type]
        "reportingPerson",
        "contactPerson",
        "companyTemplate",
        "legalURL",
    ]
    assert children(root.find("reporter/reportingPerson")) == ["firstName", "lastName", "email"]  # type: ignore[arg-type]
    assert root.findtext("reporter/reportingPerson/email") == "safety@example.org"
    assert root.findtext("reporter/contactPerson/phone") == "+1 555 0100"
    assert root.findtext("reporter/companyTemplate") == "Example Messenger Inc."
    assert root.findtext("reporter/legalURL") == "https://example.org/terms"
    assert root.findtext("additionalInfo") == "Detected by hash match at upload."


def test_the_reported_account_is_person_or_user_reported() -> None:
    root = check_report_document(report_xml(make_report()))
    user = root.find("personOrUserReported")
    assert user is not None
    assert children(user) == [
        "personOrUserReportedPerson",
        "espIdentifier",
        "espService",
        "screenName",
        "displayName",
        "ipCaptureEvent",
        "priorCTReports",
    ]
    assert user.findtext("espIdentifier") == "@mallory:example.org"
    assert user.findtext("screenName") == "mallory"
    assert user.findtext("priorCTReports") == "123456"
    email = user.find("personOrUserReportedPerson/email")
    assert email is not None
    assert (email.text, email.get("type"), email.get("verified")) == ("mallory@example.net", "Home", "true")
    event = user.find("ipCaptureEvent")
    assert event is not None
    assert children(event) == ["ipAddress", "eventName", "dateTime", "possibleProxy", "port"]
    assert [e.text for e in event] == ["203.0.113.9", "Login", "2026-11-29T14:05:09Z", "false", "443"]


def test_a_minimal_report_omits_every_optional_element() -> None:
    report = CyberTiplineReport(
        incident_summary=IncidentSummary(IncidentType.CHILD_PORNOGRAPHY, SEEN),
        reporter=Reporter(ReportingPerson("safety@example.org")),
        user_reported=UserReported("@mallory:example.org"),
        files=(ReportedFile("a.jpg", file_viewed_by_esp=False),),
    )
    root = check_report_document(report_xml(report))
    assert children(root) == ["incidentSummary", "reporter", "personOrUserReported"]
    assert children(root.find("incidentSummary")) == ["incidentType", "incidentDateTime"]  # type: ignore[arg-type]
    assert children(root.find("reporter")) == ["reportingPerson"]  # type: ignore[arg-type]
    assert children(root.find("reporter/reportingPerson")) == ["email"]  # type: ignore[arg-type]
    assert children(root.find("personOrUserReported")) == ["espIdentifier"]  # type: ignore[arg-type]


def test_web_page_incidents_list_their_urls() -> None:
    report = make_report(
        internet_details=(WebPageIncident(("https://example.org/c/1", "https://example.org/c/2"), "public"),)
    )
    root = check_report_document(report_xml(report))
    incident = root.find("internetDetails/webPageIncident")
    assert incident is not None
    assert children(incident) == ["url", "url", "additionalInfo"]
    assert [u.text for u in incident.iterfind("url")] == [
        "https://example.org/c/1",
        "https://example.org/c/2",
    ]


def test_times_are_written_in_utc() -> None:
    plus_two = timezone(timedelta(hours=2))
    report = make_report(
        incident_summary=IncidentSummary(
            IncidentType.CHILD_PORNOGRAPHY, datetime(2026, 5, 1, 12, 0, tzinfo=plus_two)
        )
    )
    root = check_report_document(report_xml(report))
    assert root.findtext("incidentSummary/incidentDateTime") == "2026-05-01T10:00:00Z"


def test_file_details_xml_uses_the_api_element_names_and_order() -> None:
    root = check_file_document(file_details_xml("4564654", "file-9", make_file()))
    assert children(root) == [
        "reportId",
        "fileId",
        "originalFileName",
        "uploadedToEspTimestamp",
        "fileViewedByEsp",
        "exifViewedByEsp",
        "publiclyAvailable",
        "fileRelevance",
        "fileAnnotations",
        "industryClassification",
        "originalFileHash",
        "originalFileHash",
        "ipCaptureEvent",
        "additionalInfo",
    ]
    assert root.findtext("reportId") == "4564654"
    assert root.findtext("fileId") == "file-9"
    assert root.findtext("originalFileName") == "IMG_0042.jpg"
    assert root.findtext("uploadedToEspTimestamp") == "2026-11-30T12:05:09Z"
    assert root.findtext("fileViewedByEsp") == "true"
    assert root.findtext("exifViewedByEsp") == "false"
    assert root.findtext("publiclyAvailable") == "false"
    assert root.findtext("fileRelevance") == "Reported"
    assert root.findtext("industryClassification") == "A1"
    hashes = [(h.get("hashType"), h.text) for h in root.iterfind("originalFileHash")]
    assert hashes == [("MD5", "0" * 32), ("PDQ", "f" * 64)]
    assert root.findtext("ipCaptureEvent/eventName") == "Upload"


def test_file_annotations_are_empty_flags_in_the_schema_order() -> None:
    file = make_file(
        annotations=frozenset({FileAnnotation.GENERATIVE_AI, FileAnnotation.INFANT, FileAnnotation.VIRAL})
    )
    annotations = check_file_document(file_details_xml("1", "f", file)).find("fileAnnotations")
    assert annotations is not None
    assert children(annotations) == ["viral", "infant", "generativeAi"]
    assert all(a.text is None and not list(a) for a in annotations)


def test_a_minimal_file_omits_every_optional_element() -> None:
    file = ReportedFile("a.jpg", file_viewed_by_esp=False, file_relevance=FileRelevance.SUPPLEMENTAL_REPORTED)
    root = check_file_document(file_details_xml("1", "f", file))
    assert children(root) == ["reportId", "fileId", "fileViewedByEsp", "fileRelevance"]
    assert root.findtext("fileViewedByEsp") == "false"
    assert root.findtext("fileRelevance") == "Supplemental Reported"


@given(st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), min_size=1).filter(str.strip))
def test_free_text_survives_the_xml(text: str) -> None:
    root = ET.fromstring(report_xml(make_report(additional_info=text)))
    assert root.findtext("additionalInfo") == text


# ----------------------------------------------------------------------------------- validation


def _replace_summary(**changes: object) -> CyberTiplineReport:
    return make_report(incident_summary=replace(make_report().incident_summary, **changes))  # type: ignore[arg-type]


def _replace_reporter(**changes: object) -> CyberTiplineReport:
    return make_report(reporter=replace(make_report().reporter, **changes))  # type: ignore[arg-type]


def _replace_user(**changes: object) -> CyberTiplineReport:
    user = make_report().user_reported
    assert user is not None
    return make_report(user_reported=replace(user, **changes))  # type: ignore[arg-type]


def _replace_file(**changes: object) -> CyberTiplineReport:
    return make_report(files=(make_file(), make_file(**changes)))


INCOMPLETE: list[tuple[str, Callable[[], CyberTiplineReport], str]] = [
    (
        "incident type not an IncidentType",
        lambda: _replace_summary(incident_type="CSAM"),
        "incidentSummary.incidentType",
    ),
    (
        "no incident time",
        lambda: _replace_summary(incident_date_time=None),
        "incidentSummary.incidentDateTime",
    ),
    (
        "naive incident time",
        lambda: _replace_summary(incident_date_time=datetime(2026, 1, 1)),  # noqa: DTZ001 - the point
        "incidentSummary.incidentDateTime",
    ),
    ("blank platform", lambda: _replace_summary(platform="  "), "incidentSummary.platform"),
    (
        "escalation too long",
        lambda: _replace_summary(escalate_to_high_priority="x" * 3001),
        "incidentSummary.escalateToHighPriority",
    ),
    (
        "web page incident without url",
        lambda: make_report(internet_details=(WebPageIncident(()),)),
        "internetDetails[0].webPageIncident.url",
    ),
    (
        "web page incident with a bad url",
        lambda: make_report(internet_details=(WebPageIncident(("example.org/c/1",)),)),
        "internetDetails[0].webPageIncident.url",
    ),
    (
        "reporting person without email",
        lambda: _replace_reporter(reporting_person=ReportingPerson(email="")),
        "reporter.reportingPerson.email",
    ),
    (
        "reporting person with a bad email",
        lambda: _replace_reporter(reporting_person=ReportingPerson(email="safety at example.org")),
        "reporter.reportingPerson.email",
    ),
    (
        "contact person without a way to reach them",
        lambda: _replace_reporter(contact_person=ContactPerson(first_name="Bob")),
        "reporter.contactPerson",
    ),
    ("legal URL not a URL", lambda: _replace_reporter(legal_url="terms"), "reporter.legalURL"),
    ("no reported account", lambda: make_report(user_reported=None), "personOrUserReported"),
    ("blank espIdentifier", lambda: _replace_user(esp_identifier=" "), "personOrUserReported.espIdentifier"),
    (
        "espIdentifier too long",
        lambda: _replace_user(esp_identifier="u" * 256),
        "personOrUserReported.espIdentifier",
    ),
    (
        "reported email malformed",
        lambda: _replace_user(emails=(Email("nobody"),)),
        "personOrUserReported.personOrUserReportedPerson.email",
    ),
    (
        "ip event without address",
        lambda: _replace_user(ip_capture_events=(IpCaptureEvent(""),)),
        "personOrUserReported.ipCaptureEvent[0].ipAddress",
    ),
    (
        "ip event with a naive time",
        lambda: _replace_user(
            ip_capture_events=(IpCaptureEvent("203.0.113.9", date_time=datetime(2026, 1, 1)),)  # noqa: DTZ001
        ),
        "personOrUserReported.ipCaptureEvent[0].dateTime",
    ),
    (
        "ip event with a bad port",
        lambda: _replace_user(ip_capture_events=(IpCaptureEvent("203.0.113.9", port=70000),)),
        "personOrUserReported.ipCaptureEvent[0].port",
    ),
    (
        "prior report id not positive",
        lambda: _replace_user(prior_ct_reports=(0,)),
        "personOrUserReported.priorCTReports",
    ),
    ("no files", lambda: make_report(files=()), "fileDetails"),
    ("file without name", lambda: _replace_file(file_name=""), "fileDetails[1].fileName"),
    (
        "file viewed by ESP not stated",
        lambda: _replace_file(file_viewed_by_esp=None),
        "fileDetails[1].fileViewedByEsp",
    ),
    (
        "EXIF viewed but file not",
        lambda: _replace_file(file_viewed_by_esp=False, exif_viewed_by_esp=True),
        "fileDetails[1].exifViewedByEsp",
    ),
    (
        "original file name too long",
        lambda: _replace_file(original_file_name="a" * 2057),
        "fileDetails[1].originalFileName",
    ),
    (
        "hash without type",
        lambda: _replace_file(original_file_hashes=(FileHash("", "abc"),)),
        "fileDetails[1].originalFileHash.hashType",
    ),
    (
        "hash without value",
        lambda: _replace_file(original_file_hashes=(FileHash("MD5", ""),)),
        "fileDetails[1].originalFileHash",
    ),
    (
        "classification not an IndustryClassification",
        lambda: _replace_file(industry_classification="A3"),
        "fileDetails[1].industryClassification",
    ),
    (
        "annotation not a FileAnnotation",
        lambda: _replace_file(annotations=frozenset({"meme"})),
        "fileDetails[1].fileAnnotations",
    ),
    (
        "naive upload time",
        lambda: _replace_file(uploaded_to_esp_timestamp=datetime(2026, 1, 1)),  # noqa: DTZ001
        "fileDetails[1].uploadedToEspTimestamp",
    ),
    ("blank additional info", lambda: make_report(additional_info=""), "additionalInfo"),
]


def test_the_complete_report_is_valid() -> None:
    validate_report(make_report())


@pytest.mark.parametrize(
    ("build", "path"), [(b, p) for _, b, p in INCOMPLETE], ids=[i for i, _, _ in INCOMPLETE]
)
def test_an_incomplete_report_is_refused_naming_the_field(
    build: Callable[[], CyberTiplineReport], path: str
) -> None:
    report = build()
    with pytest.raises(ReportIncomplete) as caught:
        validate_report(report)
    assert caught.value.field == path
    assert str(caught.value).startswith(f"{path}: ")
    with pytest.raises(ReportIncomplete):
        report_xml(report)


def test_file_details_need_the_ids_nc_mec_assigned() -> None:
    with pytest.raises(ReportIncomplete, match=r"^fileDetails\.reportId: is blank"):
        file_details_xml("", "f", make_file())
    with pytest.raises(ReportIncomplete, match=r"^fileDetails\.fileId: is blank"):
        file_details_xml("1", " ", make_file())
    with pytest.raises(ReportIncomplete, match=r"^fileDetails\.fileViewedByEsp: must be stated"):
        file_details_xml("1", "f", make_file(file_viewed_by_esp=None))


# ----------------------------------------------------------------------------------- the fake NCMEC


@dataclass
class FakeNcmec:
    """NCMEC's API as an ``httpx2.MockTransport`` handler; checks every request it receives."""

    reports: dict[str, dict[str, object]] = field(default_factory=dict)
    requests: list[httpx2.Request] = field(default_factory=list)
    next_id: int = 4564654
    answers: list[httpx2.Response | Exception] = field(default_factory=list)

    def respond_next(self, answer: httpx2.Response | Exception) -> None:
        self.answers.append(answer)

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        self.requests.append(request)
        expected = "Basic " + base64.b64encode(f"{USERNAME}:{PASSWORD}".encode()).decode()
        assert request.headers["Authorization"] == expected
        assert request.method == "POST"
        assert request.url.host == "ncmec.invalid"
        path = request.url.path
        assert path.startswith("/ispws/")
        operation = path.removeprefix("/ispws/")
        if self.answers:
            answer = self.answers.pop(0)
            if isinstance(answer, Exception):
                raise answer
            return answer
        handler = getattr(self, f"_{operation}", None)
        assert handler is not None, f"unknown operation {operation}"
        result: httpx2.Response = handler(request)
        return result

    @staticmethod
    def _answer(
        root: str = "reportResponse", code: int = 0, description: str = "Success", **fields: str
    ) -> httpx2.Response:
        parts = [f"<responseCode>{code}</responseCode>"]
        if root == "reportResponse":
            parts.append(f"<responseDescription>{description}</responseDescription>")
        parts += [f"<{name}>{value}</{name}>" for name, value in fields.items()]
        body = f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><{root}>{"".join(parts)}</{root}>'
        return httpx2.Response(200, content=body.encode())

    @staticmethod
    def _form(request: httpx2.Request) -> dict[str, tuple[str | None, bytes]]:
        content_type = request.headers["Content-Type"]
        assert content_type.startswith("multipart/form-data; boundary=")
        message = BytesParser(policy=HTTP).parsebytes(
            b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + request.content
        )
        fields: dict[str, tuple[str | None, bytes]] = {}
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            payload = part.get_payload(decode=True)
            assert isinstance(name, str)
            assert isinstance(payload, bytes)
            fields[name] = (part.get_filename(), payload)
        return fields

    def _state(self, report_id: str) -> dict[str, object] | httpx2.Response:
        report = self.reports.get(report_id)
        if report is None:
            return self._answer(code=5001, description="Report does not exist")
        if report["state"] == "finished":
            return self._answer(code=5102, description="Report already finished")
        if report["state"] == "retracted":
            return self._answer(code=5101, description="Report already retracted")
        return report

    def _submit(self, request: httpx2.Request) -> httpx2.Response:
        assert request.headers["Content-Type"] == "text/xml; charset=utf-8"
        check_report_document(request.content)
        report_id = str(self.next_id)
        self.next_id += 1
        self.reports[report_id] = {"state": "open", "xml": request.content, "files": {}, "details": {}}
        return self._answer(reportId=report_id)

    def _upload(self, request: httpx2.Request) -> httpx2.Response:
        form = self._form(request)
        assert set(form) == {"id", "file"}
        report_id = form["id"][1].decode()
        file_name, content = form["file"]
        assert file_name
        report = self._state(report_id)
        if isinstance(report, httpx2.Response):
            return report
        files = report["files"]
        assert isinstance(files, dict)
        file_id = hashlib.md5(file_name.encode() + content, usedforsecurity=False).hexdigest()
        files[file_id] = content
        md5 = hashlib.md5(content, usedforsecurity=False).hexdigest()
        return self._answer(reportId=report_id, fileId=file_id, hash=md5)

    def _fileinfo(self, request: httpx2.Request) -> httpx2.Response:
        assert request.headers["Content-Type"] == "text/xml; charset=utf-8"
        root = check_file_document(request.content)
        report = self._state(root.findtext("reportId") or "")
        if isinstance(report, httpx2.Response):
            return report
        files, details = report["files"], report["details"]
        assert isinstance(files, dict)
        assert isinstance(details, dict)
        if root.findtext("fileId") not in files:
            return self._answer(code=4100, description="Validation failed: unknown fileId")
        details[root.findtext("fileId")] = request.content
        return self._answer(reportId=root.findtext("reportId") or "")

    def _finish(self, request: httpx2.Request) -> httpx2.Response:
        form = self._form(request)
        assert set(form) == {"id"}
        report_id = form["id"][1].decode()
        report = self._state(report_id)
        if isinstance(report, httpx2.Response):
            return report
        report["state"] = "finished"
        files = report["files"]
        assert isinstance(files, dict)
        listed = "".join(f"<fileId>{f}</fileId>" for f in files)
        body = (
            f"<reportDoneResponse><responseCode>0</responseCode><reportId>{report_id}</reportId>"
            f"<files>{listed}</files></reportDoneResponse>"
        )
        return httpx2.Response(200, content=body.encode())

    def _retract(self, request: httpx2.Request) -> httpx2.Response:
        form = self._form(request)
        assert set(form) == {"id"}
        report_id = form["id"][1].decode()
        report = self._state(report_id)
        if isinstance(report, httpx2.Response):
            return report
        report["state"] = "retracted"
        return self._answer(reportId=report_id)


@pytest.fixture
def fake() -> FakeNcmec:
    return FakeNcmec()


@pytest.fixture
def http_client(fake: FakeNcmec) -> Iterator[HttpCyberTiplineClient]:
    with HttpCyberTiplineClient(
        base_url="https://ncmec.invalid/ispws/",
        username=USERNAME,
        password=PASSWORD,
        transport=httpx2.MockTransport(fake),
    ) as client:
        yield client


@pytest.fixture(params=["in-memory", "http"])
def client(request: pytest.FixtureRequest, fake: FakeNcmec) -> Iterator[CyberTiplineClient]:
    if request.param == "in-memory":
        yield InMemoryCyberTiplineClient()
        return
    with HttpCyberTiplineClient(
        base_url="https://ncmec.invalid/ispws",
        username=USERNAME,
        password=PASSWORD,
        transport=httpx2.MockTransport(fake),
    ) as http:
        yield http


# ----------------------------------------------------------------------------------- the contract


def test_both_clients_are_cyber_tipline_clients(client: CyberTiplineClient) -> None:
    assert isinstance(client, CyberTiplineClient)


def test_a_whole_report_is_submitted_uploaded_described_and_finished(client: CyberTiplineClient) -> None:
    report = make_report()
    report_id = client.submit(report)
    assert report_id.isdigit()
    uploaded = client.upload(report_id, report.files[0], b"\xff\xd8 jpeg bytes")
    assert uploaded.file_id
    assert uploaded.md5 == hashlib.md5(b"\xff\xd8 jpeg bytes", usedforsecurity=False).hexdigest()
    client.file_info(report_id, uploaded.file_id, report.files[0])
    finished = client.finish(report_id)
    assert finished.report_id == report_id
    assert finished.file_ids == (uploaded.file_id,)


def test_each_submission_gets_its_own_report_id(client: CyberTiplineClient) -> None:
    first, second = client.submit(make_report()), client.submit(make_report())
    assert first != second


def test_an_incomplete_report_is_refused_before_anything_is_sent(
    client: CyberTiplineClient, fake: FakeNcmec
) -> None:
    with pytest.raises(ReportIncomplete, match="personOrUserReported"):
        client.submit(make_report(user_reported=None))
    with pytest.raises(ReportIncomplete, match="fileViewedByEsp"):
        client.upload("1", make_file(file_viewed_by_esp=None), b"x")
    assert fake.requests == []
    if isinstance(client, InMemoryCyberTiplineClient):
        assert client.calls == []


def test_files_go_only_into_a_report_that_exists(client: CyberTiplineClient) -> None:
    with pytest.raises(CyberTiplineError) as caught:
        client.upload("999", make_file(), b"x")
    assert caught.value.code == ResponseCode.NO_SUCH_REPORT
    assert not isinstance(caught.value, CyberTiplineTransientError)


def test_file_info_needs_an_uploaded_file(client: CyberTiplineClient) -> None:
    report_id = client.submit(make_report())
    with pytest.raises(CyberTiplineError) as caught:
        client.file_info(report_id, "never-uploaded", make_file())
    assert caught.value.code == ResponseCode.VALIDATION_FAILED


def test_a_finished_report_cannot_be_finished_retracted_or_added_to(client: CyberTiplineClient) -> None:
    report_id = client.submit(make_report())
    client.finish(report_id)
    for call in (
        lambda: client.finish(report_id),
        lambda: client.retract(report_id),
        lambda: client.upload(report_id, make_file(), b"x"),
    ):
        with pytest.raises(CyberTiplineError) as caught:
            call()
        assert caught.value.code == ResponseCode.ALREADY_FINISHED


def test_a_retracted_report_is_closed(client: CyberTiplineClient) -> None:
    report_id = client.submit(make_report())
    client.retract(report_id)
    for call in (lambda: client.retract(report_id), lambda: client.finish(report_id)):
        with pytest.raises(CyberTiplineError) as caught:
            call()
        assert caught.value.code == ResponseCode.ALREADY_RETRACTED


# ----------------------------------------------------------------------------------- the HTTP client


def test_the_http_client_sends_the_documents_nc_mec_expects(
    http_client: HttpCyberTiplineClient, fake: FakeNcmec
) -> None:
    report = make_report()
    report_id = http_client.submit(report)
    uploaded = http_client.upload(report_id, report.files[0], b"bytes")
    http_client.file_info(report_id, uploaded.file_id, report.files[0])
    http_client.finish(report_id)
    assert [r.url.path for r in fake.requests] == [
        "/ispws/submit",
        "/ispws/upload",
        "/ispws/fileinfo",
        "/ispws/finish",
    ]
    assert fake.requests[0].content == report_xml(report)
    upload_form = FakeNcmec._form(fake.requests[1])
    assert upload_form["id"] == (None, report_id.encode())
    assert upload_form["file"] == ("evidence-1.jpg", b"bytes")
    assert 'filename="evidence-1.jpg"' in fake.requests[1].content.decode(errors="replace")
    assert b"Content-Type: image/jpeg" in fake.requests[1].content
    details = ET.fromstring(fake.requests[2].content)
    assert (details.findtext("reportId"), details.findtext("fileId")) == (report_id, uploaded.file_id)
    assert FakeNcmec._form(fake.requests[3]) == {"id": (None, report_id.encode())}
    stored = fake.reports[report_id]
    assert stored["state"] == "finished"


@pytest.mark.parametrize(
    ("answer", "transient", "code"),
    [
        (httpx2.Response(503, content=b"busy"), True, None),
        (httpx2.Response(502), True, None),
        (httpx2.Response(429), True, None),
        (httpx2.ConnectError("connection refused"), True, None),
        (httpx2.ReadTimeout("timed out"), True, None),
        (
            FakeNcmec._answer(code=1000, description="Server error"),
            True,
            ResponseCode.SERVER_ERROR,
        ),
        (
            FakeNcmec._answer(code=4100, description="Validation failed: incidentType"),
            False,
            ResponseCode.VALIDATION_FAILED,
        ),
        (FakeNcmec._answer(code=3100, description="Not authorised"), False, ResponseCode.NOT_AUTHORISED),
        (httpx2.Response(401, content=b"Unauthorized"), False, ResponseCode.AUTHENTICATION_REQUIRED),
        (httpx2.Response(200, content=b"<html>maintenance</html"), False, None),
        (httpx2.Response(200, content=b"<reportResponse></reportResponse>"), False, None),
        (
            httpx2.Response(200, content=b"<reportResponse><responseCode>0</responseCode></reportResponse>"),
            False,
            None,
        ),
        (
            httpx2.Response(400, content=b"<reportResponse><responseCode>0</responseCode></reportResponse>"),
            False,
            None,
        ),
    ],
    ids=[
        "503",
        "502",
        "429",
        "connect-error",
        "timeout",
        "code-1000",
        "code-4100",
        "code-3100",
        "401",
        "not-xml",
        "no-response-code",
        "no-report-id",
        "400-with-code-0",
    ],
)
def test_the_http_client_tells_transient_failures_from_refusals(
    http_client: HttpCyberTiplineClient,
    fake: FakeNcmec,
    answer: httpx2.Response | Exception,
    transient: bool,
    code: int | None,
) -> None:
    fake.respond_next(answer)
    with pytest.raises(CyberTiplineError) as caught:
        http_client.submit(make_report())
    assert isinstance(caught.value, CyberTiplineTransientError) is transient
    assert caught.value.code == code
    assert caught.value.operation == "submit"
    assert PASSWORD not in str(caught.value)


def test_nc_mec_description_is_in_the_error(http_client: HttpCyberTiplineClient, fake: FakeNcmec) -> None:
    fake.respond_next(FakeNcmec._answer(code=4100, description="Validation failed: incidentType"))
    with pytest.raises(
        CyberTiplineError, match=r"submit failed \(responseCode 4100\): Validation failed: incidentType"
    ):
        http_client.submit(make_report())


def test_the_http_client_refuses_bad_settings() -> None:
    with pytest.raises(ValueError, match="base URL"):
        HttpCyberTiplineClient(base_url="report.cybertip.org/ispws", username="u", password="p")
    with pytest.raises(ValueError, match="username and password"):
        HttpCyberTiplineClient(base_url=TEST_BASE_URL, username="u", password="")
    with pytest.raises(ValueError, match="timeout"):
        HttpCyberTiplineClient(base_url=TEST_BASE_URL, username="u", password="p", timeout=0)


def test_the_http_client_keeps_its_credentials_to_itself() -> None:
    client = HttpCyberTiplineClient(
        base_url=TEST_BASE_URL,
        username=USERNAME,
        password=PASSWORD,
        transport=httpx2.MockTransport(FakeNcmec()),
    )
    with client:
        assert repr(client) == f"HttpCyberTiplineClient({TEST_BASE_URL})"
        assert PASSWORD not in repr(client)


# ----------------------------------------------------------------------------------- the double


def submit_with_retries(client: CyberTiplineClient, report: CyberTiplineReport, attempts: int) -> str:
    """A caller's retry loop, as the service will write it: retry transient failures only."""
    for attempt in range(1, attempts + 1):
        try:
            return client.submit(report)
        except CyberTiplineTransientError:
            if attempt == attempts:
                raise
    raise AssertionError("unreachable")


def test_the_double_fails_transiently_when_told_and_then_recovers() -> None:
    double = InMemoryCyberTiplineClient(first_report_id=7000)
    double.fail_next(2)
    report_id = submit_with_retries(double, make_report(), attempts=3)
    assert report_id == "7000"
    assert double.operations() == ["submit", "submit", "submit"]
    assert list(double.reports) == ["7000"]


def test_the_double_gives_up_when_failures_outlast_the_retries() -> None:
    double = InMemoryCyberTiplineClient()
    double.fail_next(3)
    with pytest.raises(CyberTiplineTransientError) as caught:
        submit_with_retries(double, make_report(), attempts=3)
    assert caught.value.code == ResponseCode.SERVER_ERROR
    assert double.reports == {}


def test_the_double_fails_only_the_named_operation() -> None:
    double = InMemoryCyberTiplineClient()
    double.fail_next(operation="finish")
    report_id = double.submit(make_report())
    with pytest.raises(CyberTiplineTransientError, match="finish"):
        double.finish(report_id)
    assert double.reports[report_id].state == "open"
    double.finish(report_id)
    assert double.reports[report_id].state == "finished"
    assert double.operations() == ["submit", "finish", "finish"]


def test_the_double_records_what_it_was_sent() -> None:
    double = InMemoryCyberTiplineClient(first_report_id=1)
    report = make_report()
    report_id = double.submit(report)
    uploaded = double.upload(report_id, report.files[0], b"bytes")
    double.file_info(report_id, uploaded.file_id, report.files[0])
    assert report_id == "1"
    submit, upload, info = double.calls
    assert (submit.operation, submit.report_id, submit.payload) == ("submit", None, report_xml(report))
    assert (upload.operation, upload.report_id, upload.payload) == ("upload", "1", b"bytes")
    assert (info.operation, info.file_id) == ("fileinfo", uploaded.file_id)
    assert info.payload == file_details_xml("1", uploaded.file_id, report.files[0])
    assert double.reports["1"].details[uploaded.file_id] == info.payload
    assert double.submit(report) == "2"


def test_the_double_refuses_nonsense_failure_instructions() -> None:
    double = InMemoryCyberTiplineClient()
    with pytest.raises(ValueError, match="at least 1"):
        double.fail_next(0)
    with pytest.raises(ValueError, match="unknown operation 'submitt'"):
        double.fail_next(operation="submitt")
