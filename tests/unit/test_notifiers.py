"""Deadline-alert notifiers: the contract every `Notifier` keeps, and each implementation's own behaviour.

The webhook is tested against a real HTTP server on 127.0.0.1 (an ephemeral port, in a thread).
"""

import hashlib
import hmac
import json
import logging
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.notifier_doubles import RecordingNotifier
from trustdesk.lawful.monitor import Alert, AlertKind
from trustdesk.lawful.notifiers import (
    SIGNATURE_HEADER,
    FanoutNotifier,
    LogNotifier,
    Notifier,
    NotifierError,
    WebhookNotifier,
    notifier_from_settings,
)

RECEIVED = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
SECRET = "s3cret-for-tests"


def make_alert(kind: AlertKind = AlertKind.AT_RISK, **overrides: object) -> Alert:
    alert = Alert(
        kind=kind,
        request_id="0b7c6f7e-0000-4000-8000-000000000001",
        tracking_number="TD-2026-7K3M-Q9XF",
        instrument="EU_EPOC",
        emergency=False,
        received_at=RECEIVED,
        due_at=RECEIVED + timedelta(days=10),
        time_left_seconds=2 * 86400,
    )
    return replace(alert, **overrides)  # type: ignore[arg-type]


ALERTS = [
    make_alert(
        AlertKind.EMERGENCY, emergency=True, due_at=RECEIVED + timedelta(hours=8), time_left_seconds=28800
    ),
    make_alert(AlertKind.AT_RISK),
    make_alert(AlertKind.OVERDUE, time_left_seconds=-1),
    make_alert(AlertKind.EMERGENCY, emergency=True, due_at=None, time_left_seconds=None),  # paused
]


# --- a real local HTTP server --------------------------------------------------------------------------


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Hook:
    """What the local webhook receiver got, and how it answers next."""

    url: str
    received: list[Received] = field(default_factory=list)
    status: int = 200
    slow: bool = False  # hold the answer until the test ends
    release: threading.Event = field(default_factory=threading.Event)
    headers: dict[str, str] = field(default_factory=dict)


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    """Loopback only: a proxy from the environment must not intercept the test server."""
    for name in ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def hook() -> Iterator[Hook]:
    state = Hook(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            state.received.append(Received("POST", self.path, dict(self.headers.items()), body))
            if state.slow:
                state.release.wait(timeout=10)
            try:
                self.send_response(state.status)
                for name, value in state.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", "0")
                self.end_headers()
            except OSError:  # the client gave up waiting
                self.close_connection = True

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the base class's name
            pass

    class Server(ThreadingHTTPServer):
        daemon_threads = False  # server_close() waits for every handler: nothing outlives the test

    server = Server(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/T0K3N-in-path?team=legal"
    try:
        yield state
    finally:
        state.release.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


# --- the contract: every implementation and the test double ---------------------------------------------


class FailingNotifier:
    def notify(self, alert: Alert) -> None:
        raise NotifierError(f"cannot deliver {alert.kind.value}")


Factory = Callable[[Hook], Notifier]

WORKING: dict[str, Factory] = {
    "log": lambda _hook: LogNotifier(),
    "webhook": lambda hook: WebhookNotifier(hook.url, secret=SECRET),
    "fanout": lambda hook: FanoutNotifier(LogNotifier(), WebhookNotifier(hook.url)),
    "settings": lambda hook: notifier_from_settings(hook.url, SECRET),
    "recording double": lambda _hook: RecordingNotifier(),
}


def _down_webhook(hook: Hook) -> Notifier:
    hook.status = 503
    return WebhookNotifier(hook.url)


def _down_double(_hook: Hook) -> Notifier:
    double = RecordingNotifier()
    double.unavailable = True
    return double


FAILING: dict[str, Factory] = {
    "webhook answering 503": _down_webhook,
    "fanout with a failing member": lambda _hook: FanoutNotifier(LogNotifier(), FailingNotifier()),
    "recording double unavailable": _down_double,
}


@pytest.mark.parametrize("make", WORKING.values(), ids=WORKING.keys())
def test_contract_a_working_notifier_delivers_every_kind_of_alert(make: Factory, hook: Hook) -> None:
    notifier = make(hook)

    assert isinstance(notifier, Notifier)
    for alert in ALERTS:
        notifier.notify(alert)  # returns without raising


@pytest.mark.parametrize("make", FAILING.values(), ids=FAILING.keys())
def test_contract_a_notifier_that_cannot_deliver_raises_notifier_error(make: Factory, hook: Hook) -> None:
    notifier = make(hook)

    assert isinstance(notifier, Notifier)
    with pytest.raises(NotifierError):
        notifier.notify(ALERTS[0])


# --- the webhook ---------------------------------------------------------------------------------------


def test_webhook_posts_the_alert_as_json_signed_with_hmac_sha256(hook: Hook) -> None:
    alert = ALERTS[2]

    WebhookNotifier(hook.url, secret=SECRET).notify(alert)

    (got,) = hook.received
    assert got.method == "POST"
    assert got.path == "/hooks/T0K3N-in-path?team=legal"
    assert got.headers["Content-Type"] == "application/json"
    assert json.loads(got.body) == alert.as_dict()
    assert json.loads(got.body)["due_at"] == "2026-11-12T09:00:00+00:00"
    expected = hmac.new(SECRET.encode(), got.body, hashlib.sha256).hexdigest()
    assert got.headers[SIGNATURE_HEADER] == f"sha256={expected}"


def test_an_unsigned_webhook_sends_no_signature(hook: Hook) -> None:
    WebhookNotifier(hook.url).notify(ALERTS[1])

    (got,) = hook.received
    assert SIGNATURE_HEADER not in got.headers
    assert json.loads(got.body)["kind"] == "at_risk"


def test_any_2xx_answer_is_success(hook: Hook) -> None:
    hook.status = 204
    WebhookNotifier(hook.url).notify(ALERTS[1])
    assert len(hook.received) == 1


def test_a_500_raises_notifier_error_without_revealing_the_url_path(hook: Hook) -> None:
    hook.status = 500

    with pytest.raises(NotifierError, match=r"HTTP 500") as caught:
        WebhookNotifier(hook.url, secret=SECRET).notify(ALERTS[0])

    message = str(caught.value)
    assert "TD-2026-7K3M-Q9XF" in message
    assert "127.0.0.1" in message
    assert "T0K3N" not in message
    assert SECRET not in message


def test_a_redirect_is_an_error_not_followed(hook: Hook) -> None:
    hook.status = 302
    hook.headers = {"Location": "/elsewhere"}

    with pytest.raises(NotifierError, match=r"HTTP 302"):
        WebhookNotifier(hook.url).notify(ALERTS[1])
    assert [r.path for r in hook.received] == ["/hooks/T0K3N-in-path?team=legal"]


def test_a_refused_connection_raises_notifier_error() -> None:
    notifier = WebhookNotifier(f"http://127.0.0.1:{closed_port()}/hook", timeout=2)

    with pytest.raises(NotifierError, match=r"webhook http://127\.0\.0\.1:\d+ .* failed"):
        notifier.notify(ALERTS[1])


def test_a_slow_receiver_times_out_as_notifier_error(hook: Hook) -> None:
    hook.slow = True

    with pytest.raises(NotifierError, match="failed"):
        WebhookNotifier(hook.url, timeout=0.05).notify(ALERTS[1])


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.org/hook",
        "file:///etc/passwd",
        "javascript:alert(1)",
        "example.org/hook",
        "http:///no-host",
        "",
    ],
)
def test_only_http_and_https_urls_are_accepted(url: str) -> None:
    with pytest.raises(ValueError, match="http:// or https://"):
        WebhookNotifier(url)


