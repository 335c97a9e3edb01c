"""``trustdesk report``: build, verify, publish and list the signed transparency reports."""

import json
from pathlib import Path
from typing import Annotated

import typer

from trustdesk.cliutil import JsonFlag, container, emit, fail, handles_errors, work
from trustdesk.errors import InvalidInput
from trustdesk.transparency import reports
from trustdesk.transparency.metrics import parse_scope
from trustdesk.transparency.periods import Period, PeriodError, parse_period
from trustdesk.transparency.protection import Protection

report_app = typer.Typer(help="Signed, versioned transparency reports.", no_args_is_help=True)

PeriodOption = Annotated[str, typer.Option("--period", help="2026-Q3, 2026-H1 or 2026.")]
ScopeOption = Annotated[str, typer.Option("--scope", help="global, or an ISO country code (FR).")]


def mount(app: typer.Typer) -> None:
    app.add_typer(report_app, name="report")


def _period(text: str) -> Period:
    try:
        return parse_period(text)
    except PeriodError as exc:
        raise fail(f"--period: {exc}") from None


def _amar(path: Path | None, default: dict[str, int]) -> dict[str, int]:
    if path is None:
        return default
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise fail(f"--amar {path}: {exc}") from None
    if not isinstance(data, dict):
        raise fail(f'--amar {path}: a JSON object is expected, e.g. {{"TOTAL": 1200000, "FR": 310000}}')
    return data


@report_app.command("build")
@handles_errors
def build(
    period: PeriodOption,
    out: Annotated[Path, typer.Option("--out", help="Write report.json, report.sig and the files here.")],
    scope: ScopeOption = "global",
    amar: Annotated[
        Path | None,
        typer.Option(
            help='JSON file of average monthly active recipients for 10_AMAR: {"TOTAL": N, "FR": N, ...} '
            "(default: TRUSTDESK_REPORT_AMAR)"
        ),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Build the next version of the report of a period and scope, store it (unpublished) and write it."""
    chosen = _period(period)
    with work() as (c, session):
        built = reports.build(
            session, c.clock, c.signer, c.catalogue, chosen, parse_scope(scope),
            provider=c.settings.platform_name, protection=Protection.from_settings(c.settings),
            amar=_amar(amar, c.settings.report_amar),
        )  # fmt: skip
        report = built.report
        summary = {
            "id": report.id, "period": report.period, "scope": report.scope, "version": report.version,
            "sha256": report.sha256, "key_id": report.key_id, "tree_size": report.tree_size,
            "files": sorted(built.files), "out": str(out),
        }  # fmt: skip
        try:
            reports.write_bundle(
                out, built.document, bytes.fromhex(report.signature), report.key_id, built.files
            )
        except OSError as exc:
            raise fail(f"--out {out}: {exc}") from None
    emit(summary, as_json,
         f"report {report.period} ({report.scope}) version {report.version} built, signed by key "
         f"{report.key_id}: {len(built.files)} files in {out} (not published)")  # fmt: skip


@report_app.command("verify")
@handles_errors
def verify(
    path: Annotated[Path, typer.Argument(help="The report's folder, or its report.json.")],
    public_key: Annotated[
        Path | None,
        typer.Option(help="The platform's published public key (PEM); default: the key of this deployment."),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Check a report's signature and every file's SHA-256. Exit 0 if intact, 1 naming what is wrong."""
    from trustdesk.signing.protocol import SignerError, public_key_from_pem

    if not path.exists():
        raise fail(f"{path}: no such file or folder")
    try:
        if public_key is not None:
            key = public_key_from_pem(public_key.read_bytes())
        else:
            c = container()
            try:
                key = c.signer.public_key_bytes()
            finally:
                c.engine.dispose()
    except (OSError, SignerError) as exc:
        raise fail(f"--public-key: {exc}") from None
    verdict = reports.verify_bundle(path, key)
    document = verdict.document or {}
    data = {"ok": verdict.ok, "problems": verdict.problems, "files_checked": verdict.checked_files,
            "period": document.get("period"), "scope": document.get("scope"),
            "version": document.get("version")}  # fmt: skip
    if verdict.ok:
        emit(data, as_json,
             f"report {document.get('period')} ({document.get('scope')}) version {document.get('version')} "
             f"verified: signature valid, {verdict.checked_files} files match")  # fmt: skip
        return
    emit(data, as_json, "report BROKEN:\n" + "\n".join(f"  {p}" for p in verdict.problems))
    raise typer.Exit(1)


@report_app.command("publish")
@handles_errors
def publish(period: PeriodOption, scope: ScopeOption = "global", as_json: JsonFlag = False) -> None:
    """Publish the latest version of the report of a period and scope (it is immutable from then on)."""
    chosen = _period(period)
    with work() as (c, session):
        report = reports.publish(session, c.clock, chosen, parse_scope(scope))
        data = {"id": report.id, "period": report.period, "scope": report.scope, "version": report.version,
                "published_at": report.published_at, "sha256": report.sha256}  # fmt: skip
    emit(data, as_json, f"report {report.period} ({report.scope}) version {report.version} published")


@report_app.command("list")
@handles_errors
def list_(as_json: JsonFlag = False) -> None:
    """Every report version, published or not."""
    with work() as (_, session):
        rows = [
            {"period": r.period, "scope": r.scope, "version": r.version, "built_at": r.built_at,
             "published_at": r.published_at, "sha256": r.sha256, "tree_size": r.tree_size}
            for r in reports.list_reports(session)
        ]  # fmt: skip
    text = "\n".join(
        f"{r['period']:<8} {r['scope']:<7} v{r['version']:<3} built {r['built_at']:%Y-%m-%d %H:%M} "
        + (f"published {r['published_at']:%Y-%m-%d %H:%M}" if r["published_at"] else "unpublished")
        for r in rows
    )
    emit(rows, as_json, text or "no reports yet")


__all__ = ["InvalidInput", "mount", "report_app"]
