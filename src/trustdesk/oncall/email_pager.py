"""Paging the person on call by e-mail, through the desk's relay.

A page is sent at once, not through the outbox: a page that cannot be delivered must fail now, so that
the rota escalates to the next person (``paging``) instead of waiting on a retry. The text is
``mail_texts.page``: what, when, how urgent and the console link, never personal data.
"""

from trustdesk.clock import Clock, system_clock
from trustdesk.intake import mail_texts
from trustdesk.intake.outbound import MailError, MailSender, build_message, new_message_id
from trustdesk.oncall.paging import PageMessage, PagerError

__all__ = ["EmailPager"]


class EmailPager:
    """A `Pager` that mails each page to the person paged (``message.to_email``), and the fallback page
    (nobody on call, or nobody left) to ``fallback_to``: a team address read around the clock. A relay that
    refuses, or a fallback page with no address, raises `PagerError`."""

    channel = "email"

    def __init__(
        self,
        sender: MailSender,
        *,
        mail_from: str,
        console_url: str,
        fallback_to: str | None,
        clock: Clock = system_clock,
    ) -> None:
        new_message_id(mail_from)  # a From: without a domain is refused now, not at 3 a.m.
        self.sender, self.mail_from, self.console_url = sender, mail_from, console_url
        self.fallback_to, self.clock = fallback_to, clock

    def __repr__(self) -> str:
        return f"EmailPager(fallback={self.fallback_to or 'none'})"

    def send(self, message: PageMessage) -> None:
        to = message.to_email if message.to_email is not None else self.fallback_to
        if to is None:
            raise PagerError("the fallback page has no e-mail address to go to")
        subject, body = mail_texts.page(message, console_url=self.console_url)
        mail = build_message(
            mail_from=self.mail_from,
            to=to,
            subject=subject,
            body=body,
            message_id=new_message_id(self.mail_from),
            date=self.clock(),
            auto_submitted="auto-generated",
        )
        try:
            self.sender.send(mail)
        except MailError as exc:
            raise PagerError(f"page {message.page_id} by e-mail: {exc}") from None
