"""The operator's CLI against real, committed SQLite and PostgreSQL databases."""

import json
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import delete, insert, select, update
from sqlalchemy.engine import Connection
from typer.testing import CliRunner

from tests.integration.conftest import Run
from trustdesk.audit.chain import event_hash
from trustdesk.audit.models import AuditEvent, AuditHead
from trustdesk.db import make_engine
from trustdesk.signing.ed25519 import Ed25519Signer
from trustdesk.signing.protocol import public_key_pem
from trustdesk.vocabulary import IssuerKind


def add_agency(run: Run, domain: str = "justice.fr", **options: str) -> str:
    country, kind = options.get("country", "FR"), options.get("kind", "investigating_judge")
    result = run(
        "authority", "add", "--name", "Tribunal judiciaire de Paris", "--country", country,
        "--kind", kind, "--domain", domain, "--json",
    )  # fmt: skip
    agency_id: str = json.loads(result.stdout)["id"]
    return agency_id


def verify_agency(run: Run, agency_id: str) -> None:
    run(
        "authority", "verify", agency_id, "--number", "+33 1 44 32 50 50",
        "--directory", "annuaire.justice.gouv.fr", "--person", "Greffe, duty clerk",
        "--note", "Confirmed the court, its domain and its officers.",
    )  # fmt: skip


def test_authority_officer_and_user_can_be_added_and_listed(run: Run) -> None:
    agency_id = add_agency(run, "justice.fr")
    officer = json.loads(
        run(
            "officer", "add", "--authority", agency_id, "--name", "Claire Martin",
            "--email", "claire.martin@justice.fr", "--json",
        ).stdout
    )  # fmt: skip
    user = json.loads(
        run("user", "add", "--email", "ana@platform.example", "--role", "legal_reviewer", "--json").stdout
    )

    assert officer["api_key"].startswith("tdk_")
    assert officer["agency_id"] == agency_id
    assert user["roles"] == ["legal_reviewer"]
    assert "password" not in user  # the account chooses it on its one-time enrolment page
    assert user["enrolment_url"].startswith("http://127.0.0.1:8080/enrol/")
    listed = json.loads(run("authority", "list", "--json").stdout)
    assert [(a["id"], a["verified"], a["domains"]) for a in listed] == [(agency_id, False, ["justice.fr"])]
    unrecorded = run("authority", "verify", agency_id, expect=2)  # never without the out-of-band check
    assert "is not a telephone number" in unrecorded.stderr
    verify_agency(run, agency_id)
    assert json.loads(run("authority", "list", "--json").stdout)[0]["verified"] is True
    run("authority", "verify", agency_id, "--revoke", "The court reports its mailbox compromised.")
    assert json.loads(run("authority", "list", "--json").stdout)[0]["verified"] is False


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--country", "XX"], "ISO 3166-1"),
        (["--domain", "not a domain"], "valid e-mail domain"),
    ],
)
def test_bad_authority_input_is_refused_clearly_and_changes_nothing(
    run: Run, args: list[str], message: str
) -> None:
    base = {"--name": "X", "--country": "FR", "--kind": "police", "--domain": "police.fr"}
    base.update(dict(zip(args[::2], args[1::2], strict=True)))
    result = run("authority", "add", *[x for pair in base.items() for x in pair], expect=2)
    assert message in result.stderr
    assert "Traceback" not in result.output
    assert json.loads(run("authority", "list", "--json").stdout) == []


def test_an_officer_outside_the_agency_domains_is_refused(run: Run) -> None:
    agency_id = add_agency(run, "justice.fr")
    result = run(
        "officer",
        "add",
        "--authority",
        agency_id,
        "--name",
        "Mallory",
        "--email",
        "mallory@gmail.com",
        expect=2,
    )
    assert "official domains" in result.stderr


def test_unknown_role_is_refused(run: Run) -> None:
    result = run("user", "add", "--email", "x@platform.example", "--role", "superuser", expect=2)
    assert "unknown role" in result.stderr


def test_requests_are_listed_and_shown_with_deadline_and_audit_trail(run: Run, database_url: str) -> None:
    from fastapi.testclient import TestClient

    from tests.factories import bearer, epoc
    from trustdesk.app import build_container
    from trustdesk.config import Settings
    from trustdesk.web.app import create_app

    agency_id = add_agency(run, "justice.fr")
    key = json.loads(
        run(
            "officer", "add", "--authority", agency_id, "--name", "C", "--email", "c@justice.fr", "--json"
        ).stdout
    )["api_key"]
    verify_agency(run, agency_id)
    container = build_container(Settings(database_url=database_url, reference_platform_url="sqlite://"))
    with TestClient(create_app(container)) as client:
        tracking = client.post("/api/v1/requests", json=epoc(), headers=bearer(key)).json()["tracking_number"]
    container.engine.dispose()

    listed = json.loads(run("request", "list", "--json").stdout)
    shown = json.loads(run("request", "show", tracking.lower(), "--json").stdout)
    text = run("request", "show", tracking).stdout

    assert [r["tracking_number"] for r in listed] == [tracking]
    assert listed[0]["emergency"] is True
    assert shown["status"] == "acknowledged"
    assert [e["action"] for e in shown["audit"]] == [
        "lawful:request:receive",
        "oncall:page:fallback",  # nobody is on call in this test: the fallback channel is paged
        "lawful:deadline:alert",
    ]
    assert "EMERGENCY" in text
    assert run("request", "show", "TD-2026-NONE-0000", expect=2).stderr.startswith("error: no request")


