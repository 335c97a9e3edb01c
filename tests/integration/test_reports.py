"""Signed transparency reports, on SQLite and PostgreSQL: the figures agree with the records (counted here
independently of the report code, from the ORM rows), the CSV files follow the templates' layout, the
signature verifies, tampering is found, versions are kept, small counts are protected everywhere."""

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from tests.databases import TemplateDatabase
from tests.factories import bearer, epoc, officer_key, tco
from tests.lawful_world import SUSPECT_PHONE, World, build_world
from trustdesk import demo
from trustdesk.app import Container, build_container
from trustdesk.audit.models import AuditEvent
from trustdesk.clock import FrozenClock
from trustdesk.config import Environment, Settings, SmallCountRule
from trustdesk.db import unit_of_work
from trustdesk.errors import Conflict
from trustdesk.lawful.models import LawfulRequest, RequestTarget
from trustdesk.safety import demo as safety_demo
from trustdesk.safety import moderation_demo
from trustdesk.safety.models import Appeal, Enforcement, Notice
from trustdesk.safety.workflow import AppealStatus
from trustdesk.transparency import report_cli, reports
from trustdesk.transparency.metrics import parse_scope
from trustdesk.transparency.models import Report, ReportFile
from trustdesk.transparency.periods import parse_period
from trustdesk.transparency.protection import Protection
from trustdesk.vocabulary import IssuerKind

H2 = parse_period("2026-H2")  # the frozen clock is 2026-11-02
GLOBAL = parse_scope("global")
EU_FILES = {
    "1_report_identification.csv", "2_categories_names.csv", "3_member_states_orders.csv", "4_notices.csv",
    "5_own_initiative_illegal.csv", "6_own_initiative_TC.csv", "7_appeals_and_recidivism.csv",
    "8_automated_means.csv", "10_AMAR.csv",
}  # fmt: skip


def table(content: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(content.decode("utf-8"))))


def header(content: bytes) -> list[str]:
    return next(csv.reader(io.StringIO(content.decode("utf-8"))))


@pytest.fixture
def demo_container(
    template: TemplateDatabase, sessions: sessionmaker[Session], clock: FrozenClock, tmp_path: Path
) -> Iterator[Container]:
    """The demo data of `make run` (lawful requests, scanner removals and cases, notices, a decision, an
    appeal) in the test's rolled-back database, on a reference platform of its own."""
    settings = Settings(
        environment=Environment.DEVELOPMENT,
        database_url=template.url,
        reference_platform_url=f"sqlite:///{tmp_path}/platform.db",
        signing_key_path=tmp_path / "signing.pem",
    )
    c = build_container(settings, clock=clock, sessions=sessions)
    with unit_of_work(sessions) as session:
        loaded = demo.load(c, session, users=200, seed=7)
    demo.announce(c, loaded)
    safety_demo.load(c)
    moderation_demo.load(c, "moderator@platform.example")
    yield c
    c.engine.dispose()


def build(c: Container, scope: str = "global", rule: Protection | None = None, **kw: Any) -> reports.Built:
    with unit_of_work(c.sessions) as session:
        return reports.build(
            session, c.clock, c.signer, c.catalogue, H2, parse_scope(scope), provider="Demo messenger",
            protection=rule or Protection(), **kw,
        )  # fmt: skip


