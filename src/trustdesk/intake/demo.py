"""What `trustdesk demo` (and so `make run`) puts in the mailroom, so that the triage queue shows each case
from the first minute: an EPOC e-mailed as a signed PDF by the French demo magistrate (DKIM-signed by
justice.fr, attributed, acknowledged with its tracking number), a forged "emergency" from a look-alike
domain (flagged, never answered, the person on call paged), and a letter from the BKA scanned by the
mailroom. The DNS the checks need is the demo's own (``StaticDns``, a key generated here): nothing leaves
the machine. A reviewer is put on call for the week so the page has someone to reach.

And the FR agency's responsiveness dossier of the last 30 days, written to ``var/demo-dossier/``.
"""

import base64
import io
from dataclasses import dataclass
from datetime import timedelta
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path

import dkim  # type: ignore[import-untyped]
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from pypdf import PdfWriter
from sqlalchemy import func, select

from trustdesk.app import Container
from trustdesk.audit.vocabulary import Actor
from trustdesk.authorities.models import AgencyDomain
from trustdesk.db import unit_of_work
from trustdesk.dossier import bundle
from trustdesk.dossier import service as dossier
from trustdesk.dossier.document import Period
from trustdesk.intake import mailroom, store
from trustdesk.intake.authenticity import StaticDns
from trustdesk.intake.models import InboundMessage
from trustdesk.oncall import rota
from trustdesk.staff import service as staff

__all__ = ["MailDemo", "dkim_key_pair", "load"]

SELECTOR = "demo2026"
MTA = "192.0.2.25"
REVIEWER = "reviewer@platform.example"


@dataclass(frozen=True)
class MailDemo:
    messages: int
    dossier: str | None
    """The folder of the FR agency's dossier (None: no FR demo agency)."""

    def as_dict(self) -> dict[str, object]:
        return {"mailroom_messages": self.messages, "dossier": self.dossier}

    def describe(self) -> str:
        where = f"; the FR agency's dossier in {self.dossier}" if self.dossier else ""
        return f"Mailroom: {self.messages} message(s) in triage at /console/mailroom{where}"


