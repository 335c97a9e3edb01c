"""The words of the desk's mail (``intake.mail_texts``): tracking numbers in square brackets in the subject,
times in UTC, and nothing of the file in a question or an answer: only the portal's link."""

import inspect
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone

import pytest

from trustdesk.intake import mail_texts
from trustdesk.oncall.paging import PageMessage

TRACKING = "TD-2026-7K3M-Q9XF"
OTHER = "TD-2027-ABCD-EFGH"
PORTAL = "https://trustdesk.example"
CONSOLE = "https://desk.internal.example"
RECEIVED = datetime(2026, 11, 2, 9, 0, 5, tzinfo=UTC)
LINKS = re.compile(r"https?://\S+")


def page_message(**overrides: object) -> PageMessage:
    values: dict[str, object] = {
        "page_id": "p-1",
        "request_id": "r-1",
        "tracking_number": TRACKING,
        "instrument": "EU_EPOC",
        "level": 0,
        "to_email": "lawyer@platform.example",
        "to_name": "Rui Lawyer",
        "received_at": RECEIVED,
        "due_at": RECEIVED + timedelta(hours=8),
    }
    return PageMessage(**(values | overrides))  # type: ignore[arg-type]


# --- acknowledgement and how to reach us ---------------------------------------------------------------


def test_the_acknowledgement_states_the_receipt_the_deadline_and_where_to_follow_it() -> None:
    due = RECEIVED + timedelta(days=10)
    subject, body = mail_texts.acknowledgement(
        TRACKING, RECEIVED, instrument_title="European Production Order", due_at=due, portal_url=PORTAL
    )
    assert subject == f"[{TRACKING}] Received: your request"
    assert f"Tracking number: {TRACKING}" in body
    assert "Received at:     2026-11-02 09:00:05 UTC" in body
    assert "Instrument:      European Production Order" in body
    assert "must be answered by 2026-11-12 09:00:05 UTC" in body
    assert "A legal reviewer checks the order" in body
    assert LINKS.findall(body) == [f"{PORTAL}/portal/requests/{TRACKING}"]
    assert "never sends user data by e-mail" in body


def test_without_a_known_deadline_the_acknowledgement_says_it_counts_from_the_receipt() -> None:
    paris = timezone(timedelta(hours=1))
    _, body = mail_texts.acknowledgement(
        TRACKING,
        datetime(2026, 11, 2, 10, 0, tzinfo=paris),
        instrument_title=None,
        due_at=None,
        portal_url=PORTAL,
    )
    assert "Received at:     2026-11-02 09:00:00 UTC" in body  # shown in UTC, whatever zone it came in
    assert "the deadline of the instrument counts from the time of receipt above" in body
    assert "must be answered" not in body
    assert "Instrument:" not in body


def test_a_naive_time_is_refused() -> None:
    naive = datetime(2026, 11, 2, 9, 0)  # noqa: DTZ001 - the naive time refused
    with pytest.raises(ValueError, match="naive"):
        mail_texts.acknowledgement(TRACKING, naive, instrument_title=None, due_at=None, portal_url=PORTAL)


def test_how_to_reach_us_lists_the_channels_and_how_to_register_without_a_tracking_number() -> None:
    channels = [("E-mail", "lawful@trustdesk.example"), ("Post", "Legal desk, 1 rue de la Paix, Paris")]
    subject, body = mail_texts.how_to_reach_us(RECEIVED, channels=channels, portal_url=PORTAL)
    assert "TD-" not in subject + body
    assert "[" not in subject
    assert "received your message at 2026-11-02 09:00:05 UTC, and it is kept" in body
    assert "not been taken up as a request" in body
    assert "  - E-mail: lawful@trustdesk.example\n" in body
    assert "  - Post: Legal desk, 1 rue de la Paix, Paris\n" in body
    assert "How an authority registers" in body
    assert set(LINKS.findall(body)) == {f"{PORTAL}/contact", f"{PORTAL}/portal"}


