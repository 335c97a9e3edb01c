"""``trustdesk notice | case | appeal | flagger``: due process for content from the command line.

The same use cases as the console and the API: the queue, claims, decisions (four eyes on terminations),
appeals decided by another person, trusted flaggers. After a decision takes effect, its connector steps
run at once (in a unit of work of their own, after the decision committed); those that fail are retried
by ``trustdesk serve``'s background loop.
"""

from datetime import timedelta
from typing import Annotated, Any

import typer
from sqlalchemy import select
from sqlalchemy.orm import Session

from trustdesk.app import Container
from trustdesk.audit.vocabulary import Actor
from trustdesk.cliutil import JsonFlag, container, emit, handles_errors
from trustdesk.config import public_url
from trustdesk.db import unit_of_work
from trustdesk.safety import appeals, cases, enforcement, flaggers
from trustdesk.safety.models import Case, CaseAction, ModerationDecision, Notice
from trustdesk.safety.restrictions import DecisionGround, Restriction
from trustdesk.safety.vocabulary import DsaCategory, DsaKeyword
from trustdesk.staff import service as staff

notice_app = typer.Typer(help="Notices of illegal content (DSA Art. 16).", no_args_is_help=True)
case_app = typer.Typer(help="The review queue: claim and decide cases.", no_args_is_help=True)
appeal_app = typer.Typer(help="Appeals against moderation decisions (DSA Art. 20).", no_args_is_help=True)
flagger_app = typer.Typer(help="Trusted flaggers (DSA Art. 22).", no_args_is_help=True)
AsUser = Annotated[str, typer.Option("--as", help="E-mail of the moderator acting.")]


def mount(app: typer.Typer) -> None:
    app.add_typer(notice_app, name="notice")
    app.add_typer(case_app, name="case")
    app.add_typer(appeal_app, name="appeal")
    app.add_typer(flagger_app, name="flagger")


def decision_rules(c: Container) -> cases.DecisionRules:
    """The deployment's rules for decisions: where the appeal pages are."""
    return cases.DecisionRules(public_url=public_url(c.settings))


def enforcement_job(c: Container) -> Any:
    """One round of the connector steps that are due (decisions, reversals, retries)."""

    def run() -> list[str]:
        with unit_of_work(c.sessions) as session:
            return [
                f"{a.kind} {a.target}: {a.status}" for a in enforcement.run_due(session, c.clock, c.connector)
            ]

    return run


def _case_dict(case: Case, now: Any) -> dict[str, Any]:
    return {
        "id": case.id,
        "status": case.status.value,
        "source": case.source.value,
        "priority": case.priority,
        "category": case.category.value if case.category else None,
        "keyword": case.keyword.value if case.keyword else None,
        "locator": case.locator,
        "account_id": case.account_id,
        "opened_at": case.opened_at.isoformat(),
        "target_at": case.target_at.isoformat() if case.target_at else None,
        "overdue": bool(case.target_at and case.target_at < now),
        "claimed_by": case.claimed_by if case.claim_expires_at and case.claim_expires_at > now else None,
    }


@notice_app.command("list")
@handles_errors
def notice_list(limit: Annotated[int, typer.Option(min=1, max=1000)] = 50, as_json: JsonFlag = False) -> None:
    """The latest notices: reference, case, category, source, outcome (no notifier contact data)."""
    c = container()
    try:
        with c.sessions() as session:
            rows = list(session.scalars(select(Notice).order_by(Notice.received_at.desc()).limit(limit)))
            data = [
                {
                    "reference": n.reference,
                    "case_id": n.case_id,
                    "category": n.category.value,
                    "trusted_flagger": n.trusted_flagger_id is not None,
                    "received_at": n.received_at.isoformat(),
                    "outcome": n.outcome,
                }
                for n in rows
            ]
    finally:
        c.engine.dispose()
    text = "\n".join(
        f"{d['reference']}  {d['category']}  {'trusted flagger' if d['trusted_flagger'] else 'user'}  "
        f"{d['outcome'] or 'open'}  case {d['case_id']}"
        for d in data
    )
    emit(data, as_json, text or "no notices")


@case_app.command("list")
@handles_errors
def case_list(limit: Annotated[int, typer.Option(min=1, max=1000)] = 50, as_json: JsonFlag = False) -> None:
    """The queue, most urgent first (target time, then priority)."""
    c = container()
    try:
        with c.sessions() as session:
            now = c.clock()
            data = [_case_dict(case, now) for case in cases.queue(session, limit=limit)]
    finally:
        c.engine.dispose()
    text = "\n".join(
        f"{d['id']}  {d['status']}  {d['source']}  p{d['priority']}  {d['keyword'] or d['category'] or '-'}  "
        f"due {d['target_at']}{'  OVERDUE' if d['overdue'] else ''}"
        for d in data
    )
    emit(data, as_json, text or "the queue is empty")


