"""The public transparency page in a real browser: a published report of the demo data with its SVG charts,
a download that verifies, and the receipt form answering an authority's genuine and forged receipts.
The screenshots go to docs/screenshots/ with TRUSTDESK_UPDATE_SCREENSHOTS=1."""

import json
from datetime import UTC, datetime
from pathlib import Path

import httpx2
from cryptography.hazmat.primitives import serialization
from playwright.sync_api import Browser, expect

from tests.e2e.conftest import Live
from trustdesk.transparency import reports

OFFICER = "claire.martin@justice.fr"


def periods_now() -> tuple[str, str]:
    """This quarter and this half-year (the demo's requests are received today)."""
    today = datetime.now(UTC).date()
    return f"{today.year}-Q{(today.month - 1) // 3 + 1}", f"{today.year}-H{(today.month - 1) // 6 + 1}"


def publish(live: Live, period: str, scope: str = "global") -> None:
    out = live.shots.parent / f"bundle-{period}-{scope}"
    live.cli("report", "build", "--period", period, "--scope", scope, "--out", str(out))
    live.cli("report", "publish", "--period", period, "--scope", scope)


def log_receipt(live: Live) -> dict[str, object]:
    """The log receipt of one of Claire Martin's agency's requests, as the API gives it to her."""
    key = live.account(OFFICER)["api_key"]
    for request in json.loads(live.cli("request", "list", "--json")):
        answer = httpx2.get(
            f"{live.url}/api/v1/requests/{request['tracking_number']}/log-receipt",
            headers={"Authorization": f"Bearer {key}"},
            timeout=10,
        )
        if answer.status_code == 200:  # 404: another agency's request
            receipt: dict[str, object] = answer.json()
            assert receipt["status"] == "included", receipt
            return receipt
    raise AssertionError(f"{OFFICER}'s agency has no request in the demo data")


def test_the_transparency_page_with_its_charts_downloads_and_receipt_check(
    browser: Browser, live: Live, tmp_path: Path
) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    page.goto(f"{live.url}/transparency")
    if httpx2.get(f"{live.url}/api/v1/transparency/reports", timeout=10).json() == []:
        expect(page.locator("body")).to_contain_text("No transparency report has been published yet")

    live.cli("tlog", "sequence")
    quarter, half = periods_now()
    publish(live, half)
    publish(live, quarter)
    publish(live, quarter, "FR")

    page.goto(f"{live.url}/transparency?period={half}&scope=global")
    expect(page.get_by_role("heading", name="Requests per country")).to_be_visible()
    for chart in ("chart-countries", "chart-outcomes", "chart-trend", "chart-moderation"):
        svg = page.locator(f"svg[aria-labelledby^='{chart}-title']")
        expect(svg).to_be_visible()
        box = svg.bounding_box()
        assert box is not None, chart
        assert (box["width"] > 300, box["height"] > 80) == (True, True), (chart, box)
    live.screenshot(page, "transparency")
    expect(page.locator("svg[aria-labelledby^='chart-countries-title'] text", has_text="(FR)")).to_have_count(
        1
    )
    expect(page.locator("#checkpoint")).to_contain_text("/tlog")

    with page.expect_download() as download_info:
        page.locator("ul.downloads").get_by_role("link", name="report.json", exact=True).click()
    download = download_info.value
    assert download.suggested_filename == reports.DOCUMENT
    document = Path(download.path()).read_bytes()
    signature = httpx2.get(
        page.locator("ul.downloads a", has_text="report.sig").evaluate("a => a.href"), timeout=10
    )
    pem = httpx2.get(f"{live.url}/contact/signing-key.pem", timeout=10).content
    key = serialization.load_pem_public_key(pem).public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    assert reports.verify(document, signature.content, key)
    assert json.loads(document)["period"] == half

    receipt = log_receipt(live)
    page.fill("#receipt-json", json.dumps(receipt))
    page.get_by_role("button", name="Check the receipt").click()
    expect(page.locator("#receipt-result")).to_contain_text("is in the log")
    live.screenshot(page, "transparency-receipt")

    forged = dict(receipt) | {"salt": "00" * 32}
    page.fill("#receipt-json", json.dumps(forged))
    page.get_by_role("button", name="Check the receipt").click()
    expect(page.locator("#receipt-result")).to_contain_text("Not verified")
    page.fill("#receipt-json", "not a receipt")
    page.get_by_role("button", name="Check the receipt").click()
    expect(page.locator("#receipt-error")).to_contain_text("not JSON")
    page.close()