# --- questions and answers: the portal's link, nothing of the file ---------------------------------------


TEXTS = [
    (mail_texts.question_waiting, "A question about your request"),
    (mail_texts.answer_ready, "Answer ready: your request"),
]


@pytest.mark.parametrize(("text", "title"), TEXTS)
def test_a_question_or_an_answer_mail_carries_the_portal_link_and_nothing_else_of_the_file(
    text: Callable[..., tuple[str, str]], title: str
) -> None:
    # Only the tracking number and the portal go in: no parameter could carry the question, the answer or
    # the data produced.
    assert list(inspect.signature(text).parameters) == ["tracking_number", "portal_url"]
    subject, body = text(TRACKING, portal_url=PORTAL)
    assert subject == f"[{TRACKING}] {title}"
    link = f"{PORTAL}/portal/requests/{TRACKING}"
    assert LINKS.findall(body) == [link]
    # Apart from the tracking number and the link, the words are the same for every request.
    _, other = text(OTHER, portal_url="https://other.example")
    generic = body.replace(link, "LINK").replace(TRACKING, "TN")
    assert generic == other.replace(f"https://other.example/portal/requests/{OTHER}", "LINK").replace(
        OTHER, "TN"
    )
    assert "never sends user data by e-mail" in body


def test_the_question_mail_says_the_question_is_only_in_the_portal() -> None:
    _, body = mail_texts.question_waiting(TRACKING, portal_url=PORTAL)
    assert "The question is not in this e-mail" in body
    assert f"keeping [{TRACKING}] in the subject" in body


def test_the_answer_mail_says_the_data_is_only_in_the_encrypted_download() -> None:
    _, body = mail_texts.answer_ready(TRACKING, portal_url=PORTAL)
    assert "as a download encrypted to your agency's registered key" in body


# --- on-call pages ---------------------------------------------------------------------------------------


def test_a_page_says_emergency_what_when_and_links_to_the_console() -> None:
    subject, body = mail_texts.page(page_message(), console_url=CONSOLE)
    assert subject == f"[{TRACKING}] EMERGENCY EU_EPOC: page level 0"
    assert body.startswith("EMERGENCY")
    assert f"Tracking number: {TRACKING}" in body
    assert "Instrument:      EU_EPOC" in body
    assert "Received at:     2026-11-02 09:00:05 UTC" in body
    assert "Due at:          2026-11-02 17:00:05 UTC" in body
    assert "Level:           0 (first page)" in body
    assert LINKS.findall(body) == [f"{CONSOLE}/console/requests/{TRACKING}"]
    assert "Acknowledge the page in the console" in body
    assert "Rui Lawyer" not in body
    assert "lawyer@platform.example" not in body


def test_an_escalation_and_the_fallback_say_so() -> None:
    subject, body = mail_texts.page(page_message(level=2, due_at=None), console_url=CONSOLE)
    assert subject.endswith("page level 2")
    assert "Level:           2 (escalation:" in body
    assert "Due at:          not set" in body
    subject, body = mail_texts.page(page_message(level=3, to_email=None, to_name=None), console_url=CONSOLE)
    assert subject == f"[{TRACKING}] EMERGENCY EU_EPOC: fallback page"
    assert "nobody is on call" in body


def test_a_page_about_a_message_in_triage_has_no_tracking_number_and_links_to_the_message() -> None:
    message = page_message(request_id=None, inbound_id="in-1", tracking_number="", instrument="unknown")
    subject, body = mail_texts.page(message, console_url=CONSOLE)
    assert subject == "EMERGENCY message in triage: page level 0"
    assert "in triage, not yet a request" in body
    assert "Tracking number" not in body
    assert LINKS.findall(body) == [f"{CONSOLE}{message.as_dict()['console_path']}"]
    assert "/console/requests/" not in body
