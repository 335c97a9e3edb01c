"""Due process in a real browser (DSA Arts 16, 17, 20): a user reports a message on the public page → a
moderator claims the case and sees it behind the wellness controls → removes it → the statement of reasons
reaches the author with its appeal link → the author appeals on the public page → another moderator grants
the appeal → the message is back. Screenshots of each page along the way."""

import json
import re
from datetime import UTC, datetime, timedelta

from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.e2e.conftest import Live, log_in
from trustdesk.clock import system_clock
from trustdesk.platform.protocol import Period
from trustdesk.platform.reference import ReferencePlatform
from trustdesk.vocabulary import DataCategory

MODERATOR = "moderator@platform.example"
LEAD = "lead@platform.example"
TEXT = "They should all be thrown out of the country, every last one of their faith"


def moderator(browser: Browser, live: Live, email: str) -> tuple[BrowserContext, Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    log_in(page, live, "console", email)
    return context, page


def visible(platform: ReferencePlatform, author: str, locator: str) -> bool:
    now = datetime.now(UTC)
    export = platform.export(
        author, [DataCategory.CONTENT], Period(now - timedelta(days=2), now + timedelta(days=1))
    )
    return any(record.fields.get("locator") == locator for record in export.records)


def test_a_report_is_reviewed_removed_stated_appealed_and_reversed_in_the_browser(
    browser: Browser, live: Live
) -> None:
    platform = ReferencePlatform(live.env["TRUSTDESK_REFERENCE_PLATFORM_URL"], clock=system_clock)
    author, reader = "1", "2"
    chat = platform.create_chat("group", [author, reader])
    locator = platform.post_message(chat, author, text=TEXT)

    public = browser.new_page()
    public.goto(f"{live.url}/notice")
    live.screenshot(public, "notice-form")
    public.fill("#location", locator)
    public.select_option("#category", "STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH")
    public.select_option("#keyword", "KEYWORD_HATE_SPEECH")
    public.fill("#reason", "It calls for people of one religion to be expelled from the country.")
    public.fill("#notifier_name", "Jo Doe")
    public.fill("#notifier_email", "jo@example.org")
    public.check("input[name=good_faith]")
    public.get_by_role("button", name="Send the notice").click()
    expect(public.locator("body")).to_contain_text(re.compile(r"NT-\d{4}-[0-9A-Z]{4}-[0-9A-Z]{4}"))
    live.screenshot(public, "notice-received")

    case = next(c for c in json.loads(live.cli("case", "list", "--json")) if c["locator"] == locator)
    mo_context, mo = moderator(browser, live, MODERATOR)
    mo.goto(f"{live.url}/console/moderation")
    expect(mo.locator("body")).to_contain_text("KEYWORD_HATE_SPEECH")
    live.screenshot(mo, "console-moderation-queue")
    mo.goto(f"{live.url}/console/cases/{case['id']}")
    expect(mo.locator("[data-wellness]")).to_be_visible()
    mo.get_by_role("button", name="Claim").click()
    mo.check("input[name=restrictions][value=remove]")
    mo.check("input[name=ground][value=illegal_content]")
    mo.fill("#legal_ground", "Council Framework Decision 2008/913/JHA Art. 1 (public incitement to hatred)")
    mo.select_option("#category", "STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH")
    mo.select_option("#keyword", "KEYWORD_HATE_SPEECH")
    mo.fill("#explanation", "The message incites hatred against people for their religion.")
    live.screenshot(mo, "console-case")
    mo.get_by_role("button", name="Record the decision").click()
    expect(mo.locator("body")).to_contain_text("decided", ignore_case=True)
    assert not visible(platform, author, locator)  # removed for everyone

    statement = platform.notices(author)[-1].text
    assert "Statement of reasons" in statement
    link = re.search(r"https?://\S+/appeal\?key=\S+", statement)
    assert link, statement
    user = browser.new_page()
    user.goto(link.group(0))
    expect(user.locator("body")).to_contain_text("free", ignore_case=True)
    live.screenshot(user, "appeal-form")
    user.fill("#body", "I was quoting a speech in order to report on it, not agreeing with it.")
    user.get_by_role("button", name="Send the appeal").click()
    expect(user.locator("body")).to_contain_text(re.compile(r"AP-\d{4}-[0-9A-Z]{4}-[0-9A-Z]{4}"))

    lead_context, lead = moderator(browser, live, LEAD)
    lead.goto(f"{live.url}/console/appeals")
    row = lead.locator("section", has_text="quoting a speech")
    expect(row).to_have_count(1)
    form = row.locator("form")
    form.locator("input[name=outcome][value=grant]").check()
    form.locator("textarea[name=answer]").fill("The message reports a speech and condemns it.")
    live.screenshot(lead, "console-appeals")
    form.get_by_role("button", name="Decide the appeal").click()
    expect(lead.locator("body")).to_contain_text("granted", ignore_case=True)
    assert visible(platform, author, locator)  # the reversal restored it
    assert "granted" in platform.notices(author)[-1].text
    for context in (mo_context, lead_context):
        context.close()
    platform.close()
