"""The scanning worker's handler: a batch of content events from the bus, scanned in one pass.

`trustdesk worker scan` runs it as a member of the ``scanner`` queue group, so any number of workers
share the stream; a batch whose transaction fails is redelivered (the scanner is idempotent), and an
event that cannot be decoded is failed alone and, after the bus's last attempt, dead-lettered.
"""

from collections.abc import Mapping, Sequence

from trustdesk.app import Container
from trustdesk.bus.protocol import BatchHandler, Delivery
from trustdesk.safety.events import ContentItem, EventError

GROUP = "scanner"


def scan_handler(container: Container) -> BatchHandler:
    def handle(batch: Sequence[Delivery]) -> Mapping[int, BaseException] | None:
        items: list[ContentItem] = []
        failed: dict[int, BaseException] = {}
        for index, delivery in enumerate(batch):
            try:
                items.append(ContentItem.from_payload(delivery.payload))
            except EventError as exc:
                failed[index] = exc
        container.scanner.scan(items)
        return failed or None

    return handle