# --- audit tampering, directly in the database ---------------------------------------------------


def seed_events(run: Run) -> None:
    for n, kind in enumerate(IssuerKind):
        add_agency(run, f"agency{n}.example", kind=kind.value)  # 6 agencies -> 6 events


def tamper(database_url: str, how: Callable[[Connection], None]) -> None:
    engine = make_engine(database_url)
    with engine.begin() as connection:
        how(connection)
    engine.dispose()


def _shift_from(connection: Connection, seq: int) -> None:
    rows = connection.execute(
        select(AuditEvent.seq).where(AuditEvent.seq >= seq).order_by(AuditEvent.seq.desc())
    )
    for (s,) in rows.all():
        connection.execute(update(AuditEvent).where(AuditEvent.seq == s).values(seq=s + 1))


def _insert_forged(connection: Connection) -> None:
    prev = connection.execute(select(AuditEvent.hash).where(AuditEvent.seq == 2)).scalar_one()
    _shift_from(connection, 3)
    fields = {
        "seq": 3, "occurred_at": connection.execute(select(AuditEvent.occurred_at).where(AuditEvent.seq == 2))
        .scalar_one(), "actor_kind": "staff", "actor_id": "insider", "action": "authorities:agency:verify",
        "subject_type": "agency", "subject_id": "ghost", "data": {}, "prev_hash": prev,
    }  # fmt: skip
    connection.execute(insert(AuditEvent).values(**fields, hash=event_hash(**fields)))
    connection.execute(update(AuditHead).values(seq=AuditHead.seq + 1))


def _swap(connection: Connection) -> None:
    connection.execute(update(AuditEvent).where(AuditEvent.seq == 2).values(seq=-2))
    connection.execute(update(AuditEvent).where(AuditEvent.seq == 3).values(seq=2))
    connection.execute(update(AuditEvent).where(AuditEvent.seq == -2).values(seq=3))


def _rewrite_and_recompute(connection: Connection, *, strip: bool = False, since: int | None = None) -> None:
    """An insider with database access but not the signing key: event 3 rewritten, every hash after it
    recomputed so that the hash chain is whole again; its signatures removed too (``strip``), and where
    signing began moved past the end (``since``)."""
    events = connection.execute(select(AuditEvent).order_by(AuditEvent.seq)).all()
    prev = events[1].hash
    for event in events[2:]:
        fields = {
            "seq": event.seq, "occurred_at": event.occurred_at, "actor_kind": event.actor_kind,
            "actor_id": "insider" if event.seq == 3 else event.actor_id, "action": event.action,
            "subject_type": event.subject_type, "subject_id": event.subject_id, "data": event.data,
            "prev_hash": prev,
        }  # fmt: skip
        prev = event_hash(**fields)
        values: dict[str, Any] = {
            "actor_id": fields["actor_id"],
            "prev_hash": fields["prev_hash"],
            "hash": prev,
        }
        if strip:
            values["signature"] = None
        connection.execute(update(AuditEvent).where(AuditEvent.seq == event.seq).values(**values))
    head: dict[str, Any] = {"hash": prev}
    if since is not None:
        head["signed_since"] = since
    connection.execute(update(AuditHead).values(**head))


TAMPERINGS: dict[str, tuple[Callable[[Connection], None], int]] = {
    "rewritten-and-recomputed": (_rewrite_and_recompute, 3),
    "recomputed-and-unsigned": (lambda c: _rewrite_and_recompute(c, strip=True), 3),
    "signing-start-moved": (lambda c: _rewrite_and_recompute(c, strip=True, since=7), 7),
    "altered-actor": (
        lambda c: c.execute(update(AuditEvent).where(AuditEvent.seq == 4).values(actor_id="x")),
        4,
    ),
    "altered-data": (lambda c: c.execute(update(AuditEvent).where(AuditEvent.seq == 2).values(data={})), 2),
    "deleted": (lambda c: c.execute(delete(AuditEvent).where(AuditEvent.seq == 3)), 4),
    "inserted": (_insert_forged, 3),  # the forged event itself: its hash links, but it is not signed
    "reordered": (_swap, 2),
    "tail-deleted": (lambda c: c.execute(delete(AuditEvent).where(AuditEvent.seq == 6)), 6),
}


