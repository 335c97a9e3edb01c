"""The test double of the deadline monitor's `Notifier`; it passes the contract suite in test_notifiers.py."""

from trustdesk.lawful.monitor import Alert
from trustdesk.lawful.notifiers import NotifierError


class RecordingNotifier:
    """A `Notifier` that keeps every alert it delivered.

    Set ``unavailable`` to make every `notify` raise `NotifierError`, or put tracking numbers in
    ``fail_for`` to fail only for those requests. Failed alerts are kept in ``failed``, not ``alerts``.
    """

    def __init__(self) -> None:
        self.alerts: list[Alert] = []
        self.failed: list[Alert] = []
        self.unavailable = False
        self.fail_for: set[str] = set()

    def notify(self, alert: Alert) -> None:
        if self.unavailable or alert.tracking_number in self.fail_for:
            self.failed.append(alert)
            raise NotifierError(f"the recording notifier refuses {alert.tracking_number}")
        self.alerts.append(alert)

    def kinds(self) -> list[tuple[str, str]]:
        """``(tracking_number, kind)`` of each delivered alert, in delivery order."""
        return [(a.tracking_number, a.kind.value) for a in self.alerts]