def test_a_report_of_the_demo_data_agrees_with_the_records(demo_container: Container) -> None:
    c = demo_container
    built = build(c, amar={"TOTAL": 1000, "FR": 300})
    assert EU_FILES | {"tco_report.csv", "government_requests_by_country.csv"} == set(built.files)

    with c.sessions() as s:  # independent counts, from the rows
        requests = [r for r in s.scalars(select(LawfulRequest)) if H2.contains(r.received_at)]
        targets = {r.id: len(s.scalars(select(RequestTarget).where(RequestTarget.request_id == r.id)).all())
                   for r in requests}  # fmt: skip
        notices = [n for n in s.scalars(select(Notice)) if H2.contains(n.received_at)]
        removed = [e for e in s.scalars(select(Enforcement)) if e.outcome == "removed"]
        appeals = list(s.scalars(select(Appeal)))
    assert len(requests) == 3  # the demo has something to count
    assert notices
    assert removed
    assert appeals

    rows = table(built.files["government_requests_by_country.csv"])
    assert header(built.files["government_requests_by_country.csv"]) == [
        "quarter", "country", "legal_process_type", "requests_received", "requests_fulfilled",
        "accounts_specified", "accounts_affected",
    ]  # fmt: skip
    for country in {r.issuer_country for r in requests}:
        mine = [r for r in requests if r.issuer_country == country]
        (row,) = [x for x in rows if x["country"] == country and x["legal_process_type"] == "all"]
        assert row["quarter"] == "2026-Q4"
        assert int(row["requests_received"]) == len(mine)
        assert int(row["accounts_specified"]) == sum(targets[r.id] for r in mine)
    emergencies = [x for x in rows if x["legal_process_type"] == "emergency"]
    assert sum(int(x["requests_received"]) for x in emergencies) == sum(r.emergency for r in requests)

    total = table(built.files["4_notices.csv"])[0]
    assert (total["category"], total["period"]) == ("TOTAL", "2026-07-01/2026-12-31")
    assert int(total["notices"]) == len(notices)
    assert int(total["of_which_trusted_flaggers"]) == sum(1 for n in notices if n.trusted_flagger_id)
    assert int(total["items_concerned"]) == len({n.locator for n in notices})
    per_category = {x["category"]: int(x["notices"]) for x in table(built.files["4_notices.csv"])[1:]}
    assert per_category == {
        cat: sum(1 for n in notices if n.category == cat) for cat in {n.category for n in notices}
    }

    automated = table(built.files["8_automated_means.csv"])[0]
    assert int(automated["measures_solely_automated"]) == len(removed)
    appeal_total = table(built.files["7_appeals_and_recidivism.csv"])[0]
    assert int(appeal_total["complaints"]) == len(appeals)
    assert int(appeal_total["pending"]) == sum(1 for a in appeals if a.status is AppealStatus.OPEN)

    orders = table(built.files["3_member_states_orders.csv"])
    eu = [r for r in requests if r.issuer_country in {"FR", "DE"}]
    totals = [o for o in orders if o["scope"] == "TOTAL"]
    assert sum(int(o["art9_orders"]) + int(o["art10_orders"]) for o in totals) == len(eu)
    assert {o["category"] for o in orders} <= {
        "STATEMENT_CATEGORY_NOT_SPECIFIED_ORDER", "STATEMENT_CATEGORY_RISK_FOR_PUBLIC_SECURITY"
    }  # fmt: skip
    assert table(built.files["10_AMAR.csv"]) == [
        {"period": "2026-07-01/2026-12-31", "scope": "TOTAL", "average_monthly_active_recipients": "1000"},
        {"period": "2026-07-01/2026-12-31", "scope": "FR", "average_monthly_active_recipients": "300"},
    ]
    identification = table(built.files["1_report_identification.csv"])[0]
    assert (identification["period_start"], identification["period_end"]) == ("2026-07-01", "2026-12-31")

    document = json.loads(built.document)
    assert document["metrics"]["lawful"]["received"] == len(requests)
    assert document["log"] == {"head": None, "receipt_leaves": 0} or document["log"]["head"] is not None
    assert {f["name"]: f["sha256"] for f in document["files"]} == {
        f.name: f.sha256 for f in _files(c, built.report)
    }


def _files(c: Container, report: Report) -> list[ReportFile]:
    with c.sessions() as s:
        return list(s.scalars(select(ReportFile).where(ReportFile.report_id == report.id)))


@pytest.fixture
def world(
    client: TestClient, container: Container, sessions: sessionmaker[Session], clock: FrozenClock
) -> World:
    return build_world(client, container, sessions, clock)


