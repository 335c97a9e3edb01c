"""``trustdesk tlog``: the transparency log for operators, auditors and authorities.

Verifications exit 0 when verified, 1 with one line per problem when not, 2 on unusable input. Those that
read files (``verify --offline``, ``verify-receipt``) need nothing but the files and the platform's public
key (``--public-key``, the PEM published at ``/contact/signing-key.pem``).
"""

import json
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

import typer

from trustdesk.app import Container
from trustdesk.cliutil import container, fail, handles_errors, work

tlog_app = typer.Typer(help="The public transparency log (RFC 9162, C2SP checkpoints).", no_args_is_help=True)

PublicKeyOption = Annotated[
    Path | None,
    typer.Option("--public-key", help="The platform's public key (PEM); default: this deployment's key."),
]


def mount(app: typer.Typer) -> None:
    app.add_typer(tlog_app, name="tlog")


def tlog_job(c: Container) -> Callable[[], object]:
    """The serve loop's sequencing: a round at most every ``tlog_interval_seconds`` (the loop itself runs
    more often), in its own transaction."""
    from trustdesk.transparency.tlog.service import tick

    last: list[datetime] = []
    every = timedelta(seconds=c.settings.tlog_interval_seconds)

    def run() -> object:
        now = c.clock()
        if last and now - last[0] < every:
            return None
        last[:] = [now]
        return tick(c)

    return run


def _public_key(path: Path | None) -> bytes:
    from trustdesk.signing.protocol import SignerError, public_key_from_pem

    if path is not None:
        try:
            return public_key_from_pem(path.read_bytes())
        except (OSError, SignerError) as exc:
            raise fail(f"--public-key {path}: {exc}") from None
    c = container()
    try:
        if not c.settings.signing_key_path.exists():
            raise fail("this machine holds no platform key: give the published one with --public-key PEM")
        return c.signer.public_key_bytes()
    finally:
        c.engine.dispose()


def _read_text(path: Path, what: str) -> str:
    try:
        if path.stat().st_size > 1_048_576:
            raise fail(f"{what} {path} is larger than 1 MiB")
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise fail(f"cannot read {what} {path}: {exc}") from None


def _read_json(path: Path, what: str) -> dict[str, Any]:
    try:
        value = json.loads(_read_text(path, what))
    except ValueError as exc:
        raise fail(f"{what} {path} is not JSON: {exc}") from None
    if not isinstance(value, dict):
        raise fail(f"{what} {path} is not a JSON object")
    return value


def _report(problems: list[str], verified: str) -> None:
    if problems:
        for problem in problems:
            typer.echo(f"FAILED: {problem}", err=True)
        raise typer.Exit(1)
    typer.echo(verified)


@tlog_app.command("head")
@handles_errors
def head(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    vkey: Annotated[bool, typer.Option("--vkey", help="Print the note verifier key instead.")] = False,
) -> None:
    """Print the latest signed tree head (the checkpoint as published)."""
    from trustdesk.transparency.checkpoint import verifier_key
    from trustdesk.transparency.tlog.service import latest_head, origin_of

    with work() as (c, session):
        if vkey:
            typer.echo(verifier_key(origin_of(c.settings), c.signer.public_key_bytes()))
            return
        found = latest_head(session)
        if found is None:
            raise fail("the log has no signed head yet: run `trustdesk tlog sequence`")
        data = {
            "tree_size": found.tree_size,
            "root_hash": found.root_hash,
            "created_at": found.created_at.isoformat(),
            "checkpoint": found.checkpoint,
        }
    if as_json:
        typer.echo(json.dumps(data, indent=2))
    else:
        typer.echo(data["checkpoint"], nl=False)