@case_app.command("show")
@handles_errors
def case_show(case_id: Annotated[str, typer.Argument()], as_json: JsonFlag = False) -> None:
    """A case: its signals, notices, decisions and their enforcement steps."""
    c = container()
    try:
        with c.sessions() as session:
            case = cases.get_case(session, case_id)
            data = _case_dict(case, c.clock()) | {
                "text": case.text,
                "signals": [f"{s.detector}:{s.source} {s.matched}" for s in case.signals],
                "notices": [
                    {"reference": n.reference, "reason": n.reason, "outcome": n.outcome}
                    for n in session.scalars(select(Notice).where(Notice.case_id == case.id))
                ],
                "decisions": _decisions(session, case),
            }
    finally:
        c.engine.dispose()
    lines = [f"{k:<12} {v}" for k, v in data.items() if k not in {"notices", "decisions", "signals"}]
    lines += [f"signal       {s}" for s in data["signals"]]
    lines += [
        f"notice       {n['reference']} {n['outcome'] or 'open'}: {n['reason']}" for n in data["notices"]
    ]
    lines += [
        f"decision     {d['restrictions'] or 'no action'} by {d['decided_by']}: {d['steps']}"
        for d in data["decisions"]
    ]
    emit(data, as_json, "\n".join(lines))


def _decisions(session: Session, case: Case) -> list[dict[str, Any]]:
    out = []
    for decision in session.scalars(
        select(ModerationDecision)
        .where(ModerationDecision.case_id == case.id)
        .order_by(ModerationDecision.decided_at)
    ):
        steps = session.scalars(select(CaseAction).where(CaseAction.decision_id == decision.id))
        out.append(
            {
                "id": decision.id,
                "restrictions": decision.restrictions,
                "decided_by": decision.decided_by,
                "approved_by": decision.approved_by,
                "reversed_at": decision.reversed_at.isoformat() if decision.reversed_at else None,
                "steps": {s.kind: s.status for s in steps},
            }
        )
    return out


def _then_enforce(c: Container) -> None:
    for line in enforcement_job(c)():
        typer.echo(line)


@case_app.command("claim")
@handles_errors
def case_claim(
    case_id: Annotated[str, typer.Argument()],
    as_user: AsUser,
    release: Annotated[bool, typer.Option("--release", help="Give the case back instead.")] = False,
) -> None:
    """Claim a case for yourself (30 minutes, renewed by claiming again), or release it."""
    c = container()
    try:
        with unit_of_work(c.sessions) as session:
            user = staff.acting_user(session, as_user)
            if release:
                cases.release(session, c.clock, user, case_id)
            else:
                cases.claim(session, c.clock, user, case_id)
        typer.echo(f"{case_id}: {'released' if release else 'claimed'}")
    finally:
        c.engine.dispose()


@case_app.command("decide")
@handles_errors
def case_decide(
    case_id: Annotated[str, typer.Argument()],
    as_user: AsUser,
    explanation: Annotated[str, typer.Option(help="The facts and reasons: they go into the statement.")],
    restriction: Annotated[
        list[Restriction] | None, typer.Option(help="Repeat for several; none: no action.")
    ] = None,
    ground: Annotated[DecisionGround | None, typer.Option()] = None,
    legal_ground: Annotated[str | None, typer.Option(help="The law the content breaks.")] = None,
    tos_ground: Annotated[str | None, typer.Option(help="The clause of the terms it breaks.")] = None,
    category: Annotated[DsaCategory | None, typer.Option()] = None,
    keyword: Annotated[DsaKeyword | None, typer.Option()] = None,
    scope: Annotated[list[str] | None, typer.Option(help="ISO country codes of a geo-restriction.")] = None,
    suspend_days: Annotated[int | None, typer.Option(min=1, max=3650)] = None,
    unfounded: Annotated[
        bool, typer.Option(help="No action: the notices were manifestly unfounded.")
    ] = False,
    threat_to_life: Annotated[
        bool, typer.Option(help="A threat to life or safety: the authorities are notified (DSA Art. 18).")
    ] = False,
    threat_country: Annotated[str | None, typer.Option(help="The Member State concerned, if known.")] = None,
    approve: Annotated[
        bool, typer.Option("--approve", help="Approve another moderator's termination.")
    ] = False,
) -> None:
    """Decide a claimed case (or, with --approve, approve a termination); then enforce it."""
    c = container()
    try:
        with unit_of_work(c.sessions) as session:
            user = staff.acting_user(session, as_user)
            if approve:
                cases.approve(session, c.clock, user, case_id, rules=decision_rules(c))
            else:
                body = cases.DecisionIn(
                    restrictions=frozenset(restriction or ()),
                    explanation=explanation,
                    ground=ground,
                    legal_ground=legal_ground,
                    tos_ground=tos_ground,
                    category=category,
                    keyword=keyword,
                    territorial_scope=tuple(s.upper() for s in scope) if scope else None,
                    suspend_for=timedelta(days=suspend_days) if suspend_days else None,
                    unfounded=unfounded,
                    threat_to_life=threat_to_life,
                    threat_country=threat_country,
                )
                cases.decide(session, c.clock, user, case_id, body, rules=decision_rules(c))
            status = cases.get_case(session, case_id).status.value
        typer.echo(f"{case_id}: {status}")
        _then_enforce(c)
    finally:
        c.engine.dispose()


