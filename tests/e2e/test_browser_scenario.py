"""The three faces in a real browser: an emergency EPOC from the officer's login to the verified production,
a clarification round trip and a withdrawal; screenshots of the key pages along the way."""

import json
import re
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.e2e.conftest import Live, log_in
from tests.factories import PDF
from trustdesk.lawful.package import open_package
from trustdesk.lawful.package_check import read_records, verify_package

OFFICER = "claire.martin@justice.fr"
REVIEWER = "reviewer@platform.example"
APPROVER = "approver@platform.example"
TRACKING = re.compile(r"TD-\d{4}-[0-9A-Z]{4}-[0-9A-Z]{4}")


def person(browser: Browser, live: Live, face: str, email: str) -> tuple[BrowserContext, Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    page = context.new_page()
    log_in(page, live, face, email)
    return context, page


def target_phone(live: Live) -> str:
    requests = json.loads(live.cli("request", "list", "--json"))
    sample = next(r for r in requests if r["instrument"] == "EU_EPOC")
    shown = json.loads(live.cli("request", "show", sample["tracking_number"], "--json"))
    phone: str = shown["targets"][0]["value"]
    return phone


def submit_epoc(
    page: Page, live: Live, phone: str, document: Path, *, emergency: bool, reference: str
) -> str:
    page.goto(f"{live.url}/portal/requests/new")
    page.select_option("#instrument", "EU_EPOC")
    page.fill("#reference", reference)
    if emergency:
        page.check("#emergency")
        page.fill("#emergency_justification", "A missing 12-year-old; the account was her last contact.")
    page.fill("#issuer_name", "Juge d'instruction, Tribunal judiciaire de Paris")
    page.select_option("#issuer_kind", "investigating_judge")
    page.fill("#legal_basis", "Regulation (EU) 2023/1543, Art. 5; CPP art. 99-3")
    page.fill("#offence_description", "Abduction of a minor")
    page.fill("#offence_max_penalty_years", "20")
    page.check("#suspect_confirmed")
    page.fill("#targets", f"phone:{phone}")
    page.check("#data_categories-subscriber")
    page.check("#data_categories-identification")
    page.set_input_files("#document", str(document))
    page.get_by_role("button", name="Send the request").click()
    page.wait_for_url(re.compile(r".*/portal/requests/TD-.*"))
    match = TRACKING.search(page.url)
    assert match, page.url
    return match.group(0)


def test_an_emergency_epoc_travels_from_the_portal_through_the_console_to_a_verified_production(
    browser: Browser, live: Live, tmp_path: Path
) -> None:
    document = tmp_path / "order.pdf"
    document.write_bytes(PDF)
    phone = target_phone(live)

    public = browser.new_page()
    public.goto(f"{live.url}/contact")
    expect(public.get_by_role("heading", level=1)).to_be_visible()
    live.screenshot(public, "contact")

    officer_context, officer = person(browser, live, "portal", OFFICER)
    tracking = submit_epoc(officer, live, phone, document, emergency=True, reference="PJ-2026-0042")
    expect(officer.locator(".flash")).to_contain_text(f"Acknowledged: tracking number {tracking}")
    expect(officer.locator(".countdown").first).to_contain_text("left")
    live.screenshot(officer, "portal-request")
    officer.goto(f"{live.url}/portal")
    expect(officer.locator("body")).to_contain_text(tracking)
    live.screenshot(officer, "portal-requests")

    reviewer_context, reviewer = person(browser, live, "console", REVIEWER)
    rows = reviewer.locator("table tbody tr").all_inner_texts()
    ours = next(i for i, row in enumerate(rows) if tracking in row)
    removal = next(i for i, row in enumerate(rows) if "EU_TCO_REMOVAL" in row)
    # By time left to the legal deadline: a removal order due within the hour before an 8-hour emergency.
    assert removal < ours, rows
    live.screenshot(reviewer, "console-queue")
    reviewer.get_by_role("link", name=tracking).first.click()
    expect(reviewer.locator("body")).to_contain_text("comply", ignore_case=True)
    live.screenshot(reviewer, "console-request")
    # The reviewer opens the signed order (an audited download) and confirms it before complying.
    with reviewer.expect_download() as opened:
        reviewer.locator("form[action$='/decide'] a[download]").first.click()
    assert opened.value.suggested_filename == "order.pdf"
    reviewer.reload()
    expect(reviewer.locator("form[action$='/decide']").get_by_text("opened by you")).to_be_visible()
    reviewer.check("input[name=outcome][value=comply]")
    reviewer.check("input[name=documents_confirmed]")
    reviewer.get_by_role("button", name="Record the decision").click()
    # Each wait targets what only the action's result shows: its flash and the new status badge.
    expect(reviewer.locator(".flash")).to_have_text("Decision recorded.")
    expect(reviewer.locator("header .badge.awaiting_approval")).to_be_visible()

    approver_context, approver = person(browser, live, "console", APPROVER)
    approver.goto(f"{live.url}/console/requests/{tracking}")
    expect(approver.locator("body")).to_contain_text("This is what the authority will receive")
    expect(approver.locator("body")).to_contain_text(phone)
    live.screenshot(approver, "console-approval")
    approver.get_by_role("button", name="Approve the disclosure").click()
    expect(approver.locator(".flash")).to_have_text("Approved: the disclosure can now be executed.")
    expect(approver.locator("header .badge.approved")).to_be_visible()

    reviewer.goto(f"{live.url}/console/requests/{tracking}")
    reviewer.get_by_role("button", name="Execute").click()
    expect(reviewer.locator(".flash")).to_have_text("Executed through the platform.")
    expect(reviewer.locator("header .badge.executing")).to_be_visible()
    reviewer.get_by_role("button", name="Send the answer").click()
    expect(reviewer.locator(".flash")).to_have_text("Answer sent to the authority.")
    expect(reviewer.locator("header .badge.answered")).to_be_visible()

    officer.goto(f"{live.url}/portal/requests/{tracking}")
    expect(officer.get_by_role("link", name="Download the package")).to_be_visible()
    live.screenshot(officer, "portal-answered")
    with officer.expect_download() as download_info:
        officer.get_by_role("link", name="Download the package").click()
    package = Path(download_info.value.path()).read_bytes()
    identity = Path(live.account(OFFICER)["age_identity_file"]).read_text()
    tar = open_package(package, identity)
    pem = live.cli("public-key")
    key = serialization.load_pem_public_key(pem.encode())
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    report = verify_package(tar, raw)
    assert report.ok, report.problems
    assert phone.encode() in tar
    assert set(read_records(tar)) == {"subscriber", "identification"}

    for context in (officer_context, reviewer_context, approver_context):
        context.close()


def test_a_clarification_round_trip_and_a_withdrawal_in_the_browser(
    browser: Browser, live: Live, tmp_path: Path
) -> None:
    document = tmp_path / "order.pdf"
    document.write_bytes(PDF)
    phone = target_phone(live)
    officer_context, officer = person(browser, live, "portal", OFFICER)
    tracking = submit_epoc(officer, live, phone, document, emergency=False, reference="PJ-2026-0077")

    reviewer_context, reviewer = person(browser, live, "console", REVIEWER)
    reviewer.goto(f"{live.url}/console/requests/{tracking}")
    reviewer.fill("#question", "Please confirm the period: the order mentions two different dates.")
    reviewer.get_by_role("button", name="Send the question").click()
    expect(reviewer.locator(".flash")).to_have_text("Question sent to the authority.")
    expect(reviewer.locator("header .badge.clarification_requested")).to_be_visible()

    officer.goto(f"{live.url}/portal/requests/{tracking}")
    expect(officer.locator("body")).to_contain_text("Please confirm the period")
    live.screenshot(officer, "portal-clarification")
    officer.fill("#body", "The period is 1 to 31 October 2026.")
    officer.get_by_role("button", name="Send the answer").click()
    expect(officer.locator(".flash")).to_have_text("Your answer was sent: the legal team resumes its review.")
    expect(officer.locator(".badge.in_review").first).to_be_visible()

    officer.fill("#reason", "The missing person was found.")
    officer.check("#confirm")
    officer.get_by_role("button", name="Withdraw the request").click()
    expect(officer.locator(".flash")).to_have_text("The request was withdrawn.")
    expect(officer.locator(".badge.withdrawn").first).to_be_visible()
    for context in (officer_context, reviewer_context):
        context.close()


@pytest.mark.parametrize("width", [390])
def test_the_portal_reads_on_a_phone(browser: Browser, live: Live, width: int) -> None:
    context = browser.new_context(viewport={"width": width, "height": 844})
    page = context.new_page()
    log_in(page, live, "portal", OFFICER)
    scroll = page.evaluate("document.documentElement.scrollWidth")
    assert scroll <= width, f"the page scrolls sideways on a phone ({scroll}px)"
    live.screenshot(page, "portal-phone")
    context.close()
