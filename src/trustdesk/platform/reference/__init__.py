"""The reference platform: Trustdesk's built-in demo messenger, a full `PlatformConnector`."""

from trustdesk.platform.reference.connector import (
    Notice,
    ReferencePlatform,
    chat_locator,
    message_locator,
    parse_locator,
)
from trustdesk.platform.reference.generate import GenerationSummary
from trustdesk.platform.reference.pictures import KnownImage, known_demo_images
from trustdesk.platform.reference.retention import RetentionReport

__all__ = [
    "GenerationSummary",
    "KnownImage",
    "Notice",
    "ReferencePlatform",
    "RetentionReport",
    "chat_locator",
    "known_demo_images",
    "message_locator",
    "parse_locator",
]
