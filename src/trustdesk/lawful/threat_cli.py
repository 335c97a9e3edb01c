"""``trustdesk threat list | sent``: the DSA Art. 18 notifications the legal team must send at once."""

from typing import Annotated

import typer

from trustdesk.audit.vocabulary import Actor
from trustdesk.cliutil import JsonFlag, emit, handles_errors, work
from trustdesk.lawful import threats

threat_app = typer.Typer(help="Threats to life or safety to notify (DSA Art. 18).", no_args_is_help=True)


@threat_app.command("list")
@handles_errors
def threat_list(
    unsent: Annotated[bool, typer.Option("--unsent", help="Only those not sent yet.")] = False,
    as_json: JsonFlag = False,
) -> None:
    """Threat notifications, newest first, with their recipients and whether they went."""
    with work() as (_, session):
        listed = threats.threats(session, unsent_only=unsent)
        data = [
            {
                "reference": t.reference,
                "recipients": t.recipients,
                "country": t.country,
                "locator": t.locator,
                "facts": t.facts,
                "created_at": t.created_at.isoformat(),
                "sent_at": t.sent_at.isoformat() if t.sent_at else None,
                "channel": t.channel,
            }
            for t in listed
        ]
    text = "\n".join(
        f"{t.reference}  to {', '.join(t.recipients)}  "
        f"{f'sent {t.sent_at.isoformat()} by {t.channel}' if t.sent_at else 'NOT SENT'}: {t.facts}"
        for t in listed
    )
    emit(data, as_json, text or "no threat notifications")


@threat_app.command("sent")
@handles_errors
def threat_sent(
    reference: Annotated[str, typer.Argument()],
    channel: Annotated[str, typer.Option(help="How it went: phone, e-mail, the authority's portal...")],
) -> None:
    """Record that a notification was sent."""
    with work() as (c, session):
        threats.mark_sent(session, c.clock, Actor.operator(), reference, channel)
    typer.echo(f"{reference}: sent")