@tlog_app.command("sequence")
@handles_errors
def sequence(
    limit: Annotated[int, typer.Option(min=1, max=100_000, help="At most this many receipts.")] = 500,
) -> None:
    """Run one round of the sequencer: log new receipts and the audit head, sign the new tree head."""
    from trustdesk.transparency.tlog.service import tick

    c = container()
    try:
        result = tick(c, limit=limit)
    finally:
        c.engine.dispose()
    signed = "signed a new head" if result.signed else "nothing new"
    typer.echo(
        f"{result.receipts} receipt(s), {result.audit_heads} audit head(s); tree size {result.tree_size}, "
        f"root {result.root_hash}: {signed}"
    )


@tlog_app.command("prove")
@handles_errors
def prove(
    leaf_hash: Annotated[str | None, typer.Option("--leaf-hash", help="The leaf's hash (hex).")] = None,
    receipt: Annotated[Path | None, typer.Option("--receipt", help="A log receipt JSON file.")] = None,
    tree_size: Annotated[
        int | None, typer.Option(min=1, help="A signed head's size; default: latest.")
    ] = None,
) -> None:
    """Print the inclusion proof of a leaf (JSON, with its checkpoint): verifiable offline."""
    from trustdesk.transparency.tlog.service import inclusion

    if (leaf_hash is None) == (receipt is None):
        raise fail("give either --leaf-hash or --receipt")
    if receipt is not None:
        found = _read_json(receipt, "the receipt").get("leaf_hash")
        if not isinstance(found, str):
            raise fail(f"the receipt {receipt} carries no leaf_hash")
        leaf_hash = found
    assert leaf_hash is not None
    if len(leaf_hash) != 64 or any(ch not in "0123456789abcdefABCDEF" for ch in leaf_hash):
        raise fail("--leaf-hash is 64 hex digits")
    with work() as (_, session):
        proof = inclusion(session, leaf_hash, tree_size)
    typer.echo(json.dumps(proof, indent=2))


@tlog_app.command("verify")
@handles_errors
def verify(
    checkpoint: Annotated[Path, typer.Option(help="The checkpoint to verify (a signed note file).")],
    previous: Annotated[
        Path | None, typer.Option(help="A checkpoint seen before: the new one must extend it.")
    ] = None,
    consistency: Annotated[
        Path | None, typer.Option(help="A consistency proof JSON (GET /api/v1/tlog/proof/consistency).")
    ] = None,
    inclusion: Annotated[
        Path | None, typer.Option(help="An inclusion proof JSON (`tlog prove`) to check in the checkpoint.")
    ] = None,
    public_key: PublicKeyOption = None,
    offline: Annotated[
        bool, typer.Option(help="Files only: never open the database (give --consistency with --previous).")
    ] = False,
) -> None:
    """Verify a checkpoint's signature, its consistency with one seen before, and an inclusion proof; online,
    also that the database's leaves still give the checkpoint's root."""
    from trustdesk.transparency.checkpoint import CheckpointError, verify_checkpoint
    from trustdesk.transparency.tlog import checks

    key = _public_key(public_key)
    try:
        current = verify_checkpoint(_read_text(checkpoint, "the checkpoint"), key)
    except CheckpointError as exc:
        _report([f"the checkpoint {checkpoint}: {exc}"], "")
        return
    problems: list[str] = []
    earlier = None
    if previous is not None:
        try:
            earlier = verify_checkpoint(_read_text(previous, "the previous checkpoint"), key)
        except CheckpointError as exc:
            problems.append(f"the previous checkpoint {previous}: {exc}")
    if offline and earlier is not None and consistency is None:
        raise fail("--offline with --previous needs --consistency FILE")
    if earlier is not None and consistency is not None:
        problems += checks.check_consistency(earlier, current, _read_json(consistency, "the proof"))
    if inclusion is not None:
        problems += checks.check_inclusion(_read_json(inclusion, "the proof"), current)
    if not offline:
        with work() as (_, session):
            tree, log_problems = checks.log_tree(session)
        problems += log_problems
        if current.size > tree.size:
            problems.append(
                f"the database's log has {tree.size} leaves, fewer than the checkpoint's {current.size}"
            )
        elif tree.root(current.size) != current.root_hash:
            problems.append(
                f"the database's leaves no longer give the root of the checkpoint ({current.size})"
            )
        elif earlier is not None and consistency is None:
            if earlier.size > current.size:
                problems.append(
                    f"the previous head ({earlier.size}) is larger than this one ({current.size})"
                )
            else:
                proof = tree.consistency_proof(earlier.size, current.size)
                problems += checks.check_consistency(earlier, current, proof)
    detail = f" and consistent with the head of size {earlier.size}" if earlier else ""
    _report(problems, f"verified: tree of {current.size} leaves, signed by {current.origin}{detail}")


