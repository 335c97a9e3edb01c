"""``trustdesk dossier``: build an agency's or a country's responsiveness dossier, and verify one."""

from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from trustdesk.audit.vocabulary import Actor
from trustdesk.cliutil import JsonFlag, container, emit, fail, handles_errors, work
from trustdesk.dossier import bundle, service
from trustdesk.dossier.document import Period

dossier_app = typer.Typer(help="Signed responsiveness dossiers per agency or country.", no_args_is_help=True)


def mount(app: typer.Typer) -> None:
    app.add_typer(dossier_app, name="dossier")


def _day(text: str, option: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise fail(f"{option}: {text!r} is not a day (YYYY-MM-DD)") from None


@dossier_app.command("build")
@handles_errors
def build(
    since: Annotated[str, typer.Option("--since", help="First day of the period (UTC), YYYY-MM-DD.")],
    out: Annotated[
        Path, typer.Option("--out", help="Write dossier.json, its signatures and dossier.html here.")
    ],
    agency: Annotated[
        str | None, typer.Option("--agency", help="The agency's id (its own dossier, with salts).")
    ] = None,
    country: Annotated[
        str | None, typer.Option("--country", help="Every agency of a country (ISO code, no salts).")
    ] = None,
    until: Annotated[
        str | None, typer.Option("--until", help="Last day of the period (UTC); default: today.")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Build and sign the dossier of an agency or a country for a period, and write its bundle."""
    if (agency is None) == (country is None):
        raise fail("give either --agency ID or --country CC")
    first = _day(since, "--since")
    with work() as (c, session):
        last = _day(until, "--until") if until else c.clock().date()
        try:
            period = Period(first, last)
        except ValueError as exc:
            raise fail(f"--until: {exc}") from None
        scope = (
            service.scope_of_agency(session, agency) if agency else service.scope_of_country(country or "")
        )
        built = service.build(session, c.clock, c.signer, scope, period, provider=c.settings.platform_name)
        service.record_issue(session, c.clock, Actor.operator(), built)
        html, html_signature = bundle.rendered(built, c.signer)
    try:
        names = bundle.write_bundle(out, built, html, html_signature)
    except OSError as exc:
        raise fail(f"--out {out}: {exc}") from None
    document = built.document
    summary = {
        "scope": document["scope"],
        "period": document["period"],
        "count": document["count"],
        "summary": document["summary"],
        "key_id": built.key_id,
        "tree_size": (document["log"] or {}).get("tree_size"),
        "files": names,
        "out": str(out),
    }
    emit(
        summary,
        as_json,
        f"dossier of {scope.agency_name or scope.country} for {period.since} to {period.until}: "
        f"{document['count']} requests, signed by key {built.key_id}, written to {out}",
    )


@dossier_app.command("verify")
@handles_errors
def verify(
    path: Annotated[Path, typer.Argument(help="The dossier's folder, or its dossier.json.")],
    public_key: Annotated[
        Path | None,
        typer.Option(help="The platform's published public key (PEM); default: the key of this deployment."),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Check the signatures, the checkpoint and every line's inclusion proof. Exit 0 if verified, 1 naming
    each problem, 2 on unusable input."""
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
    verdict = bundle.verify(path, key)
    if verdict.document is None and not verdict.ok:
        raise fail("; ".join(verdict.problems))
    data = verdict.as_dict()
    if verdict.ok:
        emit(
            data,
            as_json,
            f"dossier verified: {verdict.lines} lines, {verdict.proven} proven in the signed "
            f"head of {data['tree_size']} leaves, {verdict.pending} not yet sequenced",
        )
        return
    emit(data, as_json, "dossier BROKEN:\n" + "\n".join(f"  {p}" for p in verdict.problems))
    raise typer.Exit(1)


__all__ = ["dossier_app", "mount"]