@appeal_app.command("list")
@handles_errors
def appeal_list(as_json: JsonFlag = False) -> None:
    """Open appeals, oldest first."""
    c = container()
    try:
        with c.sessions() as session:
            data = [
                {
                    "id": a.id,
                    "reference": a.reference,
                    "appellant": a.appellant,
                    "decision_id": a.decision_id,
                    "filed_at": a.filed_at.isoformat(),
                    "body": a.body,
                }
                for a in appeals.open_appeals(session)
            ]
    finally:
        c.engine.dispose()
    text = "\n".join(
        f"{d['id']}  {d['reference']}  {d['appellant']}  {d['filed_at']}: {d['body']}" for d in data
    )
    emit(data, as_json, text or "no open appeals")


@appeal_app.command("decide")
@handles_errors
def appeal_decide(
    appeal_id: Annotated[str, typer.Argument()],
    as_user: AsUser,
    answer: Annotated[str, typer.Option(help="The reasons told to the appellant.")],
    grant: Annotated[bool, typer.Option("--grant/--dismiss", help="Grant reverses the decision.")],
) -> None:
    """Grant or dismiss an appeal (not by the person who decided); a grant restores what was removed."""
    c = container()
    try:
        with unit_of_work(c.sessions) as session:
            user = staff.acting_user(session, as_user)
            appeal = appeals.decide_appeal(session, c.clock, user, appeal_id, grant=grant, answer=answer)
            typer.echo(appeals.told_text(appeal))
        _then_enforce(c)
    finally:
        c.engine.dispose()


@flagger_app.command("add")
@handles_errors
def flagger_add(
    name: Annotated[str, typer.Option()],
    country: Annotated[str, typer.Option(help="The awarding Digital Services Coordinator's Member State.")],
    email: Annotated[str, typer.Option(help="Where the platform writes to it.")],
    expertise: Annotated[list[DsaCategory], typer.Option(help="Repeat for each area.")],
    as_json: JsonFlag = False,
) -> None:
    """Register a trusted flagger; its API key is shown once."""
    c = container()
    try:
        with unit_of_work(c.sessions) as session:
            flagger, key = flaggers.register(
                session, c.clock, Actor.operator(), name=name, country=country, contact_email=email,
                expertise=list(expertise),
            )  # fmt: skip
            emit({"id": flagger.id, "name": flagger.name, "api_key": key}, as_json, f"{flagger.id}  {key}")
    finally:
        c.engine.dispose()


@flagger_app.command("list")
@handles_errors
def flagger_list(as_json: JsonFlag = False) -> None:
    c = container()
    try:
        with c.sessions() as session:
            data = [
                {
                    "id": f.id,
                    "name": f.name,
                    "country": f.country,
                    "expertise": f.expertise,
                    "revoked": f.revoked_at is not None,
                }
                for f in flaggers.list_flaggers(session)
            ]
    finally:
        c.engine.dispose()
    text = "\n".join(
        f"{d['id']}  {d['name']} ({d['country']}){'  revoked' if d['revoked'] else ''}" for d in data
    )
    emit(data, as_json, text or "no trusted flaggers")


@flagger_app.command("revoke")
@handles_errors
def flagger_revoke(flagger_id: Annotated[str, typer.Argument()]) -> None:
    c = container()
    try:
        with unit_of_work(c.sessions) as session:
            flaggers.revoke(session, c.clock, Actor.operator(), flagger_id)
        typer.echo(f"{flagger_id}: revoked")
    finally:
        c.engine.dispose()