def test_https_urls_are_accepted_and_settings_are_checked() -> None:
    notifier = WebhookNotifier("https://user:pw@hooks.example.org/services/T0K3N", secret=SECRET)
    assert repr(notifier) == "WebhookNotifier(https://hooks.example.org, signed=True)"
    with pytest.raises(ValueError, match="empty"):
        WebhookNotifier("https://hooks.example.org/", secret="")
    with pytest.raises(ValueError, match="timeout"):
        WebhookNotifier("https://hooks.example.org/", timeout=0)


# --- fan-out, log, settings ----------------------------------------------------------------------------


def test_fanout_tries_every_notifier_and_names_every_failure() -> None:
    class Broken:
        def notify(self, alert: Alert) -> None:
            raise RuntimeError("bug in a notifier")

        def __repr__(self) -> str:
            return "Broken()"

    first, middle = RecordingNotifier(), RecordingNotifier()
    first.unavailable = True
    fanout = FanoutNotifier(first, middle, Broken())

    with pytest.raises(NotifierError) as caught:
        fanout.notify(ALERTS[0])

    assert middle.alerts == [ALERTS[0]]
    assert first.failed == [ALERTS[0]]
    message = str(caught.value)
    assert message.startswith("2 of 3 notifiers failed")
    assert "the recording notifier refuses TD-2026-7K3M-Q9XF" in message
    assert "Broken(): bug in a notifier" in message


def test_fanout_needs_a_notifier() -> None:
    with pytest.raises(ValueError, match="at least one"):
        FanoutNotifier()


def test_log_notifier_warns_and_errs_when_overdue(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="trustdesk.alerts")
    notifier = LogNotifier()

    for alert in ALERTS:
        notifier.notify(alert)

    records = [r for r in caplog.records if r.name == "trustdesk.alerts"]
    assert [r.levelno for r in records] == [logging.WARNING, logging.WARNING, logging.ERROR, logging.WARNING]
    messages = [r.getMessage() for r in records]
    assert messages[0] == (
        "deadline alert emergency: TD-2026-7K3M-Q9XF EU_EPOC (emergency): "
        "due 2026-11-02T17:00:00+00:00, 28800 s left"
    )
    assert messages[2].endswith("overdue by 1 s")
    assert messages[3].endswith("clock paused")


def test_notifier_from_settings_logs_always_and_adds_the_webhook_when_set() -> None:
    assert isinstance(notifier_from_settings(None, None), LogNotifier)
    assert isinstance(notifier_from_settings("", SECRET), LogNotifier)

    both = notifier_from_settings("https://hooks.example.org/x", SECRET)
    assert isinstance(both, FanoutNotifier)
    log, webhook = both.notifiers
    assert isinstance(log, LogNotifier)
    assert isinstance(webhook, WebhookNotifier)
    assert repr(webhook) == "WebhookNotifier(https://hooks.example.org, signed=True)"
    unsigned = notifier_from_settings("https://hooks.example.org/x", "")
    assert isinstance(unsigned, FanoutNotifier)
    assert repr(unsigned.notifiers[1]).endswith("signed=False)")

    with pytest.raises(ValueError, match="http"):
        notifier_from_settings("ftp://hooks.example.org/x", None)
