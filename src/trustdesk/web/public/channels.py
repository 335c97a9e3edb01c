"""The channel directory on the public pages: how to send a request (``/contact#how-to-send``, and on each
jurisdiction's page) and the emergency line (``#emergency``).

Every address shown comes from ``Container.channels`` (``trustdesk.intake.channels``), the same directory
the SMTP listener accepts mail for, so what the platform publishes cannot drift from where it listens. The
words for each purpose live here; ``public/_channels.html`` only lays them out.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from trustdesk.intake.channels import Directory, EmailPurpose, language_name

__all__ = ["ChannelsView", "EmailView", "EmergencyView", "PostalView", "channels_view"]

PURPOSE_LABELS: Final[Mapping[EmailPurpose, str]] = {
    EmailPurpose.REQUESTS: "Requests",
    EmailPurpose.EMERGENCY: "Emergencies only",
}


@dataclass(frozen=True)
class EmailView:
    address: str
    purpose: str
    purpose_label: str
    languages: tuple[str, ...]
    """The names of the languages in which mail is read there."""
    description: str


@dataclass(frozen=True)
class PostalView:
    name: str
    lines: tuple[str, ...]
    country: str
    """The country's name."""
    fax: str | None
    fax_tel: str | None
    """The fax number as a ``tel:`` URI wants it (no spaces)."""
    description: str


@dataclass(frozen=True)
class EmergencyView:
    phone: str
    tel: str
    email: str
    description: str


@dataclass(frozen=True)
class ChannelsView:
    """Every channel of the directory, worded for an officer."""

    portal: str
    api: str
    submit: str
    """Where the API takes a request: ``/api/v1/requests``."""
    docs: str
    emails: tuple[EmailView, ...]
    postal: PostalView
    emergency: EmergencyView


def tel(phone: str) -> str:
    """``+32 2 555 01 99`` as a ``tel:`` link's number: ``+3225550199``."""
    return phone.replace(" ", "")


def channels_view(directory: Directory) -> ChannelsView:
    postal, emergency = directory.postal, directory.emergency
    return ChannelsView(
        portal=directory.portal.path,
        api=directory.api.path,
        submit=directory.api.submit,
        docs=directory.api.docs,
        emails=tuple(
            EmailView(
                address=entry.address,
                purpose=entry.purpose.value,
                purpose_label=PURPOSE_LABELS[entry.purpose],
                languages=tuple(language_name(code) for code in entry.languages),
                description=entry.description,
            )
            for entry in directory.email
        ),
        postal=PostalView(
            name=postal.name,
            lines=tuple(postal.lines),
            country=postal.country_name,
            fax=postal.fax,
            fax_tel=tel(postal.fax) if postal.fax else None,
            description=postal.description,
        ),
        emergency=EmergencyView(
            phone=emergency.phone,
            tel=tel(emergency.phone),
            email=emergency.email,
            description=emergency.description,
        ),
    )
