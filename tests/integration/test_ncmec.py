"""CyberTipline reports (18 U.S.C. § 2258A) sent through the client: from a hash match and from a
reviewer's decision, resumed after a transient failure, failed for good with the reason; SQLite and PG."""

import json
import random
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import cast

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.clitools import cli, cli_env
from tests.safety_world import import_hashes, make_bank
from trustdesk.app import Container, build_container
from trustdesk.audit.vocabulary import Actor
from trustdesk.clock import FrozenClock
from trustdesk.config import Settings
from trustdesk.db import unit_of_work
from trustdesk.errors import Conflict
from trustdesk.platform.reference.connector import ReferencePlatform
from trustdesk.safety import cases, ncmec, notices
from trustdesk.safety.cybertipline_clients import InMemoryCyberTiplineClient
from trustdesk.safety.ingest import to_item
from trustdesk.safety.models import NcmecReport
from trustdesk.safety.restrictions import DecisionGround, Restriction
from trustdesk.safety.vocabulary import BankAction, DsaCategory, DsaKeyword
from trustdesk.staff import service as staff
from trustdesk.staff.models import StaffUser

IMAGE = (
    Path(__file__).resolve().parents[3]
    / "shared"
    / "testdata"
    / "pdq"
    / "images"
    / "bridge-mods"
    / "aaa-orig.jpg"
)
REPORTER = ncmec.ReporterDetails(platform="Reference platform", email="tns@platform.example", name="Tess Ng")


def post_image(container: Container, clock: FrozenClock) -> tuple[str, str]:
    """An image really posted in a group: (author, locator)."""
    platform = cast(ReferencePlatform, container.connector)
    author = platform.add_user(
        username=f"u{random.randrange(10**9)}", registered_at=clock.now - timedelta(days=9)
    )
    reader = platform.add_user(
        username=f"r{random.randrange(10**9)}", registered_at=clock.now - timedelta(days=9)
    )
    chat = platform.create_chat("group", [author, reader], created_at=clock.now - timedelta(days=5))
    locator = platform.post_message(
        chat, author, media=IMAGE.read_bytes(), sent_at=clock.now - timedelta(hours=1)
    )
    return author, locator


def send(container: Container, client: InMemoryCyberTiplineClient) -> list[NcmecReport]:
    with unit_of_work(container.sessions) as session:
        rows = ncmec.send_due(session, container.clock, container.connector, client, REPORTER)
        session.expunge_all()
        return rows


def only_report(sessions: sessionmaker[Session]) -> NcmecReport:
    with sessions() as session:
        row = session.scalars(select(NcmecReport)).one()
        session.expunge(row)
        return row


def hash_match(container: Container, clock: FrozenClock, tmp_path: Path) -> str:
    """The image matched in a ``report_ncmec`` bank by the scanner: removed, and a report queued."""
    author, locator = post_image(container, clock)
    event = next(e for e in container.connector.content_events(limit=1000) if e.locator == locator)
    with container.sessions() as session, session.begin():
        bank = make_bank(
            session, clock, "csam", action=BankAction.REPORT_NCMEC,
            category=DsaCategory.PROTECTION_OF_MINORS, keyword=DsaKeyword.CHILD_SEXUAL_ABUSE_MATERIAL,
        )  # fmt: skip
        import_hashes(session, clock, bank, tmp_path, [event.media_pdq[0][0]])
    container.matcher.refresh()
    result = container.scanner.scan([to_item("reference", event)])
    assert result.ncmec_reports == 1
    return author


def test_a_hash_match_is_reported_with_the_file_never_marked_viewed(
    container: Container, clock: FrozenClock, tmp_path: Path
) -> None:
    author = hash_match(container, clock, tmp_path)
    client = InMemoryCyberTiplineClient()

    (row,) = send(container, client)

    assert row.status == "reported"
    assert client.operations() == ["submit", "upload", "fileinfo", "finish"]
    assert client.calls[1].payload == IMAGE.read_bytes()  # the removed file, from the platform's preservation
    report = ET.fromstring(client.calls[0].payload)
    assert report.findtext("personOrUserReported/espIdentifier") == author
    assert report.findtext("reporter/reportingPerson/email") == "tns@platform.example"
    details = ET.fromstring(client.calls[2].payload)
    assert details.findtext("fileViewedByEsp") == "false"
    assert row.cybertip_id in client.reports
    assert send(container, client) == []  # reported once