def _pdf(title: str) -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    writer.add_metadata({"/Title": title})
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def dkim_key_pair() -> tuple[bytes, str]:
    """A new RSA-2048 DKIM key: (the PEM private key, the p= value of its DNS record). The tests' too."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return private, base64.b64encode(public).decode()


def _signed(message: EmailMessage, domain: str, private: bytes) -> bytes:
    raw = message.as_bytes(policy=message.policy.clone(linesep="\r\n"))
    header = dkim.sign(
        raw, SELECTOR.encode(), domain.encode(), private, include_headers=[b"from", b"to", b"subject"]
    )
    return bytes(header) + raw


def _mail(
    c: Container, sender: str, to: str, subject: str, body: str, pdf: tuple[str, bytes]
) -> EmailMessage:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = sender, to, subject
    message["Date"] = format_datetime(c.clock())
    message["Message-ID"] = make_msgid(domain=sender.rsplit("@", 1)[1])
    message.set_content(body)
    message.add_attachment(pdf[1], maintype="application", subtype="pdf", filename=pdf[0])
    return message


def load(c: Container) -> MailDemo:
    """Fill the mailroom once (nothing when it holds messages already) and write the FR dossier."""
    with unit_of_work(c.sessions) as session:
        count = session.scalar(select(func.count()).where(InboundMessage.status == store.TRIAGE)) or 0
        loaded = (session.scalar(select(func.count()).select_from(InboundMessage)) or 0) > 0
        if not loaded and session.get(AgencyDomain, "justice.fr") is None:
            return MailDemo(0, None)
        reviewer = staff.find_user(session, REVIEWER)
        if not loaded and reviewer is not None and not rota.on_call(session, c.clock()):
            now = c.clock()
            rota.add_shift(
                session, c.clock, None, user=reviewer, starts_at=now, ends_at=now + timedelta(days=7)
            )
    if loaded:
        return MailDemo(count, _dossier(c))
    desk = c.channels.intake_addresses[0] if c.channels.intake_addresses else "lawful@trustdesk.example"
    real_key, real_public = dkim_key_pair()
    forger_key, forger_public = dkim_key_pair()
    dns = StaticDns({
        (f"{SELECTOR}._domainkey.justice.fr", "TXT"): [f"v=DKIM1; k=rsa; p={real_public}"],
        ("justice.fr", "TXT"): [f"v=spf1 ip4:{MTA} -all"],
        ("_dmarc.justice.fr", "TXT"): ["v=DMARC1; p=reject"],
        (f"{SELECTOR}._domainkey.justice-fr.com", "TXT"): [f"v=DKIM1; k=rsa; p={forger_public}"],
    })  # fmt: skip
    epoc = _mail(
        c, "Claire Martin <claire.martin@justice.fr>", desk,
        "Réquisition — injonction européenne de production",
        "Madame, Monsieur,\n\nRéf. PJ-2026-0311. Veuillez trouver ci-joint une injonction européenne de "
        "production (European Production Order, Regulation (EU) 2023/1543) relative au compte "
        "+33612345678 : données relatives aux abonnés.\n\nClaire Martin, juge d'instruction",
        ("injonction-PJ-2026-0311.pdf", _pdf("Injonction européenne de production PJ-2026-0311")),
    )  # fmt: skip
    forged = _mail(
        c, "Claire Martin <claire.martin@justice-fr.com>", desk, "URGENT — danger de mort",
        "URGENT. Threat to life: send us at once the messages and IP addresses of @target_account and "
        "+33698765432. Réf. PJ-2026-0999.",
        ("ordonnance.pdf", _pdf("Ordonnance")),
    )  # fmt: skip
    arrivals = c.arrivals
    for raw, domain in ((_signed(epoc, "justice.fr", real_key), "justice.fr"),
                        (_signed(forged, "justice-fr.com", forger_key), "justice-fr.com")):  # fmt: skip
        arrivals.take(
            c.sessions, c.clock, raw, envelope_from=f"bounces@{domain}", recipient=desk,
            envelope=store.Envelope(client_ip=MTA, helo=f"mx.{domain}"), dns=dns,
        )  # fmt: skip
    with unit_of_work(c.sessions) as session:
        clerk = staff.find_user(session, REVIEWER)
        if clerk is not None and session.get(AgencyDomain, "bka.bund.de") is not None:
            mailroom.upload_letter(
                session, c.clock, clerk, _pdf("Ersuchen um Sicherung von Daten — BKA"), "bka-ersuchen.pdf",
                postmark=(c.clock() - timedelta(days=1)).date(),
                sender_name="Bundeskriminalamt, Abteilung SO",
                sender_address="Thaerstraße 11, 65193 Wiesbaden",
                note="Received by post at the legal representative",
                titles=store.catalogue_titles(c.catalogue),
            )  # fmt: skip
        count = session.scalar(select(func.count()).where(InboundMessage.status == store.TRIAGE)) or 0
    return MailDemo(count, _dossier(c))


def _dossier(c: Container, out: Path = Path("var/demo-dossier")) -> str | None:
    """The FR demo agency's signed dossier of the last 30 days, as `trustdesk dossier build` writes it."""
    with unit_of_work(c.sessions) as session:
        domain = session.get(AgencyDomain, "justice.fr")
        if domain is None:
            return None
        today = c.clock().date()
        built = dossier.build(
            session, c.clock, c.signer, dossier.scope_of_agency(session, domain.agency_id),
            Period(today - timedelta(days=30), today), provider=c.settings.platform_name,
        )  # fmt: skip
        dossier.record_issue(session, c.clock, Actor.operator(), built)
    html, html_signature = bundle.rendered(built, c.signer)
    bundle.write_bundle(out, built, html, html_signature)
    return str(out)
