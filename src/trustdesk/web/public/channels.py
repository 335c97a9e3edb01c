"""The channel directory on the public pages: how to send a request (``/contact#how-to-send``, and on each
jurisdiction's page) and the emergency line (``#emergency``).

Every address shown comes from ``Container.channels`` (``trustdesk.intake.channels``), the same directory
the SMTP listener accepts mail for, so what the platform publishes cannot drift from where it listens. The
words for each purpose live here; ``public/_channels.html`` only lays them out. ``GET /api/v1/channels``
gives the same directory as JSON, with absolute links, for an authority's systems (no login).
"""

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any, Final

from fastapi import APIRouter

from trustdesk.config import public_url
from trustdesk.intake.channels import Directory, EmailPurpose, language_name
from trustdesk.web.deps import ContainerDep

__all__ = ["ChannelsView", "EmailView", "EmergencyView", "PostalView", "channels_view", "router"]

router = APIRouter(prefix="/api/v1", tags=["point of contact"])

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


@router.get(
    "/channels", summary="Every channel on which the platform accepts requests (the channel directory)"
)
def channels(container: ContainerDep) -> dict[str, Any]:
    """The portal, the API, the e-mail addresses (purpose, languages), the legal representative's postal
    address and the emergency line, as ``/contact`` publishes them; links are absolute."""
    base = public_url(container.settings)
    view = asdict(channels_view(container.channels))
    return view | {
        "portal": base + view["portal"],
        "api": base + view["api"],
        "submit": base + view["submit"],
        "docs": base + view["docs"],
        "contact": base + "/contact",
    }
