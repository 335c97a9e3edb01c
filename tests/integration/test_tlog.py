"""The transparency log on SQLite and PostgreSQL: receipts become leaves, proofs verify from the public API
and from files, and tampering with a leaf, a head or the audit chain (even recomputed) is caught by the
CLI's verifications; concurrent sequencers never fork."""

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import typer
from fastapi.testclient import TestClient
from sqlalchemy import select, text, update
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from tests.factories import bearer, epoc
from tests.lawful_world import World, build_world
from trustdesk.app import Container, build_container
from trustdesk.audit.chain import event_hash, event_message
from trustdesk.audit.models import AuditEvent, AuditHead
from trustdesk.clock import FrozenClock
from trustdesk.config import Environment, Settings
from trustdesk.db import unit_of_work
from trustdesk.signing.protocol import public_key_pem
from trustdesk.transparency import tlog_cli
from trustdesk.transparency.checkpoint import verify_checkpoint
from trustdesk.transparency.merkle import verify_consistency, verify_inclusion
from trustdesk.transparency.models import TlogEntry, TlogHead
from trustdesk.transparency.tlog import service as tlog
from trustdesk.transparency.tlog.checks import (
    check_audit_anchors,
    check_log,
    check_receipt,
    check_report_counts,
)
from trustdesk.transparency.tlog.checks import leaves_up_to as check_leaves
from trustdesk.transparency.tlog.leaves import parse_leaf
from trustdesk.web.app import create_app

ORIGIN = "testserver.example/tlog"


def de_epoc(**overrides: Any) -> dict[str, Any]:
    authority = {"name": "Bundeskriminalamt", "kind": "police", "country": "DE"}
    return epoc(issuing_authority=authority, **overrides)


def sequence(container: Container, limit: int = 500) -> tlog.Round:
    with unit_of_work(container.sessions) as session:
        return tlog.sequence(session, container.clock, container.signer, origin=ORIGIN, limit=limit)


def public_key(container: Container) -> bytes:
    return container.signer.public_key_bytes()


@pytest.fixture
def world(
    client: TestClient, container: Container, sessions: sessionmaker[Session], clock: FrozenClock
) -> World:
    return build_world(client, container, sessions, clock)


def test_receipts_become_leaves_whose_proofs_verify(world: World, container: Container) -> None:
    first = world.submit(epoc(), document=False)
    world.clock.advance(timedelta(minutes=1))  # receipts are logged in order of arrival
    second = world.submit(de_epoc(reference="PARQUET-2026-7"), key=world.de_key, document=False)
    pending = world.client.get(f"/api/v1/requests/{first}/log-receipt", headers=bearer(world.fr_key))
    assert pending.status_code == 200
    waiting = pending.json()
    assert (waiting["tracking_number"], waiting["status"]) == (first, "pending")
    assert set(waiting) == {"tracking_number", "status", "receipt", "salt", "leaf", "leaf_hash"}
    # the acknowledgement (and every view of the request) carries the leaf before it is in the tree
    acknowledged = world.officer_view(first)["transparency_log"]
    assert acknowledged == {
        "leaf_hash": waiting["leaf_hash"],
        "leaf_index": None,
        "receipt_url": f"/api/v1/requests/{first}/log-receipt",
    }

    result = sequence(container)
    assert (result.receipts, result.audit_heads, result.tree_size, result.signed) == (2, 1, 3, True)
    again = sequence(container)
    assert (again.receipts, again.audit_heads, again.signed, again.tree_size) == (0, 0, False, 3)

    # the public API: the checkpoint verifies with the platform's key only; the leaves tell no case detail
    note = world.client.get("/api/v1/tlog/checkpoint")
    assert note.status_code == 200
    assert note.headers["content-type"].startswith("text/plain")
    checkpoint = verify_checkpoint(note.text, public_key(container))
    assert (checkpoint.origin, checkpoint.size) == (ORIGIN, 3)
    leaves = world.client.get("/api/v1/tlog/leaves", params={"start": 0, "end": 10}).json()
    assert leaves["tree_size"] == 3
    assert [parse_leaf(x["leaf"]).kind for x in leaves["leaves"]] == ["receipt", "receipt", "audit_head"]
    assert [parse_leaf(x["leaf"]).fields["country"] for x in leaves["leaves"][:2]] == ["FR", "DE"]
    for leaf in leaves["leaves"]:
        assert all(secret not in leaf["leaf"] for secret in (first, second, "PARQUET"))
        proof = world.client.get("/api/v1/tlog/proof/inclusion", params={"leaf_hash": leaf["leaf_hash"]})
        assert proof.status_code == 200, proof.text
        body = proof.json()
        path = [bytes.fromhex(p) for p in body["proof"]]
        hash_ = bytes.fromhex(leaf["leaf_hash"])
        assert verify_inclusion(body["leaf_index"], 3, hash_, path, checkpoint.root_hash)

    # the authority's receipt: its own request only, verifiable offline
    receipt = world.client.get(f"/api/v1/requests/{first}/log-receipt", headers=bearer(world.fr_key)).json()
    assert receipt["status"] == "included"
    assert receipt["leaf_index"] == 0
    assert json.loads(receipt["receipt"])["tracking_number"] == first
    assert check_receipt(receipt, public_key(container)) == []
    forged = receipt | {"receipt": receipt["receipt"].replace("EU_EPOC", "EU_EPOC_PR")}
    assert check_receipt(forged, public_key(container)) == [
        "the leaf does not commit to this receipt and salt"
    ]
    other = world.client.get(f"/api/v1/requests/{second}/log-receipt", headers=bearer(world.fr_key))
    assert other.status_code == 404
    with unit_of_work(container.sessions) as session:
        assert check_log(session, public_key(container)) == []
        assert check_audit_anchors(session) == (1, [])


