"""CyberTipline Reporting API clients: the protocol, the HTTP client and the in-memory test double.

The record is :mod:`trustdesk.safety.cybertipline`, its validation and its XML
:mod:`trustdesk.safety.cybertipline_xml`.
"""

from __future__ import annotations

import hashlib
import itertools
import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final, Protocol, runtime_checkable

if TYPE_CHECKING:
    from types import TracebackType

    import httpx2

from trustdesk.safety.cybertipline import TRANSIENT_CODES, CyberTiplineReport, ReportedFile, ResponseCode
from trustdesk.safety.cybertipline_xml import XML_CONTENT_TYPE, file_details_xml, report_xml, validate_file

__all__ = [
    "CyberTiplineClient",
    "CyberTiplineError",
    "CyberTiplineTransientError",
    "FinishedReport",
    "HttpCyberTiplineClient",
    "InMemoryCyberTiplineClient",
    "RecordedCall",
    "UploadedFile",
]


# ----------------------------------------------------------------------------------- clients


class CyberTiplineError(Exception):
    """NCMEC refused a call (``code`` is its ``responseCode``), or the call failed (``code`` is None)."""

    def __init__(self, operation: str, description: str, *, code: int | None = None) -> None:
        detail = f" (responseCode {code})" if code is not None else ""
        super().__init__(f"CyberTipline {operation} failed{detail}: {description}")
        self.operation = operation
        self.description = description
        self.code = code


class CyberTiplineTransientError(CyberTiplineError):
    """A failure a later attempt may get past: a network error, a timeout, an HTTP 5xx or 429, code 1000."""


@dataclass(frozen=True)
class UploadedFile:
    """What ``/upload`` answers: NCMEC's id for the file and its MD5 of the bytes received."""

    file_id: str
    md5: str | None


@dataclass(frozen=True)
class FinishedReport:
    """What ``/finish`` answers: the report id and the ids of the files it holds."""

    report_id: str
    file_ids: tuple[str, ...]


@runtime_checkable
class CyberTiplineClient(Protocol):
    """The CyberTipline Reporting API. Every method raises `CyberTiplineError` when NCMEC refuses,
    `CyberTiplineTransientError` when a retry may succeed, and `ReportIncomplete` before sending anything
    when the record is incomplete. Calls are not idempotent on NCMEC's side: retry ``submit`` only when
    the failure was transient, and ``retract`` a report that cannot be finished."""

    def submit(self, report: CyberTiplineReport) -> str:
        """Open a report (``POST /submit``); return NCMEC's report id."""
        ...

    def upload(self, report_id: str, file: ReportedFile, content: bytes) -> UploadedFile:
        """Add a file's bytes to an open report (``POST /upload``)."""
        ...

    def file_info(self, report_id: str, file_id: str, file: ReportedFile) -> None:
        """Describe an uploaded file (``POST /fileinfo``, the ``<fileDetails>`` document)."""
        ...

    def finish(self, report_id: str) -> FinishedReport:
        """Complete the report (``POST /finish``); NCMEC processes it from then on."""
        ...

    def retract(self, report_id: str) -> None:
        """Cancel a report that is not finished (``POST /retract``)."""
        ...


def _child_text(root: ET.Element, path: str) -> str | None:
    found = root.find(path)
    if found is None or found.text is None or not found.text.strip():
        return None
    return found.text.strip()


