"""The public transparency page and its JSON API, on SQLite and PostgreSQL: a published report is shown with
the figures of its signed document, a draft is invisible and its files 404, downloads are the stored bytes
and verify, the charts are valid SVG naming the countries, and the receipt form tells a genuine receipt
from a forged one without changing anything."""

import json
import re
import xml.etree.ElementTree as ET
from datetime import timedelta
from html import escape
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from tests.factories import bearer, epoc
from tests.lawful_world import World, build_world
from trustdesk.app import Container
from trustdesk.clock import FrozenClock
from trustdesk.config import SmallCountRule
from trustdesk.db import unit_of_work
from trustdesk.transparency import charts, reports
from trustdesk.transparency.metrics import parse_scope
from trustdesk.transparency.models import Report, TlogEntry, TlogHead
from trustdesk.transparency.periods import parse_period
from trustdesk.transparency.protection import Protection
from trustdesk.transparency.tlog import service as tlog

SVG = re.compile(r"<svg\b.*?</svg>", re.DOTALL)
SVG_NS = "{http://www.w3.org/2000/svg}"


@pytest.fixture
def world(
    client: TestClient, container: Container, sessions: sessionmaker[Session], clock: FrozenClock
) -> World:
    return build_world(client, container, sessions, clock)


def sequence(c: Container) -> None:
    with unit_of_work(c.sessions) as session:
        tlog.sequence(session, c.clock, c.signer, origin="testserver.example/tlog")


def build(c: Container, period: str, scope: str = "global", *, publish: bool = True, **kw: Any) -> Report:
    with unit_of_work(c.sessions) as session:
        built = reports.build(
            session, c.clock, c.signer, c.catalogue, parse_period(period), parse_scope(scope),
            provider="Demo messenger", protection=kw.pop("protection", Protection()), **kw,
        )  # fmt: skip
        if publish:
            reports.publish(session, c.clock, parse_period(period), parse_scope(scope))
        return built.report


def submit_three(world: World) -> list[str]:
    """Two French EPOCs and a German one, received in 2026-Q4."""
    de = {"name": "Bundeskriminalamt", "kind": "police", "country": "DE"}
    numbers = [world.submit(epoc(reference=f"FR-{n}"), document=False) for n in range(2)]
    world.clock.advance(timedelta(minutes=1))
    numbers.append(
        world.submit(epoc(issuing_authority=de, reference="DE-1"), key=world.de_key, document=False)
    )
    return numbers


def row(name: str, *cells: object) -> str:
    """A table row of the page as the template writes it."""
    return f'<th scope="row">{escape(name)}</th><td>' + "</td><td>".join(escape(str(c)) for c in cells)


def lawful_of(report: Report) -> dict[str, Any]:
    lawful: dict[str, Any] = json.loads(report.document)["metrics"]["lawful"]
    return lawful


def test_nothing_published_says_so_plainly(world: World) -> None:
    client = world.client
    page = client.get("/transparency")
    assert page.status_code == 200
    assert "No transparency report has been published yet" in page.text
    assert client.get("/api/v1/transparency/reports").json() == []

    submit_three(world)
    draft = build(world.container, "2026-H2", publish=False)
    page = client.get("/transparency")
    assert "No transparency report has been published yet" in page.text
    assert draft.sha256 not in page.text
    for name in (reports.DOCUMENT, reports.SIGNATURE, "government_requests_by_country.csv"):
        assert client.get(f"/transparency/reports/{draft.id}/{name}").status_code == 404
    answer = client.get(f"/api/v1/transparency/reports/{draft.id}")
    assert answer.status_code == 404
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["code"] == "report_not_found"
    assert client.get("/api/v1/transparency/reports").json() == []


def test_the_page_shows_the_published_report_as_its_document(world: World, tmp_path: Path) -> None:
    c, client = world.container, world.client
    submit_three(world)
    sequence(c)
    quarter = build(c, "2026-Q4")
    half = build(c, "2026-H2")
    draft = build(c, "2026-H2", publish=False)  # version 2, not published: never shown
    assert (half.version, draft.version) == (1, 2)

    page = client.get("/transparency", params={"period": "2026-H2"})
    assert page.status_code == 200, page.text
    text = page.text
    assert half.sha256 in text
    assert half.signature in text
    assert half.key_id in text
    assert draft.sha256 not in text
    assert draft.id not in text
    lawful = lawful_of(half)
    assert (lawful["by_country"]["FR"]["received"], lawful["by_country"]["DE"]["received"]) == (2, 1)
    for code, name in (("FR", "France"), ("DE", "Germany")):
        figures = lawful["by_country"][code]
        cells = [figures[k] for k in ("received", "complied", "partial", "refused", "withdrawn", "fulfilled")]
        assert row(f"{name} ({code})", *cells) in text
    for label, key in (("Complied", "complied"), ("Refused", "refused"), ("Withdrawn", "withdrawn")):
        assert row(label, lawful[key]) in text
    with c.sessions() as session:
        head = tlog.latest_head(session)
        assert head is not None
        assert escape(head.checkpoint) in text  # the current signed tree head, as text
    assert "trustdesk report verify" in text
    assert "trustdesk tlog verify" in text

    # the default: the latest period's global report; a quarter's trend spans the published quarters
    default = client.get("/transparency")
    assert quarter.sha256 in default.text
    assert row("2026-Q4", lawful_of(quarter)["received"], 0, 0, 0) in default.text
    # a selection of what does not exist, and a selection that is no period
    missing = client.get("/transparency", params={"period": "2025-Q1"})
    assert missing.status_code == 404
    assert "No report is published for 2025-Q1" in missing.text
    assert client.get("/transparency", params={"period": "2026-Q9"}).status_code == 422
    assert client.get("/transparency", params={"scope": "XX"}).status_code == 422