def test_consistency_between_two_heads_verifies(world: World, container: Container) -> None:
    world.submit(epoc(), document=False)
    small = sequence(container)
    world.submit(epoc(reference="SECOND"), document=False)
    world.submit(de_epoc(reference="THIRD"), key=world.de_key, document=False)
    large = sequence(container)
    assert large.tree_size > small.tree_size
    heads = world.client.get("/api/v1/tlog/heads", params={"since": 0}).json()
    assert [h["tree_size"] for h in heads] == [small.tree_size, large.tree_size]
    proof = world.client.get(
        "/api/v1/tlog/proof/consistency", params={"first": small.tree_size, "second": large.tree_size}
    ).json()
    assert verify_consistency(
        small.tree_size, large.tree_size, [bytes.fromhex(p) for p in proof["proof"]],
        bytes.fromhex(small.root_hash), bytes.fromhex(large.root_hash),
    )  # fmt: skip
    assert not verify_consistency(
        small.tree_size, large.tree_size, [bytes.fromhex(p) for p in proof["proof"]],
        bytes.fromhex(large.root_hash), bytes.fromhex(small.root_hash),
    )  # fmt: skip
    # an inclusion proof in the older head is still served
    first_leaf = world.client.get("/api/v1/tlog/leaves", params={"start": 0, "end": 1}).json()["leaves"][0]
    old = world.client.get(
        "/api/v1/tlog/proof/inclusion",
        params={"leaf_hash": first_leaf["leaf_hash"], "tree_size": small.tree_size},
    )
    assert old.status_code == 200
    assert old.json()["root_hash"] == small.root_hash


@pytest.mark.parametrize(
    ("path", "params", "status"),
    [
        ("/api/v1/tlog/checkpoint", {}, 404),
        ("/api/v1/tlog/leaves", {"start": 5, "end": 2}, 422),
        ("/api/v1/tlog/leaves", {"start": 0, "end": 5000}, 422),
        ("/api/v1/tlog/proof/inclusion", {"leaf_hash": "zz"}, 422),
        ("/api/v1/tlog/proof/inclusion", {"leaf_hash": "ab" * 32}, 404),
        ("/api/v1/tlog/proof/consistency", {"first": 3}, 404),
        ("/api/v1/tlog/heads", {"since": -1}, 422),
    ],
)
def test_bad_questions_get_clear_problems(
    client: TestClient, path: str, params: dict[str, Any], status: int
) -> None:
    response = client.get(path, params=params)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"


def test_questions_beyond_the_log_are_refused(world: World, container: Container) -> None:
    world.submit(epoc(), document=False)
    size = sequence(container).tree_size
    responses = [
        world.client.get("/api/v1/tlog/proof/consistency", params={"first": size + 1}),
        world.client.get("/api/v1/tlog/proof/consistency", params={"first": 1, "second": size + 7}),
        world.client.get("/api/v1/tlog/proof/inclusion", params={"leaf_hash": "ab" * 32, "tree_size": 1}),
    ]
    assert [r.status_code for r in responses] == [422, 404, 404]


# --- the CLI against a committed database ---------------------------------------------------------------