class HttpCyberTiplineClient:
    """The CyberTipline Reporting API over HTTPS, with HTTP Basic authentication (httpx2).

    ``base_url`` is `PRODUCTION_BASE_URL` or `TEST_BASE_URL` (or a local stand-in); ``transport`` lets a
    test put an ``httpx2.MockTransport`` in place of the network. The credentials never appear in errors
    or in ``repr``. Use as a context manager, or call `close`.
    """

    def __init__(
        self,
        *,
        base_url: str,
        username: str,
        password: str,
        timeout: float = 60.0,
        transport: httpx2.BaseTransport | None = None,
    ) -> None:
        import httpx2  # imported here, so that the record, the XML and the double import without it

        if not re.fullmatch(r"https?://\S+", base_url):
            raise ValueError(f"the CyberTipline base URL must be http(s)://..., got {base_url!r}")
        if not username or not password:
            raise ValueError("the CyberTipline username and password are required")
        if timeout <= 0:
            raise ValueError(f"timeout must be positive, got {timeout}")
        self.base_url = base_url.rstrip("/")
        self._httpx = httpx2
        self._client = httpx2.Client(
            base_url=self.base_url + "/",
            auth=httpx2.BasicAuth(username, password),
            timeout=timeout,
            transport=transport,
            headers={"User-Agent": "trustdesk-cybertipline"},
        )

    def __repr__(self) -> str:
        return f"HttpCyberTiplineClient({self.base_url})"

    def __enter__(self) -> HttpCyberTiplineClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self._client.close()

    def _post(
        self,
        operation: str,
        *,
        xml: bytes | None = None,
        form: Mapping[str, str] | None = None,
        file: tuple[str, bytes, str] | None = None,
    ) -> ET.Element:
        """POST to ``operation``: an XML body, or a multipart form (``id``, and the ``file`` to upload)."""
        files: dict[str, tuple[str | None, bytes | str, str | None]] = {}
        for name, value in (form or {}).items():
            files[name] = (None, value, None)
        if file is not None:
            files["file"] = file
        try:
            if xml is not None:
                response = self._client.post(
                    operation, content=xml, headers={"Content-Type": XML_CONTENT_TYPE}
                )
            else:
                response = self._client.post(operation, files=files)
        except self._httpx.TransportError as exc:
            raise CyberTiplineTransientError(operation, f"{type(exc).__name__}: {exc}") from None
        status = response.status_code
        if status == 429 or status >= 500:
            raise CyberTiplineTransientError(operation, f"HTTP {status}")
        if status == 401:
            raise CyberTiplineError(
                operation, "HTTP 401: credentials refused", code=ResponseCode.AUTHENTICATION_REQUIRED
            )
        try:
            root = ET.fromstring(response.content)  # noqa: S314 - NCMEC's answer; expat refuses external entities
        except ET.ParseError:
            raise CyberTiplineError(operation, f"HTTP {status}, the answer is not XML") from None
        code_text = _child_text(root, "responseCode")
        if code_text is None or not code_text.lstrip("-").isdigit():
            raise CyberTiplineError(operation, f"HTTP {status}, the answer has no responseCode")
        code = int(code_text)
        if code != ResponseCode.SUCCESS:
            description = _child_text(root, "responseDescription") or "no description"
            error = CyberTiplineTransientError if code in TRANSIENT_CODES else CyberTiplineError
            raise error(operation, description, code=code)
        if status >= 400:
            raise CyberTiplineError(operation, f"HTTP {status}")
        return root

    def submit(self, report: CyberTiplineReport) -> str:
        body = report_xml(report)
        root = self._post("submit", xml=body)
        report_id = _child_text(root, "reportId")
        if report_id is None:
            raise CyberTiplineError("submit", "the answer has no reportId")
        return report_id

    def upload(self, report_id: str, file: ReportedFile, content: bytes) -> UploadedFile:
        validate_file(file)
        root = self._post("upload", form={"id": report_id}, file=(file.file_name, content, file.content_type))
        file_id = _child_text(root, "fileId")
        if file_id is None:
            raise CyberTiplineError("upload", "the answer has no fileId")
        return UploadedFile(file_id=file_id, md5=_child_text(root, "hash"))

    def file_info(self, report_id: str, file_id: str, file: ReportedFile) -> None:
        body = file_details_xml(report_id, file_id, file)
        self._post("fileinfo", xml=body)

    def finish(self, report_id: str) -> FinishedReport:
        root = self._post("finish", form={"id": report_id})
        file_ids = tuple(
            element.text.strip()
            for element in root.iterfind("files/fileId")
            if element.text and element.text.strip()
        )
        return FinishedReport(report_id=_child_text(root, "reportId") or report_id, file_ids=file_ids)

    def retract(self, report_id: str) -> None:
        self._post("retract", form={"id": report_id})


# ----------------------------------------------------------------------------------- the test double


@dataclass(frozen=True)
class RecordedCall:
    """One call the double received: the operation, the report id, and what was sent (XML or bytes)."""

    operation: str
    report_id: str | None
    payload: bytes = b""
    file_id: str | None = None


