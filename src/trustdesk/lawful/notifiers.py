"""Where deadline alerts go: the `Notifier` protocol and its implementations (log, webhook, fan-out).

A notifier is called after the monitor's transaction committed, once per alert; it raises `NotifierError`
when it could not deliver. Implementations here: `LogNotifier` (always on), `WebhookNotifier` (an HTTP
POST of the alert as JSON, optionally signed with HMAC-SHA256) and `FanoutNotifier` (several at once).
The test double is ``tests.notifier_doubles.RecordingNotifier``; ``tests/unit/test_notifiers.py`` holds
the contract suite every implementation passes.

This module imports `Alert` from `trustdesk.lawful.monitor`; the monitor refers to `Notifier` only for
type checking, so there is no import cycle.
"""

import hashlib
import hmac
import http.client
import json
import logging
import urllib.error
import urllib.request
from collections.abc import Mapping
from typing import Protocol, runtime_checkable
from urllib.parse import urlsplit

from trustdesk.lawful.monitor import Alert, AlertKind

__all__ = [
    "SIGNATURE_HEADER",
    "FanoutNotifier",
    "LogNotifier",
    "Notifier",
    "NotifierError",
    "SignedWebhook",
    "WebhookNotifier",
    "notifier_from_settings",
    "sign",
]

SIGNATURE_HEADER = "X-Trustdesk-Signature"
ALERT_LOGGER = "trustdesk.alerts"


class NotifierError(Exception):
    """An alert could not be delivered."""


@runtime_checkable
class Notifier(Protocol):
    def notify(self, alert: Alert) -> None:
        """Deliver one alert; raise `NotifierError` when it could not be delivered."""
        ...


def _describe(alert: Alert) -> str:
    left = alert.time_left_seconds
    if alert.due_at is None:
        when = "clock paused"
    elif left is not None and left < 0:
        when = f"due {alert.due_at.isoformat()}, overdue by {-left} s"
    else:
        when = f"due {alert.due_at.isoformat()}, {left} s left"
    emergency = " (emergency)" if alert.emergency else ""
    return f"{alert.tracking_number} {alert.instrument}{emergency}: {when}"


class LogNotifier:
    """One log line per alert on the ``trustdesk.alerts`` logger: ERROR when overdue, else WARNING."""

    def __init__(self, logger: logging.Logger | None = None) -> None:
        self.logger = logger or logging.getLogger(ALERT_LOGGER)

    def notify(self, alert: Alert) -> None:
        level = logging.ERROR if alert.kind is AlertKind.OVERDUE else logging.WARNING
        self.logger.log(level, "deadline alert %s: %s", alert.kind.value, _describe(alert))

    def __repr__(self) -> str:
        return f"LogNotifier({self.logger.name})"


def sign(secret: str, body: bytes) -> str:
    """The value of the signature header: ``sha256=`` and the hex HMAC-SHA256 of ``body`` under ``secret``."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirect is an error: following it would turn the POST into a GET and lose the alert."""

    def redirect_request(self, *_args: object, **_kwargs: object) -> None:
        return None


class SignedWebhook:
    """POSTs JSON bodies to ``url``, the one webhook mechanism of the desk (deadline alerts, on-call pages).

    With a ``secret``, the ``X-Trustdesk-Signature`` header carries ``sha256=<hex HMAC-SHA256 of the
    exact body>``, so the receiver can check the message came from this desk. Any answer but 2xx (a
    redirect included), a timeout or a network error raises `NotifierError`. Error messages name only the
    scheme, host and port of the URL (``target``): webhook paths often embed a token.
    """

    def __init__(self, url: str, *, secret: str | None = None, timeout: float = 5.0, agent: str) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(
                f"a webhook URL must be http:// or https:// with a host, got scheme {parts.scheme!r}"
            )
        if secret is not None and not secret:
            raise ValueError("the webhook secret is empty; pass None for unsigned webhooks")
        if timeout <= 0:
            raise ValueError(f"timeout must be positive, got {timeout}")
        self.url = url
        self.target = f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}"
        self.signed = secret is not None
        self._secret = secret
        self.timeout = timeout
        self._agent = agent
        self._opener = urllib.request.build_opener(_NoRedirect())

    @staticmethod
    def body(payload: Mapping[str, object]) -> bytes:
        return json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()

    def post(self, payload: Mapping[str, object], what: str) -> None:
        """POST ``payload``; ``what`` names it in errors (e.g. "alert overdue on TD-…")."""
        body = self.body(payload)
        headers = {"Content-Type": "application/json", "User-Agent": self._agent}
        if self._secret is not None:
            headers[SIGNATURE_HEADER] = sign(self._secret, body)
        request = urllib.request.Request(self.url, data=body, headers=headers, method="POST")  # noqa: S310 - scheme checked in __init__
        what = f"webhook {self.target} for {what}"
        try:
            with self._opener.open(request, timeout=self.timeout) as response:
                status = response.status
        except urllib.error.HTTPError as exc:
            exc.close()
            raise NotifierError(f"{what} answered HTTP {exc.code} {exc.reason}") from None
        except urllib.error.URLError as exc:
            raise NotifierError(f"{what} failed: {exc.reason}") from None
        except (OSError, http.client.HTTPException) as exc:  # timeouts, resets, malformed answers
            raise NotifierError(f"{what} failed: {type(exc).__name__}: {exc}") from None
        if not 200 <= status < 300:
            raise NotifierError(f"{what} answered HTTP {status}")


class WebhookNotifier:
    """POSTs each alert as JSON (`Alert.as_dict`) to ``url`` through a `SignedWebhook`."""

    def __init__(self, url: str, *, secret: str | None = None, timeout: float = 5.0) -> None:
        self.webhook = SignedWebhook(url, secret=secret, timeout=timeout, agent="trustdesk-deadline-monitor")
        self.url, self.target, self.timeout = url, self.webhook.target, timeout

    def __repr__(self) -> str:
        return f"WebhookNotifier({self.target}, signed={self.webhook.signed})"

    def body(self, alert: Alert) -> bytes:
        return self.webhook.body(alert.as_dict())

    def notify(self, alert: Alert) -> None:
        self.webhook.post(alert.as_dict(), f"alert {alert.kind.value} on {alert.tracking_number}")


class FanoutNotifier:
    """Sends each alert to every notifier; if any fail, raises one `NotifierError` naming them all."""

    def __init__(self, *notifiers: Notifier) -> None:
        if not notifiers:
            raise ValueError("a fan-out needs at least one notifier")
        self.notifiers = notifiers

    def __repr__(self) -> str:
        return f"FanoutNotifier({', '.join(map(repr, self.notifiers))})"

    def notify(self, alert: Alert) -> None:
        failures: list[str] = []
        for notifier in self.notifiers:
            try:
                notifier.notify(alert)
            except Exception as exc:  # noqa: BLE001 - one broken notifier must not silence the others
                failures.append(f"{notifier!r}: {exc}")
        if failures:
            raise NotifierError(
                f"{len(failures)} of {len(self.notifiers)} notifiers failed: {'; '.join(failures)}"
            )


def notifier_from_settings(webhook_url: str | None, webhook_secret: str | None) -> Notifier:
    """The log, plus the webhook when a URL is set. Blank values count as unset (an empty env variable)."""
    log = LogNotifier()
    if not webhook_url:
        return log
    return FanoutNotifier(log, WebhookNotifier(webhook_url, secret=webhook_secret or None))
