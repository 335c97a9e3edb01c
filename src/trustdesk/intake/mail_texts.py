"""The words of the desk's mail, each a ``(subject, body)`` pair of plain text: pure functions of their
inputs (no ORM, no clock), so every text can be read and tested on its own.

Two rules hold for every text. A mail about a request, or about a tracking number given at once, carries
that number in square brackets in its subject (``[TD-2026-7K3M-Q9XF] Received: your request``): a reply
keeps the subject, and the intake matches it to its request by the number. And no mail carries anything of
the file: not the question a reviewer asked (it may name users), not the answer, never user data. The mail
says where to read them: the portal, behind the officer's login, where a production is a download
encrypted to the agency's key.
"""

from collections.abc import Sequence
from datetime import UTC, datetime

from trustdesk.oncall.paging import PageMessage

__all__ = ["acknowledgement", "answer_ready", "how_to_reach_us", "page", "question_waiting"]

_NO_DATA_BY_MAIL = (
    "The desk never sends user data by e-mail: whatever the platform discloses is made available only in "
    "the portal, as a download encrypted to your agency's registered key."
)


def _when(moment: datetime) -> str:
    """``2026-11-02 09:00:00 UTC``: readable, and the same wherever the mail is read."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"naive datetime {moment!r} refused: mail states times in UTC")
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _request_link(portal_url: str, tracking_number: str) -> str:
    return f"{portal_url}/portal/requests/{tracking_number}"


def acknowledgement(
    tracking_number: str,
    received_at: datetime,
    *,
    instrument_title: str | None,
    due_at: datetime | None,
    portal_url: str,
) -> tuple[str, str]:
    """The receipt sent at once to a registered authority: when the desk received the request, its tracking
    number, the legal deadline (or that it counts from this receipt), and what happens next."""
    deadline = (
        f"must be answered by {_when(due_at)}"
        if due_at is not None
        else "the deadline of the instrument counts from the time of receipt above"
    )
    lines = [
        "The legal desk has received your request.",
        "",
        f"Tracking number: {tracking_number}",
        f"Received at:     {_when(received_at)}",
        *([f"Instrument:      {instrument_title}"] if instrument_title else []),
        f"Deadline:        {deadline}",
        "",
        (
            "A legal reviewer checks the order, and that it comes from your authority, before anything is "
            "done with it."
        ),
        "",
        f"Follow the request in the authority portal: {_request_link(portal_url, tracking_number)}",
        f"To write to the desk about it, reply to this message keeping [{tracking_number}] in the subject.",
        "",
        _NO_DATA_BY_MAIL,
    ]
    return f"[{tracking_number}] Received: your request", "\n".join(lines) + "\n"


def how_to_reach_us(
    received_at: datetime, *, channels: Sequence[tuple[str, str]], portal_url: str
) -> tuple[str, str]:
    """The reply to a message that is not from a registered authority's verified domain: it is kept, but
    it is not a request; how to reach the desk properly, and how an authority registers."""
    lines = [
        f"The legal desk received your message at {_when(received_at)}, and it is kept.",
        "",
        (
            "It does not come from the verified domain of an authority registered with this desk, so it has "
            "not been taken up as a request."
        ),
        "",
        "How to reach the desk:",
        *(f"  - {label}: {address}" for label, address in channels),
        f"  - the point of contact, with the instruments the desk accepts: {portal_url}/contact",
        "",
        (
            "How an authority registers: write from your authority's official address (an address at a "
            "domain your authority publishes) to one of the addresses above. The desk verifies the authority "
            "through its official directory and a call-back, then opens accounts for its officers in the "
            f"authority portal, where requests are submitted and followed: {portal_url}/portal"
        ),
        "",
        _NO_DATA_BY_MAIL,
    ]
    return "Your message to the legal desk: how to reach us", "\n".join(lines) + "\n"


def question_waiting(tracking_number: str, *, portal_url: str) -> tuple[str, str]:
    """The desk asked a question about a request; the question itself stays in the portal (it may name
    users), so this mail only says where to read and answer it."""
    lines = [
        f"The legal desk has asked a question about your request {tracking_number}.",
        "",
        f"Read and answer it in the authority portal: {_request_link(portal_url, tracking_number)}",
        f"Or reply to this message, keeping [{tracking_number}] in the subject.",
        "",
        "The question is not in this e-mail: it may name the people concerned.",
        "",
        _NO_DATA_BY_MAIL,
    ]
    return f"[{tracking_number}] A question about your request", "\n".join(lines) + "\n"


def not_recorded(
    tracking_number: str, received_at: datetime, *, reason: str, portal_url: str
) -> tuple[str, str]:
    """A message acknowledged at arrival that a legal reviewer decided is not a request: the reviewer's
    reason (written for the sender), and how to send a request the desk can record."""
    lines = [
        (
            f"Your message of {_when(received_at)}, acknowledged under {tracking_number}, has not been "
            "recorded as a request."
        ),
        "",
        f"The legal reviewer's reason: {reason}",
        "",
        (
            f"To send a request the desk can record, use the authority portal ({portal_url}/portal) or reply "
            f"to this message with the signed order attached, keeping [{tracking_number}] in the subject."
        ),
        "",
        _NO_DATA_BY_MAIL,
    ]
    return f"[{tracking_number}] Not recorded as a request", "\n".join(lines) + "\n"


def answer_ready(tracking_number: str, *, portal_url: str) -> tuple[str, str]:
    """An answer to a request is ready; the answer, and any data produced, are only in the portal."""
    lines = [
        f"The legal desk has answered your request {tracking_number}.",
        "",
        f"Read the answer in the authority portal: {_request_link(portal_url, tracking_number)}",
        (
            "Any data produced is there only, as a download encrypted to your agency's registered key and "
            "signed by the platform."
        ),
        "",
        _NO_DATA_BY_MAIL,
    ]
    return f"[{tracking_number}] Answer ready: your request", "\n".join(lines) + "\n"


def _level(message: PageMessage) -> str:
    if message.fallback:
        return f"{message.level} (fallback: nobody is on call, or nobody is left to page)"
    if message.level == 0:
        return "0 (first page)"
    return f"{message.level} (escalation: earlier pages were not acknowledged, or not delivered)"


def page(message: PageMessage, *, console_url: str) -> tuple[str, str]:
    """An on-call page about an emergency: what, when, how urgent, and the console link to acknowledge it.
    No personal data: the targets and the order stay in the console."""
    about = (
        f"Tracking number: {message.tracking_number}"
        if message.tracking_number
        else "Message:         in triage, not yet a request"
    )
    lines = [
        "EMERGENCY: an authority's emergency request needs a lawyer of the desk now.",
        "",
        about,
        f"Instrument:      {message.instrument}",
        f"Received at:     {_when(message.received_at)}",
        f"Due at:          {_when(message.due_at) if message.due_at is not None else 'not set'}",
        f"Level:           {_level(message)}",
        "",
        f"Open it: {console_url}{message.as_dict()['console_path']}",
        "Acknowledge the page in the console, or the next person on call is paged.",
    ]
    what = "fallback page" if message.fallback else f"page level {message.level}"
    if message.tracking_number:
        subject = f"[{message.tracking_number}] EMERGENCY {message.instrument}: {what}"
    else:
        subject = f"EMERGENCY message in triage: {what}"
    return subject, "\n".join(lines) + "\n"