def test_a_reviewers_csam_decision_is_reported_as_viewed_once_they_revealed_it(
    container: Container, clock: FrozenClock, sessions: sessionmaker[Session]
) -> None:
    author, locator = post_image(container, clock)
    with unit_of_work(sessions) as session:
        mia = staff.add_user(
            session, clock, Actor.operator(), email="mia@platform.example", roles=["moderator"]
        )
        receipt = notices.submit_notice(
            session, clock, container.connector,
            notices.NoticeIn(location=locator, reason="A child is abused in this picture.",
                             category=DsaCategory.PROTECTION_OF_MINORS,
                             keyword=DsaKeyword.CHILD_SEXUAL_ABUSE_MATERIAL, good_faith=True),
        )  # fmt: skip
        user = session.get_one(StaffUser, mia.user.id)
        cases.claim(session, clock, user, receipt.case.id)
        cases.record_exposure(session, clock, user, receipt.case)
        cases.decide(
            session, clock, user, receipt.case.id,
            cases.DecisionIn(
                restrictions=frozenset({Restriction.REMOVE}), explanation="Sexual abuse of a child.",
                ground=DecisionGround.ILLEGAL_CONTENT, legal_ground="Directive 2011/93/EU Art. 5",
                category=DsaCategory.PROTECTION_OF_MINORS, keyword=DsaKeyword.CHILD_SEXUAL_ABUSE_MATERIAL,
            ),
        )  # fmt: skip
    row = only_report(sessions)
    assert (row.status, row.file_viewed, row.account_id) == ("queued", True, author)
    client = InMemoryCyberTiplineClient()

    send(container, client)

    assert only_report(sessions).status == "reported"
    assert ET.fromstring(client.calls[2].payload).findtext("fileViewedByEsp") == "true"


def test_a_transient_failure_resumes_the_open_report_without_submitting_it_again(
    container: Container, clock: FrozenClock, tmp_path: Path, sessions: sessionmaker[Session]
) -> None:
    hash_match(container, clock, tmp_path)
    client = InMemoryCyberTiplineClient()
    client.fail_next(operation="upload")

    send(container, client)
    row = only_report(sessions)
    assert (row.status, row.attempts) == ("open", 1)
    assert row.cybertip_id is not None
    assert "transient" in (row.last_error or "")
    assert send(container, client) == []  # not due before its back-off
    clock.advance(timedelta(minutes=1))

    send(container, client)

    assert client.operations() == ["submit", "upload", "upload", "fileinfo", "finish"]
    assert only_report(sessions).status == "reported"


def test_content_the_platform_no_longer_holds_fails_for_good_and_is_retried_on_request(
    container: Container, clock: FrozenClock, tmp_path: Path, sessions: sessionmaker[Session]
) -> None:
    hash_match(container, clock, tmp_path)
    with sessions() as session, session.begin():
        session.scalars(select(NcmecReport)).one().locator = "ref://chat/999/message/999"
    client = InMemoryCyberTiplineClient()

    send(container, client)

    row = only_report(sessions)
    assert row.status == "failed"
    assert client.operations() == []  # nothing was sent
    with unit_of_work(sessions) as session:
        assert ncmec.retry(session, clock, Actor.operator(), row.id).status == "queued"
    with unit_of_work(sessions) as session, pytest.raises(Conflict, match="only a failed report"):
        ncmec.retry(session, clock, Actor.operator(), row.id)  # queued already: refused
    assert only_report(sessions).status == "queued"


def test_ncmec_refusing_the_record_fails_it_with_ncmecs_reason(
    container: Container, clock: FrozenClock, tmp_path: Path, sessions: sessionmaker[Session]
) -> None:
    hash_match(container, clock, tmp_path)
    client = InMemoryCyberTiplineClient()
    refusing = ncmec.ReporterDetails(platform="Reference platform", email="not an address")

    with unit_of_work(sessions) as session:
        ncmec.send_due(session, clock, container.connector, client, refusing)

    row = only_report(sessions)
    assert row.status == "failed"
    assert "reporter.reportingPerson.email" in (row.last_error or "")
    assert client.operations() == []


def test_the_cli_lists_sends_and_retries(database_url: str, tmp_path: Path) -> None:
    env = cli_env(database_url, tmp_path)
    settings = Settings(
        database_url=database_url,
        reference_platform_url=env["TRUSTDESK_REFERENCE_PLATFORM_URL"],
        signing_key_path=tmp_path / "signing.pem",
        index_dir=tmp_path / "index",
    )
    real = FrozenClock(datetime.now(UTC))
    container = build_container(settings, clock=real)
    try:
        hash_match(container, real, tmp_path)
    finally:
        container.engine.dispose()
    (listed,) = json.loads(cli(env, "ncmec", "list", "--json").stdout)
    assert (listed["status"], listed["found_by"], listed["file_viewed"]) == ("queued", "hash match", False)
    assert "--status must be one of" in cli(env, "ncmec", "list", "--status", "nonsense", expect=2).stderr
    assert "reported" in cli(env, "ncmec", "send").stdout
    (reported,) = json.loads(cli(env, "ncmec", "list", "--status", "reported", "--json").stdout)
    assert reported["cybertip_id"]
    assert "only a failed report" in cli(env, "ncmec", "retry", listed["id"], expect=2).stderr
    assert "no CyberTipline report" in cli(env, "ncmec", "retry", "nope", expect=2).stderr