def test_downloads_are_the_stored_bytes_and_verify(world: World, tmp_path: Path) -> None:
    c, client = world.container, world.client
    submit_three(world)
    sequence(c)
    report = build(c, "2026-H2")
    listing = client.get("/api/v1/transparency/reports").json()
    assert [r["id"] for r in listing] == [report.id]
    links = listing[0]["links"]["files"]
    with c.sessions() as session:
        document, signature, files = reports.bundle_of(session, session.get(Report, report.id))
    assert set(links) == {reports.DOCUMENT, reports.SIGNATURE, reports.SIGNATURE_JSON, *files}

    folder = tmp_path / "downloaded"
    folder.mkdir()
    for name, url in links.items():
        response = client.get(url)
        assert response.status_code == 200, (name, response.text)
        assert response.headers["content-disposition"] == f'attachment; filename="{name}"'
        assert response.headers["x-content-type-options"] == "nosniff"
        (folder / name).write_bytes(response.content)
        if name.endswith(".csv"):
            assert response.content == files[name]
            assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert (folder / reports.DOCUMENT).read_bytes() == document
    assert (folder / reports.SIGNATURE).read_bytes() == signature
    assert client.get(links[reports.DOCUMENT]).headers["content-type"] == "application/json"
    assert client.get(links[reports.SIGNATURE]).headers["content-type"] == "application/octet-stream"
    key = c.signer.public_key_bytes()
    assert reports.verify(document, signature, key)
    verdict = reports.verify_bundle(folder, key)
    assert verdict.ok, verdict.problems
    assert verdict.checked_files == len(files)

    assert client.get(f"/transparency/reports/{report.id}/nothing.csv").status_code == 404
    assert client.get(f"/transparency/reports/{report.id}/..%2Freport.json").status_code == 404
    assert client.get("/transparency/reports/unknown/report.json").status_code == 404


def test_the_json_api_serves_the_signed_documents(world: World) -> None:
    c, client = world.container, world.client
    submit_three(world)
    half, fr = build(c, "2026-H2"), build(c, "2026-H2", "FR")
    build(c, "2026-Q4", publish=False)
    listing = client.get("/api/v1/transparency/reports").json()
    assert {(r["period"], r["scope"], r["version"]) for r in listing} == {
        ("2026-H2", "global", 1),
        ("2026-H2", "FR", 1),
    }
    only = client.get("/api/v1/transparency/reports", params={"scope": "fr"}).json()
    assert [r["id"] for r in only] == [fr.id]
    assert client.get("/api/v1/transparency/reports", params={"period": "2026-Q4"}).json() == []
    bad = client.get("/api/v1/transparency/reports", params={"period": "soon"})
    assert bad.status_code == 422
    assert bad.json()["field"] == "period"

    detail = client.get(f"/api/v1/transparency/reports/{half.id}")
    assert detail.status_code == 200
    body = detail.json()
    assert body["document"] == half.document
    assert (body["sha256"], body["key_id"], body["signature"]) == (half.sha256, half.key_id, half.signature)
    assert reports.verify(
        body["document"].encode(), bytes.fromhex(body["signature"]), c.signer.public_key_bytes()
    )
    assert body["links"]["page"] == "/transparency?period=2026-H2&scope=global"
    # a country report has no moderation figures, and the page says where they are
    page = client.get(body["links"]["page"].replace("global", "FR"))
    assert page.status_code == 200
    assert "the moderation figures are in the global report" in page.text