def test_an_intact_audit_log_verifies(run: Run, tmp_path: Any) -> None:
    seed_events(run)
    result = run("audit", "verify")
    assert "intact: 6 events verified, 6 signed" in result.stdout
    published = tmp_path / "platform.pem"
    published.write_text(run("public-key").stdout)
    assert "6 signed" in run("audit", "verify", "--public-key", str(published)).stdout  # an auditor's check
    other = tmp_path / "other.pem"
    other.write_bytes(public_key_pem(Ed25519Signer.generate().public_key_bytes()))
    wrong = run("audit", "verify", "--public-key", str(other), "--json", expect=1)
    assert json.loads(wrong.stdout)["first_bad_event"] == 1
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("not a key")
    assert (
        "--public-key: not a PEM public key"
        in run("audit", "verify", "--public-key", str(garbage), expect=2).stderr
    )


@pytest.mark.parametrize("tampering", TAMPERINGS)
def test_audit_verify_names_the_first_bad_event_after_tampering(
    run: Run, database_url: str, tampering: str
) -> None:
    seed_events(run)
    how, first_bad = TAMPERINGS[tampering]
    tamper(database_url, how)

    result = run("audit", "verify", "--json", expect=1)

    verdict = json.loads(result.stdout)
    assert verdict["ok"] is False
    assert verdict["first_bad_event"] == first_bad, verdict
    assert f"#{first_bad}" in run("audit", "verify", expect=1).stdout


def test_demo_loads_once_and_its_printed_keys_work(database_url: str, tmp_path: Any) -> None:
    from fastapi.testclient import TestClient

    from trustdesk.app import build_container
    from trustdesk.cli import app
    from trustdesk.config import Settings
    from trustdesk.web.app import create_app

    env = {
        "TRUSTDESK_DATABASE_URL": database_url,
        "TRUSTDESK_REFERENCE_PLATFORM_URL": f"sqlite:///{tmp_path}/p.db",
    }
    runner = CliRunner()
    first = runner.invoke(app, ["demo", "--users", "30", "--json"], env=env)
    second = runner.invoke(app, ["demo", "--users", "30", "--json"], env=env)
    assert first.exit_code == second.exit_code == 0, first.output
    one, two = json.loads(first.stdout), json.loads(second.stdout)

    assert one["officers"] == two["officers"]
    assert one["staff"] == two["staff"]
    assert one["platform"]["users"] == 30
    assert len(one["sample_requests"]) == 3
    assert two["sample_requests"] == []  # loaded once
    # a signed tree head with every demo receipt, and this half-year's and quarter's reports, published once
    assert len(one["transparency"]["reports"]) == 2
    assert one["transparency"]["tree_size"] >= 3
    assert two["transparency"]["reports"] == []
    container = build_container(Settings(database_url=database_url, reference_platform_url="sqlite://"))
    with TestClient(create_app(container)) as client:
        for officer in one["officers"]:
            response = client.get(
                "/api/v1/requests", headers={"Authorization": f"Bearer {officer['api_key']}"}
            )
            assert response.status_code == 200
    container.engine.dispose()


def test_demo_refuses_production(database_url: str) -> None:
    from trustdesk.cli import app

    env = {
        "TRUSTDESK_DATABASE_URL": database_url,
        "TRUSTDESK_ENVIRONMENT": "production",
        "TRUSTDESK_SECRET_KEY": "x" * 40,
        "TRUSTDESK_NCMEC_BASE_URL": "https://report.cybertip.org/ispws",
        "TRUSTDESK_NCMEC_USERNAME": "platform",
        "TRUSTDESK_NCMEC_PASSWORD": "secret",
    }
    result = CliRunner().invoke(app, ["demo"], env=env)
    assert result.exit_code == 2
    assert "never loaded in production" in result.stderr


def test_production_refuses_to_run_without_reporting_to_ncmec(database_url: str) -> None:
    from trustdesk.cli import app

    env = {
        "TRUSTDESK_DATABASE_URL": database_url,
        "TRUSTDESK_ENVIRONMENT": "production",
        "TRUSTDESK_SECRET_KEY": "x" * 40,
    }
    result = CliRunner().invoke(app, ["request", "list"], env=env)
    assert result.exit_code == 2
    assert "TRUSTDESK_NCMEC_BASE_URL" in result.stderr


def test_production_refuses_the_demo_secret(database_url: str) -> None:
    from trustdesk.cli import app

    env = {"TRUSTDESK_DATABASE_URL": database_url, "TRUSTDESK_ENVIRONMENT": "production"}
    result = CliRunner().invoke(app, ["request", "list"], env=env)
    assert result.exit_code == 2
    assert "TRUSTDESK_SECRET_KEY" in result.stderr


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("TRUSTDESK_DEADLINE_OVERRIDES", '{"EU_EPOC": "PT12H"}'),
        ("TRUSTDESK_PORT", "99999"),
        ("TRUSTDESK_DATABASE_URL", "mysql://localhost/x"),
    ],
)
def test_bad_settings_stop_with_a_message_naming_the_variable(
    database_url: str, variable: str, value: str
) -> None:
    from trustdesk.cli import app

    env = {"TRUSTDESK_DATABASE_URL": database_url, variable: value}
    result = CliRunner().invoke(app, ["request", "list"], env=env)
    assert result.exit_code == 2
    assert variable in result.stderr
    assert "Traceback" not in result.output