@dataclass
class _OpenReport:
    xml: bytes
    state: str = "open"  # open → finished | retracted
    files: dict[str, bytes] = field(default_factory=dict)
    details: dict[str, bytes] = field(default_factory=dict)


class InMemoryCyberTiplineClient:
    """A local CyberTipline: keeps reports in memory, records every call, assigns report ids.

    It renders and validates the same XML as the HTTP client and keeps NCMEC's lifecycle (files only on
    an open report, finish or retract once). `fail_next` makes the next calls fail with
    `CyberTiplineTransientError` (before anything is stored), so that callers' retries can be tested.
    """

    OPERATIONS: Final = ("submit", "upload", "fileinfo", "finish", "retract")

    def __init__(self, *, first_report_id: int = 1000) -> None:
        self.calls: list[RecordedCall] = []
        self.reports: dict[str, _OpenReport] = {}
        self._report_ids = itertools.count(first_report_id)
        self._file_ids = itertools.count(1)
        self._failures: dict[str | None, int] = {}

    def fail_next(self, times: int = 1, *, operation: str | None = None) -> None:
        """Fail the next ``times`` calls (of ``operation`` only, if given) with a transient error."""
        if times < 1:
            raise ValueError(f"times must be at least 1, got {times}")
        if operation is not None and operation not in self.OPERATIONS:
            raise ValueError(f"unknown operation {operation!r}; one of {', '.join(self.OPERATIONS)}")
        self._failures[operation] = self._failures.get(operation, 0) + times

    def _maybe_fail(self, operation: str) -> None:
        for key in (operation, None):
            if self._failures.get(key, 0) > 0:
                self._failures[key] -= 1
                raise CyberTiplineTransientError(
                    operation, "simulated transient failure", code=ResponseCode.SERVER_ERROR
                )

    def _open(self, operation: str, report_id: str) -> _OpenReport:
        report = self.reports.get(report_id)
        if report is None:
            raise CyberTiplineError(operation, "report does not exist", code=ResponseCode.NO_SUCH_REPORT)
        if report.state == "finished":
            raise CyberTiplineError(operation, "report already finished", code=ResponseCode.ALREADY_FINISHED)
        if report.state == "retracted":
            raise CyberTiplineError(
                operation, "report already retracted", code=ResponseCode.ALREADY_RETRACTED
            )
        return report

    def submit(self, report: CyberTiplineReport) -> str:
        body = report_xml(report)
        self.calls.append(RecordedCall("submit", None, body))
        self._maybe_fail("submit")
        report_id = str(next(self._report_ids))
        self.reports[report_id] = _OpenReport(xml=body)
        return report_id

    def upload(self, report_id: str, file: ReportedFile, content: bytes) -> UploadedFile:
        validate_file(file)
        self.calls.append(RecordedCall("upload", report_id, content))
        self._maybe_fail("upload")
        report = self._open("upload", report_id)
        file_id = f"file-{next(self._file_ids)}"
        report.files[file_id] = content
        return UploadedFile(file_id=file_id, md5=hashlib.md5(content, usedforsecurity=False).hexdigest())

    def file_info(self, report_id: str, file_id: str, file: ReportedFile) -> None:
        body = file_details_xml(report_id, file_id, file)
        self.calls.append(RecordedCall("fileinfo", report_id, body, file_id=file_id))
        self._maybe_fail("fileinfo")
        report = self._open("fileinfo", report_id)
        if file_id not in report.files:
            raise CyberTiplineError(
                "fileinfo", f"no file {file_id} in report {report_id}", code=ResponseCode.VALIDATION_FAILED
            )
        report.details[file_id] = body

    def finish(self, report_id: str) -> FinishedReport:
        self.calls.append(RecordedCall("finish", report_id))
        self._maybe_fail("finish")
        report = self._open("finish", report_id)
        report.state = "finished"
        return FinishedReport(report_id=report_id, file_ids=tuple(report.files))

    def retract(self, report_id: str) -> None:
        self.calls.append(RecordedCall("retract", report_id))
        self._maybe_fail("retract")
        report = self._open("retract", report_id)
        report.state = "retracted"

    def operations(self) -> list[str]:
        """The operations received so far, in order (failed attempts included)."""
        return [call.operation for call in self.calls]