def test_outcomes_of_worked_requests_are_counted_by_country(
    world: World, sessions: sessionmaker[Session]
) -> None:
    ru_key = officer_key(sessions, world.clock, country="RU", kind=IssuerKind.COURT, domain="sudrf.ru")
    refused = world.submit(
        {"instrument": "NATIONAL_COURT_ORDER", "reference": "RU-1", "legal_basis": "Federal law",
         "issuing_authority": {"name": "Moscow City Court", "kind": "court", "country": "RU"},
         "targets": [{"type": "phone", "value": SUSPECT_PHONE}], "data_categories": ["subscriber"],
         "suspect_confirmed": True},
        ru_key,
    )  # fmt: skip
    removal = world.submit(
        tco(targets=[{"type": "content_url", "value": world.message_locator}]), world.de_key
    )
    world.act(world.reviewer, removal, "decide", {"outcome": "comply"})
    world.act(world.reviewer, removal, "execute")
    body = epoc(targets=[{"type": "phone", "value": SUSPECT_PHONE}], suspect_confirmed=True,
                period={"from": "2026-09-01T00:00:00Z", "to": "2026-11-02T00:00:00Z"})  # fmt: skip
    withdrawn = world.submit(body)
    response = world.client.post(
        f"/api/v1/requests/{withdrawn}/withdraw", json={"reason": "Found."}, headers=bearer(world.fr_key)
    )
    assert response.status_code == 200, response.text
    c = world.container
    built = build(c)
    with c.sessions() as s:
        by_tracking = {r.tracking_number: r for r in s.scalars(select(LawfulRequest))}
    assert by_tracking[refused].status.value == "refused"

    lawful = json.loads(built.document)["metrics"]["lawful"]
    assert (lawful["received"], lawful["refused"], lawful["withdrawn"]) == (len(by_tracking), 1, 1)
    assert lawful["by_country"]["RU"]["refused"] == 1
    assert lawful["refused_by_ground"]["jurisdiction_exited"] == 1
    assert lawful["removal_orders"] == {"received": 1, "fulfilled": 1, "items_removed": 1}
    assert lawful["by_country"]["DE"]["complied"] == 1
    assert lawful["tco"]["removal_orders_executed"] == 1
    tco_rows = {r["field"]: r["value"] for r in table(built.files["tco_report.csv"])}
    assert (tco_rows["removal_orders_received"], tco_rows["items_removed_or_disabled"]) == ("1", "1")
    fr_only = build(c, "FR")
    assert set(fr_only.files) == {"tco_report.csv", "government_requests_by_country.csv"}
    fr_rows = table(fr_only.files["government_requests_by_country.csv"])
    assert {r["country"] for r in fr_rows} == {"FR"}
    assert json.loads(fr_only.document)["metrics"]["lawful"]["withdrawn"] == 1


def test_the_signature_verifies_and_any_tampering_is_named(world: World, tmp_path: Path) -> None:
    c = world.container
    built = build(c)
    out = tmp_path / "report"
    reports.write_bundle(out, built.document, bytes.fromhex(built.report.signature), built.report.key_id,
                         built.files)  # fmt: skip
    key = c.signer.public_key_bytes()
    verdict = reports.verify_bundle(out, key)
    assert verdict.ok, verdict.problems
    assert verdict.checked_files == len(built.files)
    assert reports.verify(built.document, bytes.fromhex(built.report.signature), key)

    csv_file = out / "4_notices.csv"
    original = csv_file.read_bytes()
    csv_file.write_bytes(original.replace(b"\r\n", b"\r\n", 1) + b"x,1\r\n")
    assert any(p.startswith("4_notices.csv:") for p in reports.verify_bundle(out, key).problems)
    csv_file.write_bytes(original)

    document = (out / "report.json").read_bytes()
    (out / "report.json").write_bytes(document.replace(b'"version":1', b'"version":2'))
    assert any(p.startswith("report.sig:") for p in reports.verify_bundle(out, key).problems)
    (out / "report.json").write_bytes(document)

    signature = (out / "report.sig").read_bytes()
    (out / "report.sig").write_bytes(bytes([signature[0] ^ 1]) + signature[1:])
    assert not reports.verify_bundle(out, key).ok
    (out / "report.sig").write_bytes(signature)
    assert reports.verify_bundle(out, key).ok

    (out / "extra.csv").write_bytes(b"a\r\n")
    assert reports.verify_bundle(out, key).problems == ["extra.csv: not part of the signed report"]