@dataclass
class Deployment:
    world: World
    container: Container
    folder: Path
    key_pem: Path

    def run(self, *args: str, expect: int = 0) -> Any:
        app = typer.Typer()
        tlog_cli.mount(app)
        env = {
            "TRUSTDESK_DATABASE_URL": self.container.settings.database_url,
            "TRUSTDESK_SIGNING_KEY_PATH": str(self.container.settings.signing_key_path),
            "TRUSTDESK_TLOG_ORIGIN": ORIGIN,
        }
        result = CliRunner().invoke(app, ["tlog", *args], env=env)
        assert result.exit_code == expect, (result.exit_code, result.output, result.stderr)
        return result

    def save(self, name: str, content: str) -> Path:
        path = self.folder / name
        path.write_text(content, encoding="utf-8")
        return path

    def execute(self, statement: Any, **params: Any) -> None:
        with unit_of_work(self.container.sessions) as session:
            session.execute(statement, params)


@pytest.fixture
def deployment(database_url: str, tmp_path: Path, clock: FrozenClock) -> Iterator[Deployment]:
    settings = Settings(
        environment=Environment.DEVELOPMENT,
        database_url=database_url,
        reference_platform_url="sqlite://",
        signing_key_path=tmp_path / "signing.pem",
        tlog_origin=ORIGIN,
    )
    container = build_container(settings, clock=clock)
    with TestClient(
        create_app(container), base_url="https://testserver", raise_server_exceptions=False
    ) as client:
        world = build_world(client, container, container.sessions, clock)
        key_pem = tmp_path / "published.pem"
        key_pem.write_bytes(public_key_pem(container.signer.public_key_bytes()))
        yield Deployment(world, container, tmp_path, key_pem)
    container.engine.dispose()


def test_the_cli_sequences_proves_and_verifies(deployment: Deployment) -> None:
    d = deployment
    tracking = d.world.submit(epoc(), document=False)
    assert "1 receipt(s), 1 audit head(s); tree size 2" in d.run("sequence").output
    old = d.save("old.txt", d.run("head").output)
    d.world.submit(epoc(reference="SECOND"), document=False)
    d.run("sequence")
    new = d.save("new.txt", d.run("head").output)
    assert json.loads(d.run("head", "--json").output)["tree_size"] == 4
    assert d.run("head", "--vkey").output.startswith(ORIGIN + "+")

    # an authority, offline: its receipt file and the published key
    receipt = d.world.client.get(f"/api/v1/requests/{tracking}/log-receipt", headers=bearer(d.world.fr_key))
    receipt_file = d.save("receipt.json", receipt.text)
    out = d.run("verify-receipt", str(receipt_file), "--public-key", str(d.key_pem)).output
    assert "verified: request" in out
    # an auditor, offline: the new head extends the old one; a proof file checks against it
    first = verify_checkpoint(old.read_text(), d.container.signer.public_key_bytes()).size
    consistency = d.world.client.get("/api/v1/tlog/proof/consistency", params={"first": first}).text
    proof = d.save("consistency.json", consistency)
    inclusion = d.save("inclusion.json", d.run("prove", "--receipt", str(receipt_file)).output)
    d.run(
        "verify", "--checkpoint", str(new), "--previous", str(old), "--consistency", str(proof),
        "--inclusion", str(inclusion), "--public-key", str(d.key_pem), "--offline",
    )  # fmt: skip
    d.run("verify", "--checkpoint", str(new), "--previous", str(old))  # online: proofs from the database
    d.run("check")
    d.run("audit-anchors")
    # the proof in the new head does not verify against the old one; the reverse order is no extension
    failed = d.run("verify", "--checkpoint", str(old), "--inclusion", str(inclusion), "--offline", expect=1)
    assert "the proof is for a tree of 4 leaves, the checkpoint has 2" in failed.stderr
    d.run("verify", "--checkpoint", str(old), "--previous", str(new), expect=1)
    d.run("prove", expect=2)