def test_the_charts_are_svg_naming_the_countries(world: World) -> None:
    c, client = world.container, world.client
    submit_three(world)
    build(c, "2026-H2")
    text = client.get("/transparency", params={"period": "2026-H2"}).text
    svgs = SVG.findall(text)
    assert len(svgs) == 3  # countries, trend, outcomes; no moderation record: no moderation chart
    names = set()
    for svg in svgs:
        root = ET.fromstring(svg)
        assert root.tag == f"{SVG_NS}svg"
        assert root.get("role") == "img"
        title = root.find(f"{SVG_NS}title")
        assert title is not None
        assert title.text
        names.add(title.get("id"))
        assert 'style="' not in svg
        assert "<style" not in svg
        labels = " ".join(t.text or "" for t in root.iter(f"{SVG_NS}text"))
        if title.get("id") == "chart-countries-title":
            assert "France (FR)" in labels
            assert "Germany (DE)" in labels
    assert names == {f"chart-{n}-title" for n in ("countries", "trend", "outcomes")}
    assert "No moderation action was taken in this period." in text
    ids = re.findall(r'\bid="([^"]+)"', text)
    assert len(ids) == len(set(ids)), "every id of the page is unique"

    bars = [charts.Bar("France (FR)", 2), charts.Bar("Germany (DE)", "<30")]
    once = charts.bar_chart("x", "t", "d", bars, x_label="n")
    assert once == charts.bar_chart("x", "t", "d", bars, x_label="n")  # deterministic


def test_protected_figures_are_shown_as_the_report_publishes_them(world: World) -> None:
    c, client = world.container, world.client
    submit_three(world)
    report = build(c, "2026-H2", protection=Protection(SmallCountRule.SUPPRESS, 30))
    lawful = lawful_of(report)
    assert lawful["by_country"]["FR"]["received"] == "<30"
    text = client.get("/transparency", params={"period": "2026-H2"}).text
    assert row("France (FR)", "<30") in text
    assert row("Refused", lawful["refused"]) in text  # 0 stays 0
    assert "&lt;30" in text
    assert "<30<" not in text


def counts(c: Container) -> tuple[int, int, int]:
    with c.sessions() as session:
        return (
            session.scalar(select(func.count()).select_from(TlogEntry)) or 0,
            session.scalar(select(func.count()).select_from(TlogHead)) or 0,
            session.scalar(select(func.count()).select_from(Report)) or 0,
        )


def test_the_receipt_form_tells_a_genuine_receipt_from_a_forged_one(world: World) -> None:
    c, client = world.container, world.client
    first, *_ = submit_three(world)
    pending = client.get(f"/api/v1/requests/{first}/log-receipt", headers=bearer(world.fr_key)).json()
    answer = client.post("/transparency/receipt", data={"receipt": json.dumps(pending)})
    assert answer.status_code == 422
    assert "Not verified" in answer.text
    assert "check again later" in answer.text

    sequence(c)
    build(c, "2026-H2")
    receipt = client.get(f"/api/v1/requests/{first}/log-receipt", headers=bearer(world.fr_key)).json()
    assert receipt["status"] == "included"
    world.clock.advance(timedelta(minutes=5))
    world.submit(epoc(reference="FR-later"), document=False)
    sequence(c)  # the log grew since the receipt was fetched: checked against the latest head
    before = counts(c)

    genuine = client.post("/transparency/receipt", data={"receipt": json.dumps(receipt), "period": "2026-H2"})
    assert genuine.status_code == 200, genuine.text
    assert f"Verified: request {first}" in genuine.text
    assert "is in the log" in genuine.text
    with c.sessions() as session:
        head = tlog.latest_head(session)
    assert head is not None
    assert head.tree_size > receipt["tree_size"]
    assert f"latest signed head of {head.tree_size} leaves" in genuine.text

    forgeries = {
        "salt": receipt | {"salt": "11" * 32},
        "tracking number": receipt | {"receipt": receipt["receipt"].replace(first, "TD-2026-AAAA-BBBB")},
        "checkpoint": receipt | {"checkpoint": receipt["checkpoint"].replace("\n\n", "\nextra\n\n")},
        "proof": receipt | {"proof": ["00" * 32, *receipt["proof"][1:]]},
    }
    for what, forged in forgeries.items():
        answer = client.post("/transparency/receipt", data={"receipt": json.dumps(forged)})
        assert answer.status_code == 422, what
        assert "Not verified" in answer.text, what

    for bad, message in (
        ("", "paste the JSON"),
        ("{not json", "this is not JSON"),
        ("[1, 2]", "a JSON object"),
        (json.dumps({"leaf": 1}), "a receipt, a salt and a leaf"),
        ("x" * 70_000, "over 65536 bytes"),
    ):
        answer = client.post("/transparency/receipt", data={"receipt": bad})
        assert answer.status_code == 422, bad[:20]
        assert message in answer.text, bad[:20]
    assert client.post("/transparency/receipt", json={}).status_code == 422
    assert counts(c) == before  # a check changes nothing