def test_versions_are_kept_and_a_published_one_is_immutable(world: World) -> None:
    c = world.container
    first, second = build(c), build(c)
    assert (first.report.version, second.report.version) == (1, 2)
    with unit_of_work(c.sessions) as session:
        published = reports.publish(session, c.clock, H2, GLOBAL)
        assert published.version == 2
    with pytest.raises(Conflict), unit_of_work(c.sessions) as session:
        reports.publish(session, c.clock, H2, GLOBAL)
    with pytest.raises(Conflict), unit_of_work(c.sessions) as session:
        session.get_one(Report, second.report.id).document = "{}"
    (file,) = [f for f in _files(c, second.report) if f.name == "4_notices.csv"]
    with pytest.raises(Conflict), unit_of_work(c.sessions) as session:
        session.get_one(ReportFile, (file.report_id, file.name)).content = b"forged"
    with c.sessions() as session:
        versions = session.scalars(select(Report.version).where(Report.period == "2026-H2")).all()
        assert sorted(versions) == [1, 2]
        assert session.get_one(Report, second.report.id).document == second.document.decode()
    third = build(c)
    assert (third.report.version, third.report.published_at) == (3, None)
    with c.sessions() as session:
        recorded = session.scalars(
            select(AuditEvent.action)
            .where(AuditEvent.subject_type == "transparency_report")
            .order_by(AuditEvent.seq)
        ).all()
    assert recorded == ["transparency:report:build"] * 2 + [
        "transparency:report:publish",
        "transparency:report:build",
    ]


@pytest.mark.parametrize(
    ("rule", "shown"),
    [(Protection(SmallCountRule.SUPPRESS, 30), "<30"), (Protection(SmallCountRule.BAND, 250), "0-249")],
)
def test_small_counts_are_protected_in_every_output(world: World, rule: Protection, shown: str) -> None:
    for _ in range(2):
        world.submit(tco(targets=[{"type": "content_url", "value": world.message_locator}]), world.de_key)
    built = build(world.container, rule=rule)
    lawful = json.loads(built.document)["metrics"]["lawful"]
    assert lawful["received"] == shown
    assert lawful["by_country"]["DE"]["received"] == shown
    (de,) = [
        r
        for r in table(built.files["government_requests_by_country.csv"])
        if r["legal_process_type"] == "all"
    ]
    assert de["requests_received"] == shown
    orders = [r for r in table(built.files["3_member_states_orders.csv"]) if r["scope"] == "TOTAL"]
    assert orders
    assert all(r["art9_orders"] == shown for r in orders)
    assert {r["field"]: r["value"] for r in table(built.files["tco_report.csv"])}[
        "removal_orders_received"
    ] == shown
    for name, content in built.files.items():  # no exact small count of 2 anywhere
        for row in table(content):
            assert "2" not in [row.get(k) for k in row if k not in ("period", "quarter", "report_version")], (
                name
            )


def test_the_cli_builds_verifies_publishes_and_lists(database_url: str, tmp_path: Path) -> None:
    app = typer.Typer()
    report_cli.mount(app)
    env = {"TRUSTDESK_DATABASE_URL": database_url, "TRUSTDESK_SIGNING_KEY_PATH": f"{tmp_path}/signing.pem",
           "TRUSTDESK_REFERENCE_PLATFORM_URL": f"sqlite:///{tmp_path}/platform.db"}  # fmt: skip
    runner = CliRunner()

    def run(*args: str, expect: int = 0) -> Any:
        result = runner.invoke(app, list(args), env=env)
        assert result.exit_code == expect, (result.output, result.stderr)
        return result

    out = tmp_path / "out"
    built = json.loads(run("report", "build", "--period", "2026-H2", "--out", str(out), "--json").stdout)
    assert built["version"] == 1
    assert "verified" in run("report", "verify", str(out)).stdout
    (out / "2_categories_names.csv").write_bytes(b"category\r\n")
    assert "2_categories_names.csv" in run("report", "verify", str(out / "report.json"), expect=1).stdout
    run("report", "publish", "--period", "2026-H2")
    run("report", "publish", "--period", "2026-H2", expect=2)
    assert "published" in run("report", "list").stdout
    assert (
        "there is no Q5" in run("report", "build", "--period", "2026-Q5", "--out", str(out), expect=2).stderr
    )