def test_a_tampered_leaf_is_detected(deployment: Deployment) -> None:
    d = deployment
    d.world.submit(epoc(), document=False)
    d.run("sequence")
    saved = d.save("head.txt", d.run("head").output)
    d.run("verify", "--checkpoint", str(saved))
    # the receipt's country rewritten, and its leaf hash recomputed to match: the signed root betrays it
    with unit_of_work(d.container.sessions) as session:
        entry = session.scalars(select(TlogEntry).where(TlogEntry.kind == "receipt")).one()
        entry.leaf = entry.leaf.replace('"FR"', '"BE"')
        from trustdesk.transparency.tlog.leaves import hash_of

        entry.leaf_hash = hash_of(entry.leaf)
    failed = d.run("check", expect=1)
    assert "the leaves do not give its signed root" in failed.stderr
    assert "receipt leaf 0 no longer matches request" in failed.stderr
    failed = d.run("verify", "--checkpoint", str(saved), expect=1)
    assert "no longer give the root" in failed.stderr
    # the proofs are not served from a log that does not reproduce its head
    response = d.world.client.get("/api/v1/tlog/proof/consistency", params={"first": 0})
    assert response.status_code == 409
    assert response.json()["code"] == "tlog_inconsistent"


def test_a_tampered_head_is_detected(deployment: Deployment) -> None:
    d = deployment
    d.world.submit(epoc(), document=False)
    d.run("sequence")
    d.run("check")
    d.execute(update(TlogHead).values(root_hash="00" * 32))
    assert "its stored size or root differ from its checkpoint" in d.run("check", expect=1).stderr
    # a head re-signed by another key: its signature does not verify with the published key
    from trustdesk.signing.ed25519 import Ed25519Signer
    from trustdesk.transparency.checkpoint import Checkpoint, sign_checkpoint

    with unit_of_work(d.container.sessions) as session:
        head = session.scalars(select(TlogHead)).one()
        forged = sign_checkpoint(
            Checkpoint(ORIGIN, head.tree_size, bytes(32)), Ed25519Signer.from_seed(b"\x07" * 32)
        )
        head.checkpoint = forged
    assert "no signature" in d.run("check", "--public-key", str(d.key_pem), expect=1).stderr
    d.run("verify", "--checkpoint", str(d.save("forged.txt", forged)), "--offline", expect=1)


def test_a_rewritten_history_is_a_fork_the_auditor_sees(deployment: Deployment) -> None:
    d = deployment
    d.world.submit(epoc(), document=False)
    d.world.submit(epoc(reference="SECOND"), document=False)
    d.run("sequence")
    old = d.save("old.txt", d.run("head").output)
    # the log thrown away and rebuilt (to reorder or restamp it): a fresh, validly signed log of its own
    d.execute(text("DELETE FROM tlog_heads"))
    d.execute(text("DELETE FROM tlog_entries"))
    d.world.submit(epoc(reference="THIRD"), document=False)
    d.run("sequence")
    new = d.save("new.txt", d.run("head").output)
    d.run("check")  # in itself the new log is well formed
    failed = d.run("verify", "--checkpoint", str(new), "--previous", str(old), expect=1)
    assert "not consistent with the head" in failed.stderr


def test_a_rewritten_and_recomputed_audit_chain_is_detected(deployment: Deployment) -> None:
    d = deployment
    d.world.submit(epoc(), document=False)
    d.run("sequence")
    assert "verified: 1 audit anchor(s)" in d.run("audit-anchors").output
    # someone with the database rewrites an early event and recomputes every hash after it, and the head
    with unit_of_work(d.container.sessions) as session:
        events = list(session.scalars(select(AuditEvent).order_by(AuditEvent.seq)))
        events[1].data = {**events[1].data, "rewritten": True}
        prev = events[0].hash
        for event in events[1:]:
            event.prev_hash = prev
            event.hash = event_hash(
                seq=event.seq, occurred_at=event.occurred_at, actor_kind=event.actor_kind,
                actor_id=event.actor_id, action=event.action, subject_type=event.subject_type,
                subject_id=event.subject_id, data=event.data, prev_hash=event.prev_hash,
            )  # fmt: skip
            prev = event.hash
            # ... and re-signs each with the platform's key, as an insider who also stole the key would
            event.signature = d.container.signer.sign(event_message(event.seq, event.hash)).hex()
        head = session.get_one(AuditHead, 1)
        head.hash = prev
    failed = d.run("audit-anchors", expect=1)
    assert "the audit chain was rewritten" in failed.stderr
    # the chain and its signatures verify on their own; only the heads published in the log betray it
    from trustdesk.cli import app as root

    env = {
        "TRUSTDESK_DATABASE_URL": d.container.settings.database_url,
        "TRUSTDESK_SIGNING_KEY_PATH": str(d.container.settings.signing_key_path),
    }
    verdict = CliRunner().invoke(root, ["audit", "verify", "--json"], env=env)
    assert verdict.exit_code == 1, verdict.output
    shown = json.loads(verdict.stdout)
    assert (shown["ok"], shown["first_bad_event"], shown["log_anchors"]) == (False, None, 1)
    assert "the audit chain was rewritten" in shown["log_anchor_problems"][0]


