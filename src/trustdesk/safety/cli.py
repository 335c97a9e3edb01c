"""``trustdesk bank | scan | match | rules | platform-token``: content safety from the command line."""

from pathlib import Path
from typing import Annotated, Any

import typer

from trustdesk.audit.vocabulary import Actor
from trustdesk.cliutil import JsonFlag, container, emit, fail, handles_errors, work
from trustdesk.safety import banks as bank_service
from trustdesk.safety import moderation_cli, ncmec_cli, tokens
from trustdesk.safety.importers import ImportFormat
from trustdesk.safety.vocabulary import BankAction, ChatType, DsaCategory, DsaKeyword, HashType

bank_app = typer.Typer(help="Hash banks: lists of known harmful content.", no_args_is_help=True)
rules_app = typer.Typer(help="Text rules.", no_args_is_help=True)
token_app = typer.Typer(help="Service tokens with which the platform calls Trustdesk.", no_args_is_help=True)
top_app = typer.Typer()


def mount(app: typer.Typer) -> None:
    """Attach the safety commands to the root command."""
    app.add_typer(bank_app, name="bank")
    app.add_typer(rules_app, name="rules")
    app.add_typer(token_app, name="platform-token")
    app.registered_commands.extend(top_app.registered_commands)
    moderation_cli.mount(app)  # due process: notices, cases, appeals, flaggers
    ncmec_cli.mount(app)  # CyberTipline reports


def _bank_dict(bank: Any, counts: dict[str, int]) -> dict[str, Any]:
    return {
        "name": bank.name,
        "category": bank.category.value,
        "keyword": bank.keyword.value if bank.keyword else None,
        "action": bank.action.value,
        "pdq_threshold": bank.pdq_threshold,
        "description": bank.description,
        "entries": {kind.value: counts.get(kind.value, 0) for kind in HashType},
        "removed": counts.get("removed", 0),
        "created_at": bank.created_at.isoformat(),
    }


def _changed() -> None:
    """Tell every matcher the banks changed (after the commit)."""
    c = container()
    try:
        c.banks_changed()
    finally:
        c.engine.dispose()