@tlog_app.command("verify-receipt")
@handles_errors
def verify_receipt(
    file: Annotated[
        Path, typer.Argument(help="The log receipt JSON of GET /api/v1/requests/{n}/log-receipt.")
    ],
    public_key: PublicKeyOption = None,
) -> None:
    """An authority checks, offline, that its request's receipt is inside the signed log."""
    from trustdesk.transparency.tlog.checks import check_receipt

    receipt = _read_json(file, "the receipt")
    problems = check_receipt(receipt, _public_key(public_key))
    _report(
        problems,
        f"verified: request {receipt.get('tracking_number')} is leaf {receipt.get('leaf_index')} of the "
        f"signed tree of {receipt.get('tree_size')} leaves",
    )


@tlog_app.command("audit-anchors")
@handles_errors
def audit_anchors() -> None:
    """Check every audit-chain head anchored in the log against the audit chain in the database."""
    from trustdesk.transparency.tlog.checks import check_audit_anchors

    with work() as (_, session):
        checked, problems = check_audit_anchors(session)
    _report(problems, f"verified: {checked} audit anchor(s) match the audit chain")


@tlog_app.command("check")
@handles_errors
def check(public_key: PublicKeyOption = None) -> None:
    """Check the whole log in the database: its leaves, its signed heads, each receipt against its request."""
    from trustdesk.transparency.tlog.checks import check_log

    key = _public_key(public_key)
    with work() as (_, session):
        problems = check_log(session, key)
    _report(problems, "verified: every leaf, head and receipt of the log")


@tlog_app.command("verify-report")
@handles_errors
def verify_report(
    path: Annotated[
        Path, typer.Argument(help="A report's folder (or its report.json), as `report build` writes.")
    ],
    leaves: Annotated[
        Path | None,
        typer.Option(
            help='A JSON object {"leaves": [...]} of the log\'s leaves from 0 (the pages of GET '
            "/api/v1/tlog/leaves, joined); default: read them from this deployment's database."
        ),
    ] = None,
    public_key: PublicKeyOption = None,
) -> None:
    """An auditor checks that a report's counts are covered by the log: the report's signature, its signed
    tree head, the leaves under that head, and that the receipts of its period are as many as it counts."""
    from trustdesk.transparency import reports
    from trustdesk.transparency.tlog.checks import check_report_counts, leaves_up_to

    key = _public_key(public_key)
    verdict = reports.verify_bundle(path, key)
    problems = list(verdict.problems)
    document = _read_json(path / reports.DOCUMENT if path.is_dir() else path, "the report")
    head = (document.get("log") or {}).get("head") or {}
    if leaves is not None:
        items = _read_json(leaves, "the leaves").get("leaves")
        if not isinstance(items, list):
            raise fail(f'--leaves {leaves}: expected {{"leaves": [...]}}')
        texts = [str(item.get("leaf") if isinstance(item, dict) else item) for item in items]
    else:
        with work() as (_, session):
            texts = leaves_up_to(session, int(head.get("tree_size") or 0))
    problems += check_report_counts(document, texts, key)
    _report(
        problems,
        f"verified: report {document.get('period')} ({document.get('scope')}) counts "
        f"{document.get('log', {}).get('receipt_leaves')} receipts, all in the log's signed tree of "
        f"{head.get('tree_size')} leaves",
    )