def test_concurrent_sequencers_never_fork(deployment: Deployment) -> None:
    d = deployment
    for n in range(6):
        d.world.submit(epoc(reference=f"CONCURRENT-{n}"), document=False)
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def sequencer() -> None:
        try:
            barrier.wait()
            for _ in range(3):
                sequence(d.container, limit=2)
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=sequencer) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with unit_of_work(d.container.sessions) as session:
        entries = list(session.scalars(select(TlogEntry).order_by(TlogEntry.leaf_index)))
        assert [e.leaf_index for e in entries] == list(range(len(entries)))
        receipts = [e.subject_id for e in entries if e.kind == "receipt"]
        assert len(receipts) == len(set(receipts)) == 6  # every request once, none twice
        assert check_log(session, public_key(d.container)) == []
        heads = list(session.scalars(select(TlogHead).order_by(TlogHead.tree_size)))
    # every head the two signed is a prefix of the last: one history
    tree_last = heads[-1]
    for head in heads:
        proof = d.world.client.get(
            "/api/v1/tlog/proof/consistency", params={"first": head.tree_size, "second": tree_last.tree_size}
        ).json()
        assert verify_consistency(
            head.tree_size, tree_last.tree_size, [bytes.fromhex(p) for p in proof["proof"]],
            bytes.fromhex(head.root_hash), bytes.fromhex(tree_last.root_hash),
        )  # fmt: skip


def test_a_request_recorded_before_the_log_gets_its_receipt_from_the_sequencer(
    world: World, container: Container, sessions: sessionmaker[Session]
) -> None:
    tracking = world.submit(epoc(), document=False)
    with unit_of_work(sessions) as session:  # as a request from before the log was introduced
        session.execute(text("DELETE FROM tlog_entries"))
    assert world.officer_view(tracking)["transparency_log"] is None
    result = sequence(container)
    assert (result.receipts, result.tree_size) == (1, 2)
    logged = world.officer_view(tracking)["transparency_log"]
    assert logged["leaf_index"] == 0
    receipt = world.client.get(
        f"/api/v1/requests/{tracking}/log-receipt", headers=bearer(world.fr_key)
    ).json()
    assert receipt["status"] == "included"
    assert check_receipt(receipt, public_key(container)) == []


def test_a_reports_counts_are_checked_against_the_leaves_of_its_period(deployment: Deployment) -> None:
    """An auditor's check: the report's received count equals the receipts of its period in the log."""
    from trustdesk.transparency import reports
    from trustdesk.transparency.metrics import parse_scope
    from trustdesk.transparency.periods import parse_period
    from trustdesk.transparency.protection import Protection

    d = deployment
    d.world.submit(epoc(), document=False)
    d.world.submit(epoc(reference="SECOND"), document=False)
    d.run("sequence")
    c = d.container
    period = parse_period(f"{c.clock().year}-H{1 if c.clock().month <= 6 else 2}")
    with unit_of_work(c.sessions) as session:
        built = reports.build(
            session, c.clock, c.signer, c.catalogue, period, parse_scope("global"), provider="Demo",
            protection=Protection(),
        )  # fmt: skip
        reports.write_bundle(
            d.folder / "report", built.document, bytes.fromhex(built.report.signature), built.report.key_id,
            built.files,
        )  # fmt: skip
    shown = d.run("verify-report", str(d.folder / "report"), "--public-key", str(d.key_pem)).output
    assert "counts 2 receipts" in shown

    document = json.loads(built.document)
    with c.sessions() as session:
        leaves = check_leaves(session, document["log"]["head"]["tree_size"])
    key = public_key(c)
    assert check_report_counts(document, leaves, key) == []
    undercounted = document | {"metrics": document["metrics"] | {"lawful": {"received": 1}}}
    assert any("requests are missing" in p for p in check_report_counts(undercounted, leaves, key))
    assert any("do not give the root" in p for p in check_report_counts(document, leaves[::-1], key))
    assert any("leaves given" in p for p in check_report_counts(document, leaves[:-1], key))

    d.save("report/report.json", json.dumps(undercounted))  # the report as a platform might rewrite it
    refused = d.run("verify-report", str(d.folder / "report"), "--public-key", str(d.key_pem), expect=1)
    assert "requests are missing" in refused.output