@bank_app.command("create")
@handles_errors
def bank_create(
    name: Annotated[str, typer.Argument(help="Lower-case letters, digits, '.', '_', '-'.")],
    category: Annotated[DsaCategory, typer.Option(help="The DSA category a match means.")],
    action: Annotated[BankAction, typer.Option(help="What a match does.")],
    keyword: Annotated[
        DsaKeyword | None, typer.Option(help="The DSA keyword (category specification).")
    ] = None,
    threshold: Annotated[
        int, typer.Option(min=0, max=bank_service.MAX_PDQ_THRESHOLD, help="PDQ match distance in bits.")
    ] = bank_service.DEFAULT_PDQ_THRESHOLD,
    description: Annotated[str | None, typer.Option(help="What the list is, for the reviewers.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Create a bank."""
    with work() as (c, session):
        bank = bank_service.create_bank(
            session, c.clock, Actor.operator(), name=name, category=category, action=action,
            keyword=keyword, pdq_threshold=threshold, description=description,
        )  # fmt: skip
        data = _bank_dict(bank, {})
    emit(data, as_json, f"bank {name}: {category.value}, {action.value}, PDQ threshold {threshold}")


@bank_app.command("import")
@handles_errors
def bank_import(
    name: Annotated[str, typer.Argument(help="The bank.")],
    file: Annotated[Path, typer.Argument(help="A hash list: CSV or TSV with a 'hash' column, or pytx.")],
    fmt: Annotated[ImportFormat | None, typer.Option("--format", help="Default: from the file.")] = None,
    skip_bad: Annotated[
        bool, typer.Option("--skip-bad", help="Import the good rows and report the bad ones.")
    ] = False,
    hash_type: Annotated[
        HashType, typer.Option(help="What 64-hex values are when the file has no 'type' column.")
    ] = HashType.PDQ,
    source: Annotated[str | None, typer.Option(help="The list's name (default: the file name).")] = None,
    source_date: Annotated[str | None, typer.Option("--date", help="The list's date, YYYY-MM-DD.")] = None,
    contributor: Annotated[str | None, typer.Option(help="Who contributed the list.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Import a hash list: streaming, idempotent, and all-or-nothing unless --skip-bad."""
    from trustdesk.safety.progress import import_progress

    if not file.is_file():
        raise fail(f"no such file: {file}")
    phases = ["checking", "importing"]
    with (
        import_progress(file, phases, transient=True, disable=as_json) as (check, store),
        work() as (c, session),
    ):
        bank = bank_service.get_bank(session, name)
        report = bank_service.import_file(
            session, c.clock, Actor.operator(), bank, file, fmt=fmt, default_type=hash_type,
            skip_bad=skip_bad, source=source, source_date=source_date, contributor=contributor,
            on_check=check, on_store=store,
        )  # fmt: skip
    _changed()
    data = {
        "bank": name,
        "file": report.filename,
        "sha256": report.sha256,
        "read": report.rows_read,
        "added": report.rows_added,
        "present": report.rows_present,
        "withdrawn": report.rows_withdrawn,
        "bad": [{"line": e.line, "error": e.message} for e in report.errors],
    }
    lines = [
        (
            f"{name}: {report.rows_added} added, {report.rows_present} already present, "
            f"{report.rows_withdrawn} withdrawn before (not restored), {report.rows_bad} bad"
        )
    ]
    lines += [f"  {e}" for e in report.errors] + [f"  warning: {w}" for w in report.warnings]
    emit(data, as_json, "\n".join(lines))


@bank_app.command("list")
@handles_errors
def bank_list(as_json: JsonFlag = False) -> None:
    """Every bank with its entry counts."""
    with work() as (_, session):
        counts = bank_service.entry_counts(session)
        rows = [_bank_dict(b, counts.get(b.id, {})) for b in bank_service.list_banks(session)]
    text = "\n".join(
        f"{r['name']:<24} {r['action']:<12} {r['category']:<48} "
        + " ".join(f"{k}={v}" for k, v in r["entries"].items())
        for r in rows
    )
    emit(rows, as_json, text or "no banks")


@bank_app.command("show")
@handles_errors
def bank_show(name: Annotated[str, typer.Argument()], as_json: JsonFlag = False) -> None:
    """One bank: its settings, counts and imports."""
    from sqlalchemy import select

    from trustdesk.safety.models import BankImport

    with work() as (_, session):
        bank = bank_service.get_bank(session, name)
        data = _bank_dict(bank, bank_service.entry_counts(session).get(bank.id, {}))
        data["imports"] = [
            {
                "file": i.filename, "sha256": i.sha256, "source": i.source, "at": i.imported_at.isoformat(),
                "read": i.rows_read, "added": i.rows_added, "present": i.rows_present, "bad": i.rows_bad,
            }
            for i in session.scalars(
                select(BankImport).where(BankImport.bank_id == bank.id).order_by(BankImport.imported_at)
            )
        ]  # fmt: skip
    text = "\n".join(
        [
            f"{data['name']}: {data['category']} {data['keyword'] or ''}".rstrip(),
            f"  action {data['action']}, PDQ threshold {data['pdq_threshold']}",
            "  entries "
            + ", ".join(f"{k} {v}" for k, v in data["entries"].items())
            + f", removed {data['removed']}",
            *(
                f"  import {i['at']} {i['file']}: +{i['added']} ({i['present']} present)"
                for i in data["imports"]
            ),
        ]
    )
    emit(data, as_json, text)


@bank_app.command("remove")
@handles_errors
def bank_remove(
    name: Annotated[str, typer.Argument(help="The bank.")],
    value: Annotated[str, typer.Argument(metavar="HASH", help="The hash to withdraw.")],
    hash_type: Annotated[HashType | None, typer.Option("--type", help="When the value is ambiguous.")] = None,
    reason: Annotated[str | None, typer.Option(help="Why it is withdrawn.")] = None,
) -> None:
    """Withdraw one hash from a bank: it stops matching at once."""
    with work() as (c, session):
        bank = bank_service.get_bank(session, name)
        entry = bank_service.remove_entry(
            session, c.clock, Actor.operator(), bank, value, hash_type=hash_type, reason=reason
        )
        kind = entry.hash_type.value
    _changed()
    typer.echo(f"{name}: {kind} {value.lower()} withdrawn")


@bank_app.command("index")
@handles_errors
def bank_index() -> None:
    """Rebuild the memory-mapped PDQ index from the banks (workers open the new one when they restart)."""
    c = container()
    try:
        with c.sessions() as session:
            size = c.matcher.matcher.rebuild(session)
        typer.echo(f"PDQ index rebuilt in {c.settings.index_dir}: {size} hashes")
    finally:
        c.engine.dispose()


@top_app.command("match")
@handles_errors
def match(
    pdq: Annotated[list[str] | None, typer.Option("--pdq", help="A PDQ hash (64 hex); repeatable.")] = None,
    file: Annotated[Path | None, typer.Option("--file", help="A file of PDQ hashes, one a line.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Match PDQ hashes against every bank; prints each query's matches in input order."""
    from trustdesk.safety.index import hex_to_words

    queries = [q.strip().lower() for q in pdq or []]
    if file is not None:
        if not file.is_file():
            raise fail(f"no such file: {file}")
        queries += [line.strip().lower() for line in file.read_text().splitlines() if line.strip()]
    if not queries:
        raise fail("give --pdq HEX or --file FILE")
    for number, query in enumerate(queries, 1):
        try:
            hex_to_words([query])
        except ValueError:
            raise fail(f"query {number}: {query!r} is not a 64-hex PDQ hash") from None
    c = container()
    try:
        found = c.matcher.get().match_pdq(queries)
    finally:
        c.engine.dispose()
    data: list[dict[str, Any]] = [
        {
            "query": q,
            "matches": [{k: m.as_dict()[k] for k in ("bank", "hash", "distance", "action")} for m in ms],
        }
        for q, ms in zip(queries, found, strict=True)
    ]
    lines = []
    for row in data:
        lines.append(f"{row['query']}: {len(row['matches'])} match(es)")
        lines += [
            f"  {m['bank']} {m['hash']} distance {m['distance']} -> {m['action']}" for m in row["matches"]
        ]
    emit(data, as_json, "\n".join(lines))


@top_app.command("scan")
@handles_errors
def scan(
    files: Annotated[list[Path], typer.Argument(help="Images, videos or text files.")],
    chat_type: Annotated[
        ChatType, typer.Option(help="Text is judged as posted in such a chat.")
    ] = ChatType.PUBLIC,
    audience: Annotated[int, typer.Option(min=0, help="... seen by this many people.")] = 0,
    as_json: JsonFlag = False,
) -> None:
    """Hash an image or video, or run the text rules on a text file; print every match and its action."""
    from trustdesk.safety.filescan import scan_file

    c = container()
    try:
        reports = [scan_file(c, path, chat_type=chat_type, audience=audience) for path in files]
    finally:
        c.engine.dispose()
    lines = []
    for report in reports:
        lines.append(f"{report['file']} ({report['kind']}): {len(report['matches'])} match(es)")
        lines += [
            f"  {m['detector']} {m['source']} {m.get('type', '')} {m['matched']} "
            f"{'distance ' + str(m['distance']) if m.get('distance') is not None else ''} -> {m['action']}"
            for m in report["matches"]
        ]
    emit(reports, as_json, "\n".join(lines))


@rules_app.command("test")
def rules_test(
    paths: Annotated[
        list[Path] | None, typer.Argument(help="Rule files or folders (default: the starter set).")
    ] = None,
) -> None:
    """Load the rules and run every expected-match and expected-no-match example; exit 1 on a failure."""
    from trustdesk.safety.rules import rules_test as run_examples

    report = run_examples(paths or None)
    typer.echo(report.text, err=report.exit_status != 0)
    raise typer.Exit(report.exit_status)


@token_app.command("create")
@handles_errors
def token_create(name: Annotated[str, typer.Argument(help="The platform service, e.g. synapse.")]) -> None:
    """Issue a platform service token (shown once)."""
    with work() as (c, session):
        token = tokens.issue(session, c.clock, Actor.operator(), name)
    typer.echo(f"platform token {name}: {token}  (shown once)")


@token_app.command("revoke")
@handles_errors
def token_revoke(name: Annotated[str, typer.Argument()]) -> None:
    """Revoke a platform service token (refused everywhere within seconds)."""
    with work() as (c, session):
        tokens.revoke(session, c.clock, Actor.operator(), name)
    typer.echo(f"platform token {name} revoked")
